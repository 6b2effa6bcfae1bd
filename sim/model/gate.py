"""The gate: a Zuul-style dependent pipeline with a speculative window and resets.

Approved changes queue in order. The first ``window`` items are tested in parallel, each on top
of the items ahead of it. A run's outcome is drawn once when it starts (pass with probability
P(no false job failure) x P(no latent defect caught)); its end is one SimPy event. When a run
fails, every item behind the failing one was tested on a tree that contained it and restarts
(a gate reset); the failing item is ejected once it reaches the head, so only the changes ahead
decide whether it merges (facts §2.1, Zuul's nearest-non-failing-item rule). Items merge in
order from the head. The window grows by ``window_increase`` per merge and is divided by
``window_decrease_factor`` per ejection, never below ``window_floor``.

Other projects' changes that share the integrated queue arrive as a Poisson stream of
background items; they take part in resets like any other item.

Run ends on the engine. A reset cancels the runs behind the failing item; scheduling every run end
on the engine's heap would leave each cancelled one there to be popped for nothing (44 % of a
calibrated replication's engine events). Instead each running item keeps its run's end (time in days,
and the engine event id taken when the run started), and the gate keeps *armed* on the engine only
the earliest run end among its running items (plus any armed earlier that is still valid): every
engine event is then a real completion. The running items are the started ones ahead of
``first_waiting``, a few dozen at most, so finding the earliest is a scan of the window, not a heap of
every run ever started with the cancelled ones left in it. The armed event keeps the id its run took
when it started, and the earliest run end is on the engine whenever the engine picks its next event,
so the engine processes the remaining events in exactly the order it did before.
An armed run end is never cancelled: a reset cancels only runs behind the failing item, which
started no earlier than the failing run, and an armed run ended before every run under way when it
was armed, the failing one included. ``stale_run_ends`` counts any that would be (0 by that argument
with an unbounded node pool).

Test nodes. With a finite pool (``ci.nodes``, :mod:`sim.model.nodes`) a run first asks for one node
per job and its run end is pending only once its last job has started; a reset withdraws the
cancelled runs' requests and frees their nodes. A run then starts as its nodes free up, not in
queue order, so an armed run end may be cancelled after all: ``_finish`` drops it (``stale_run_ends``).
Until its last node is held, a running item's run end is unknown (``NOT_YET``) and it is not a candidate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from sim.engine.clock import Clock
from sim.engine.rng import Stream
from sim.model.nodes import GATE, NodePool, NodeRun
from sim.model.records import GateLog, Outcome

if TYPE_CHECKING:
    from sim.model.change import Change

# Item states. Final: constants a compiler (mypyc, ``make fast``) may inline.
WAITING: Final = 0
RUNNING: Final = 1
PASSED: Final = 2
FAILING: Final = 3
HOURS_PER_DAY: Final = 24.0
# Outcome codes as plain ints in the hot path (the log stores ints; :class:`Outcome` names them).
PASS: Final = int(Outcome.PASS)
FALSE_FAILURE: Final = int(Outcome.FALSE_FAILURE)
TRUE_FAILURE: Final = int(Outcome.TRUE_FAILURE)
NOT_YET: Final = float("inf")  # the run end of a run still waiting for its test nodes


class GateItem:
    """One change (or background change) in the gate queue."""

    __slots__ = (
        "change", "area", "jobs_pass", "defect_pass", "jobs", "state", "generation", "started", "ended", "true_failure",
        "armed", "nodes", "node_jobs", "end", "end_id", "outcome",
    )

    def __init__(self, change: Change | None, area: int, jobs_pass: float, defect_pass: float, jobs: int,
                 node_jobs: int | None = None) -> None:
        """``node_jobs``: the jobs that run on test nodes (default all ``jobs``; third-party CI runs elsewhere)."""
        self.change = change  # None for a background change
        self.area = area  # -1 for a background change
        self.jobs_pass = jobs_pass
        self.defect_pass = defect_pass
        self.jobs = jobs
        self.state = WAITING
        self.generation = 0
        self.started = 0.0
        self.ended = 0.0  # end of the last completed run
        self.true_failure = False
        self.armed = 0  # the generation whose run end is on the engine's heap (0: none yet)
        self.nodes: NodeRun | None = None  # its current run's test nodes (finite pool only)
        self.node_jobs = jobs if node_jobs is None else node_jobs
        # The current run's end: time (days; NOT_YET while it waits for nodes), engine event id, outcome code.
        self.end = NOT_YET
        self.end_id = 0
        self.outcome = PASS


class Gate:
    """A dependent pipeline; ``on_merge(change)`` and ``on_reject(change, true_failure)`` report back."""

    def __init__(
        self,
        clock: Clock,
        name: str,
        *,
        run_time_days: float,
        run_time_cv: float,
        window: int,
        window_floor: int,
        window_increase: int,
        window_decrease_factor: float,
        stream: Stream,
        on_merge: Callable[[Change], None],
        on_reject: Callable[[Change, bool], None],
        nodes: NodePool | None = None,
    ) -> None:
        """``nodes``: the test-node pool runs wait for (None: unbounded, a run starts when asked)."""
        self.clock = clock
        self.nodes = nodes
        self.name = name
        self.run_time_days = run_time_days
        self.run_time_cv = run_time_cv
        self.window = window
        self.window_floor = window_floor
        self.window_increase = window_increase
        self.window_decrease_factor = window_decrease_factor
        self.stream = stream
        self.on_merge = on_merge
        self.on_reject = on_reject
        self.queue: list[GateItem] = []
        self.first_waiting = 0  # every item ahead of this index has started its run
        self.log = GateLog()
        self.stale_run_ends = 0  # engine events for cancelled runs (0: see the module docstring)
        self.runs_started = 0  # runs started, completed or cancelled by a reset
        self._run_end = self._finish  # bound once, not per scheduled run end

    # ------------------------------------------------------------------ entering

    def enqueue(self, item: GateItem) -> None:
        """Append an approved item at the tail of the queue."""
        self.queue.append(item)  # first_waiting <= its index: the window scan reaches it
        first = self.first_waiting
        self._fill_window()
        if self.first_waiting != first:  # a run started: it may end before the one armed
            self._arm_earliest()

    def start_background(self, rate_per_day: float, jobs_pass: float, defect_pass: float, jobs: int, stream: Stream) -> None:
        """Feed Poisson background changes of other projects into the shared queue."""
        if rate_per_day <= 0:
            return
        mean_gap = 1.0 / rate_per_day

        def arrive() -> None:
            self.enqueue(GateItem(None, -1, jobs_pass, defect_pass, jobs))
            self.clock.after(stream.exponential(mean_gap), arrive)

        self.clock.after(stream.exponential(mean_gap), arrive)

    # ------------------------------------------------------------------ runs

    def _fill_window(self) -> None:
        queue = self.queue
        limit = min(self.window, len(queue))
        first = self.first_waiting
        if first >= limit:  # the common case: every item in the window is already running
            return
        for i in range(first, limit):
            item = queue[i]
            if item.state == WAITING:
                self._start(item)
        self.first_waiting = limit

    def _start(self, item: GateItem) -> None:
        now = self.clock.now()
        item.state = RUNNING
        self.runs_started += 1
        generation = item.generation = item.generation + 1
        item.started = now
        stream = self.stream
        jobs_ok = stream.uniform() < item.jobs_pass
        defect_ok = stream.uniform() < item.defect_pass
        duration = self.run_time_days * stream.gamma_unit_mean(self.run_time_cv)
        item.true_failure = not defect_ok
        item.outcome = PASS if (jobs_ok and defect_ok) else (TRUE_FAILURE if not defect_ok else FALSE_FAILURE)
        if self.nodes is None:  # under way now; its event id, taken now, is its place among events due with it
            item.end = now + duration
            item.end_id = self.clock.reserve()
        else:
            item.end = NOT_YET
            item.nodes = self.nodes.run(item.node_jobs, duration, GATE, item.area,
                                        lambda: self._on_nodes(item, generation, duration))
        if item.change is not None:
            item.change.gate_attempts += 1

    def _on_nodes(self, item: GateItem, generation: int, duration: float) -> None:
        """Every job of the item's run holds a test node: the run is under way, ending in ``duration`` days."""
        if item.generation == generation:  # a run without jobs may report after a reset cancelled it
            now = self.clock.now()
            item.started = now
            item.end = now + duration
            item.end_id = self.clock.reserve()
        self._arm_earliest()

    def _arm_earliest(self) -> None:
        """Put the earliest run end among the running items on the engine's heap, if it is not there yet.

        Earliest by (end, event id): the engine's own order among events due at the same time."""
        queue = self.queue
        best: GateItem | None = None
        best_end = NOT_YET
        best_id = 0
        for i in range(self.first_waiting):  # every running item is ahead of first_waiting
            item = queue[i]
            if item.state != RUNNING:
                continue
            end = item.end
            if end < best_end or (end == best_end and best is not None and item.end_id < best_id):
                best, best_end, best_id = item, end, item.end_id
        if best is not None and best.armed != best.generation:
            best.armed = best.generation
            self.clock.at(best_end, best_id, self._run_end, best, best.generation)

    def _finish(self, item: GateItem, generation: int) -> None:
        if item.generation != generation or item.state != RUNNING:
            self.stale_run_ends += 1  # this run was cancelled by a reset after it was armed
            return
        now = self.clock.now()
        outcome = item.outcome
        item.ended = now
        self.log.add_run(now, item.area, outcome, item.jobs)
        if outcome == PASS:
            item.state = PASSED
            if self.queue[0] is not item:  # nothing leaves the queue, and the window is already filled
                self._arm_earliest()
                return
        else:
            item.state = FAILING
            self._reset_behind(item)
        self._advance()
        self._arm_earliest()

    def _reset_behind(self, failing: GateItem) -> None:
        """Restart every item tested on top of ``failing`` (all items behind it that started)."""
        now = self.clock.now()
        queue = self.queue
        position = queue.index(failing) + 1
        self.first_waiting = min(self.first_waiting, position)
        restarted = nova = 0
        wasted = 0.0
        for i in range(position, len(queue)):
            item = queue[i]
            state = item.state
            if state == WAITING:
                continue
            ran_until = now if state == RUNNING else item.ended  # finished runs idle while waiting
            nodes = item.nodes
            if nodes is None:
                wasted += (ran_until - item.started) * item.jobs * HOURS_PER_DAY
            else:  # only the jobs that got a node ran, each from its own start
                wasted += nodes.job_days(ran_until) * HOURS_PER_DAY
                nodes.cancel()
                item.nodes = None
            item.state = WAITING
            item.generation += 1  # its pending run end is now cancelled
            restarted += 1
            if item.change is not None:
                item.change.gate_resets += 1
                nova += 1
        if restarted:
            self.log.add_reset(now, failing.area, restarted, wasted, nova)

    def _advance(self) -> None:
        """Merge passed items and eject failing ones from the head, then refill the window."""
        now = self.clock.now()
        queue = self.queue
        log = self.log
        while queue:
            head = queue[0]
            state = head.state
            if state != PASSED and state != FAILING:
                break
            del queue[0]
            if self.first_waiting > 0:
                self.first_waiting -= 1
            change = head.change
            if state == PASSED:
                log.add_exit(now, head.area, PASS)
                self.window += self.window_increase
                if change is not None:
                    self.on_merge(change)
            else:
                log.add_exit(now, head.area, TRUE_FAILURE if head.true_failure else FALSE_FAILURE)
                self.window = max(self.window_floor, int(self.window / self.window_decrease_factor))
                if change is not None:
                    self.on_reject(change, head.true_failure)
        self._fill_window()

    @property
    def depth(self) -> int:
        """Items in the queue (running or waiting)."""
        return len(self.queue)

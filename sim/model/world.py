"""One replication: the SimPy environment, the policy's boards and gates, arrivals, and records.

The world also keeps the calendar (warm-up, cycle weeks, feature freeze, the working week) and an online,
time-weighted count of open changes over the measurement window, so Little's law can be checked
against the per-change records on every run.
"""

from __future__ import annotations

import math
from typing import Any

from sim.engine.clock import Clock
from sim.engine.rng import Streams
from sim.engine.workweek import WorkWeek
from sim.errors import SimulationDiverged
from sim.model.arrivals import Arrivals, ChangeFactory
from sim.model.change import Change
from sim.model.divergence import CHECK_EVERY_ARRIVALS, FIRST_CHECK_DAY, explain
from sim.model.gate import Gate
from sim.model.lifecycle import Lifecycle
from sim.model.nodes import NodePool
from sim.model.policy import Policy
from sim.model.records import Records, ReviewerRecord
from sim.model.review import ReviewBoard
from sim.model.reviewers import Reviewer
from sim.scenario import Scenario


class World:
    """Assembles and runs one replication of a scenario under its policy."""

    def __init__(self, scenario: Scenario, policy: Policy, replication: int = 0, seed: int | None = None) -> None:
        self.scenario = scenario
        self.replication = replication
        self.seed = scenario.run.seed if seed is None else seed
        self.clock = Clock()
        self.streams = Streams(self.seed, replication)
        self.warmup = scenario.run.warmup_days
        self.cycle_days = scenario.cycle_days
        self.window = (self.warmup, scenario.horizon_days)
        cycle = scenario.cycle
        self.freeze_from = 7.0 * cycle.feature_freeze_week if cycle.feature_freeze else math.inf
        self.reopen_at = 7.0 * cycle.reopen_week if cycle.reopen_week is not None else self.cycle_days
        self._activity: tuple[float, ...] = scenario.review.weekly_activity or ()  # () = flat
        # Cores' attention to each area's new changes (all 1: none, and the boards skip the factor).
        attention = tuple(a.attention for a in scenario.areas.values())
        self.first_attention: tuple[float, ...] = attention if any(x != 1.0 for x in attention) else ()
        self.workweek = (WorkWeek(cycle.weekend_activity, cycle.start_weekday, self.warmup)
                         if cycle.weekend_activity != 1.0 else None)
        self.changes: list[Change] = []
        self.open: dict[int, Change] = {}
        self.boards: dict[str, ReviewBoard] = {}
        self.gates: dict[str, Gate] = {}
        self._n_open = 0
        self._integral = 0.0
        self._last_t = 0.0
        self.max_open = scenario.run.max_open_changes
        self.max_events_per_day = scenario.run.max_events_per_day
        self.policy = policy
        # The test nodes every check and gate job waits for (None: unbounded, no waiting).
        self.nodes = NodePool(self.clock, scenario.ci.nodes) if scenario.ci.nodes is not None else None
        self.lifecycle = Lifecycle(scenario, self.clock, self.streams, policy, self.workweek,
                                   merge=self.merge, abandon=self.abandon, freeze_hold=self.freeze_hold,
                                   nodes=self.nodes)
        self.factory = ChangeFactory(scenario, self.streams)
        self.policy.build(self)
        self.arrivals = Arrivals(scenario, self.clock, self.streams["arrivals"], self.factory, self.workweek, self.arrive)

    def start_arrivals(self) -> None:
        """New changes start to arrive (``run`` then moves time forward)."""
        self.arrivals.start()

    # ------------------------------------------------------------------ calendar

    def _cycle_time(self, t: float) -> float:
        return (t - self.warmup) % self.cycle_days

    def cycle_week(self, t: float) -> int:
        """Week of the release cycle at time ``t`` (the measurement starts at week 0)."""
        return min(int(self._cycle_time(t) // 7.0), self.scenario.run.cycle_weeks - 1)

    def freeze_hold(self, change: Change) -> float:
        """Days until master reopens, for a blueprint approved during the feature freeze (else 0)."""
        if change.kind != "blueprint":
            return 0.0
        now = self.clock.now()
        in_cycle = self._cycle_time(now)
        return self.reopen_at - in_cycle if self.freeze_from <= in_cycle < self.reopen_at else 0.0

    def review_activity(self, t: float) -> float:
        """Multiplier of every core's review rate in the cycle week of time ``t``."""
        return self._activity[self.cycle_week(t)]

    # ------------------------------------------------------------------ building blocks for policies

    def add_board(self, name: str, reviewers: list[Reviewer], **hooks: Any) -> ReviewBoard:
        sc = self.scenario
        sizes = [a.size_log_mean for a in sc.areas.values()]
        board = ReviewBoard(
            self.clock, name, reviewers, len(sc.areas),
            selection=self.streams["selection"], effort=self.streams["review"],
            effort_cv=sc.review.effort_cv, median_size=math.exp(sum(sizes) / len(sizes)),
            size_elasticity=sc.review.size_effort_elasticity, window=self.window,
            on_reviewed=self.lifecycle.reviewed, on_expired=self.lifecycle.expired,
            activity=self.review_activity if self._activity else None, workweek=self.workweek,
            attention_decay=math.log(2.0) / halflife if (halflife := sc.review.attention_halflife_days) else 0.0,
            first_attention=self.first_attention, engaged_priority=sc.review.engaged_priority,
            **hooks,
        )
        self.boards[name] = board
        return board

    def new_reviewer_id(self) -> int:
        """An id no reviewer of any board has (reviewers never leave a replication)."""
        return sum(len(board.reviewers) for board in self.boards.values())

    def add_gate(self, name: str, *, background_rate: float = 0.0, background_pass: float = 1.0,
                 background_jobs: int = 0) -> Gate:
        g = self.scenario.gate
        gate = Gate(
            self.clock, name, run_time_days=g.run_time_days, run_time_cv=g.run_time_cv,
            window=g.window, window_floor=g.window_floor, window_increase=g.window_increase,
            window_decrease_factor=g.window_decrease_factor, stream=self.streams["gate"],
            on_merge=self.lifecycle.merged, on_reject=self.lifecycle.rejected, nodes=self.nodes,
        )
        gate.start_background(
            background_rate, background_pass, 1.0 - g.background_defect_fail_prob, background_jobs,
            self.streams["background"],
        )
        self.gates[name] = gate
        return gate

    # ------------------------------------------------------------------ life and death of changes

    def arrive(self, change: Change) -> None:
        now = self.clock.now()
        self._count(now, +1)
        self.changes.append(change)
        self.open[change.id] = change
        if len(self.open) > self.max_open or len(self.changes) % CHECK_EVERY_ARRIVALS == 0:
            self._check_budgets(now)
        self.policy.route(change)
        self.lifecycle.upload(change)

    def _check_budgets(self, now: float) -> None:
        """Stop a diverging replication (see :mod:`sim.model.divergence`)."""
        run = self.scenario.run
        if len(self.open) > self.max_open:
            reason = f"{len(self.open)} changes open (run.max_open_changes = {run.max_open_changes})"
        elif now >= FIRST_CHECK_DAY and (rate := self.clock.scheduled() / now) > self.max_events_per_day:
            reason = f"{rate:.0f} engine events per simulated day (run.max_events_per_day = {run.max_events_per_day:g})"
        else:
            return
        raise SimulationDiverged(explain(self.scenario, self.replication, now, reason, self.open.values()))

    def merge(self, change: Change) -> None:
        """``change`` merged now; its feature is usable once every follow-up it needs has merged too."""
        now = self.clock.now()
        change.merged = now
        self._close(change, now)  # the policy may ask for follow-ups (split repos)
        if change.followups_open == 0:
            change.usable = now
        if change.parent >= 0:  # a follow-up the parent waits for (not a nova change a driver change depends on)
            parent = self.changes[change.parent]
            if parent.followups_open > 0:
                parent.followups_open -= 1
                if parent.followups_open == 0:
                    parent.usable = now

    def abandon(self, change: Change, at: float) -> None:
        """The author abandons ``change`` at time ``at`` (may be past or future: see _close)."""
        change.abandoned = at
        self._close(change, at)

    def _close(self, change: Change, at: float) -> None:
        del self.open[change.id]
        now = self.clock.now()
        self._count(now, -1)
        # The change was open until ``at``: credit (or debit) the time between now and then.
        a, b = self.window
        if at >= now:
            self._integral += max(0.0, min(at, b) - max(now, a))
        else:
            self._integral -= max(0.0, min(now, b) - max(at, a))
        self.policy.on_closed(change)

    def _count(self, now: float, delta: int) -> None:
        a, b = self.window
        self._integral += self._n_open * max(0.0, min(now, b) - max(self._last_t, a))
        self._last_t = now
        self._n_open += delta

    # ------------------------------------------------------------------ running

    def run(self) -> Records:
        end = self.window[1]
        self.clock.run(end)
        self.policy.close(end)
        for board in self.boards.values():
            board.close(end)
        self._count(end, 0)
        names = self.scenario.area_names
        reviewers = [
            ReviewerRecord(board.name, r.name, r.role, r.rate, r.busy_days, r.reviews)
            for board in self.boards.values()
            for r in board.reviewers
        ]
        return Records(
            scenario_name=self.scenario.scenario.name,
            policy=self.scenario.policy.name,
            replication=self.replication,
            area_names=names,
            driver_areas=self.scenario.driver_areas,
            window=self.window,
            changes=[c.record(names) for c in self.changes],
            gates={name: gate.log for name, gate in self.gates.items()},
            reviewers=reviewers,
            open_time_integral=self._integral,
            sim_events=self.clock.processed(),
            extra=self.policy.extra_records(),
            nodes=self.nodes.log if self.nodes is not None else None,
        )

"""CI test nodes: a finite pool shared by every check and gate job (``ci.nodes``).

Each job of a pipeline run asks for one node (a :class:`simpy.PriorityResource` request; gate
jobs before check jobs, as Zuul's gate pipeline has ``precedence: high``, FIFO otherwise), starts
when it gets one and holds it for the run's duration. The run ends when its last job ends, so it
waits for nodes from its request until its last job starts: that is the run's *node wait*, logged
in a :class:`NodeLog`. A gate reset cancels a run: its waiting requests are withdrawn and its nodes
freed at once (Zuul cancels the jobs of the items behind a failing one).

With an unbounded pool (``ci.nodes`` unset) the model builds no pool at all and never calls here:
every run starts when asked, exactly as before the pool existed.
"""

from __future__ import annotations

from bisect import insort_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import simpy
from simpy.resources.resource import SortedQueue

from sim.engine.clock import Clock

GATE: Final = 0  # request priority of a gate job (served first)
CHECK: Final = 1  # request priority of a check job


@dataclass
class NodeLog:
    """Every run that asked the pool for nodes, as flat values (times in days).

    ``runs`` gives (requested, started, pipeline: GATE or CHECK, area or -1 for another project's
    change, jobs); a run cancelled before all its jobs started is not logged.
    """

    run_values: list[float | int] = field(default_factory=list)

    def add(self, requested: float, started: float, pipeline: int, area: int, jobs: int) -> None:
        self.run_values += (requested, started, pipeline, area, jobs)

    @property
    def runs(self) -> list[tuple[float, float, int, int, int]]:
        values = self.run_values
        return [tuple(values[i:i + 5]) for i in range(0, len(values), 5)]  # type: ignore[misc]


class NodeRun:
    """The jobs of one pipeline run on the pool: calls ``on_started()`` once every job holds a node."""

    __slots__ = ("area", "batch", "cancelled", "duration", "granted", "held", "on_started", "pipeline", "pool",
                 "requested", "requests")

    def __init__(self, pool: NodePool, jobs: int, duration: float, pipeline: int, area: int,
                 on_started: Callable[[], None]) -> None:
        self.pool = pool
        self.duration = duration
        self.requested = pool.clock.now()
        self.pipeline = pipeline
        self.area = area
        self.on_started = on_started
        self.cancelled = False
        self.granted: list[float] = []  # start time of each job that got a node
        self.held: set[Any] = set()  # requests holding a node now
        self.batch: list[Any] = []  # the requests granted at the latest grant time
        self.requests = [pool.resource.request(priority=pipeline) for _ in range(jobs)]
        for request in self.requests:
            request.callbacks.append(self._granted)
        if jobs == 0:
            pool.clock.start(self._all_started)

    def _granted(self, request: Any) -> None:
        if self.cancelled:
            return
        clock = self.pool.clock
        now = clock.now()
        self.held.add(request)
        # Jobs that start together end together: one engine event frees all their nodes.
        if self.granted and self.granted[-1] == now:
            self.batch.append(request)
        else:
            self.batch = [request]
            clock.after(self.duration, self._jobs_done, self.batch)
        self.granted.append(now)
        if len(self.granted) == len(self.requests):
            self._all_started()

    def _all_started(self) -> None:
        now = self.pool.clock.now()
        self.pool.log.add(self.requested, now, self.pipeline, self.area, len(self.requests))
        self.on_started()

    def _jobs_done(self, requests: list[Any]) -> None:
        for request in requests:
            if request in self.held:
                self.held.discard(request)
                self.pool.resource.release(request)

    def cancel(self) -> None:
        """Withdraw the jobs still waiting and free the nodes of those running (a gate reset)."""
        self.cancelled = True
        for request in self.requests:
            if request in self.held:
                self.held.discard(request)
                self.pool.resource.release(request)
            elif not request.triggered:  # still waiting for a node
                request.cancel()
            elif request.callbacks is not None:  # granted at this instant, its callback not yet run
                self.pool.resource.release(request)
            # else: the job ran to its end and freed its node

    def job_days(self, until: float) -> float:
        """Node-days its started jobs held up to ``until`` (days; each job at most the run's duration)."""
        return sum(min(max(until - start, 0.0), self.duration) for start in self.granted)


def _request_key(request: Any) -> Any:
    return request.key


class InsertionQueue(SortedQueue):
    """SimPy's queue of waiting requests, in the same order (by key; FIFO among equal keys) but kept by
    binary insertion: SimPy's own re-sorts the whole queue on every request, which costs as much as the queue
    is long, and a pool's queue can hold thousands of waiting jobs."""

    def append(self, item: Any) -> None:
        insort_right(self, item, key=_request_key)


class PriorityNodes(simpy.PriorityResource):
    """:class:`simpy.PriorityResource` with :class:`InsertionQueue`."""

    PutQueue = InsertionQueue


class NodePool:
    """``capacity`` test nodes on the replication's SimPy environment."""

    def __init__(self, clock: Clock, capacity: int) -> None:
        self.clock = clock
        self.resource = PriorityNodes(clock.env, capacity=capacity)
        self.log = NodeLog()

    def run(self, jobs: int, duration: float, pipeline: int, area: int, on_started: Callable[[], None]) -> NodeRun:
        """Ask for ``jobs`` nodes for ``duration`` days each; ``on_started()`` when the last job starts."""
        return NodeRun(self, jobs, duration, pipeline, area, on_started)

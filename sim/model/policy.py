"""The policy seam: for each change, which board reviews it, when it may be reviewed, what
approves it, and which gate tests it with which jobs.

:class:`Policy` is today's arrangement (the monolith: one repository, one core team, one
integrated gate) plus the mechanisms a scenario lists in ``policy.mechanisms``, applied in that
order (``["lieutenants", "runways"]`` is lieutenants and runways together). A
:class:`Mechanism` overrides only the hooks it changes:

- ``build(world)``: add reviewers, boards, gates, priority lanes; adjust job tables;
- ``route(change)``: at arrival, may move the change to another board and gate;
- ``admit(change) -> bool``: may the ready change be reviewed now? ``False`` means the mechanism
  holds it (:meth:`Policy.hold`) and releases it later (:meth:`Policy.release`);
- ``approved(change) -> bool | None``: a verdict on the votes, or ``None`` for no opinion;
- ``effort_factor(reviewer, change) -> float``: multiplies a review's effort;
- ``author_factor(change) -> float``: multiplies the author's time to answer a review;
- ``gate_entry(item) -> bool``: may the approved change enter its gate now? ``False`` means the
  mechanism keeps the :class:`~sim.model.gate.GateItem` (a red driver gate, a dependency not merged
  yet) and hands it back later with :meth:`Policy.enter_gate`;
- ``on_new_patch_set``, ``on_approved``, ``on_closed``: notifications; ``close(end)`` at the end
  of the run; ``extra_records()``: policy-specific data for the metrics.

The model calls only :class:`Policy`; nothing else knows which mechanisms run. The model owns
this seam; the mechanisms themselves live in :mod:`sim.policies`, whose registry the composition
root (:mod:`sim.simulate`) hands to the policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sim.model.ci import job_tables
from sim.model.reviewers import core_team
from sim.scenario.staffing import CORE

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.gate import GateItem
    from sim.model.review import ReviewBoard
    from sim.model.reviewers import Reviewer
    from sim.model.world import World
    from sim.scenario import Scenario


class Mechanism:
    """One governance mechanism composed onto the monolith; every hook is optional."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.scenario = policy.scenario

    def build(self, world: World) -> None:
        pass

    def route(self, change: Change) -> None:
        pass

    def admit(self, change: Change) -> bool:
        return True

    def approved(self, change: Change) -> bool | None:
        return None

    def effort_factor(self, reviewer: Reviewer, change: Change) -> float:
        return 1.0  # not called: only the mechanisms that override it scale review effort

    def author_factor(self, change: Change) -> float:
        return 1.0

    def gate_entry(self, item: GateItem) -> bool:
        return True

    def on_new_patch_set(self, change: Change) -> None:
        pass

    def on_approved(self, change: Change) -> None:
        pass

    def on_closed(self, change: Change) -> None:
        pass

    def close(self, end: float) -> None:
        pass

    def extra_records(self) -> dict[str, Any]:
        return {}


class Policy:
    """The monolith, with the scenario's mechanisms composed on top."""

    def __init__(self, scenario: Scenario, mechanisms: Sequence[type[Mechanism]] = ()) -> None:
        self.scenario = scenario
        self.votes_required = scenario.review.votes_required
        self.mechanisms: list[Mechanism] = [mechanism(self) for mechanism in mechanisms]

    # ------------------------------------------------------------------ structure

    def build(self, world: World) -> None:
        sc = self.scenario
        self.world = world
        self.clock = world.clock
        self.board: ReviewBoard = world.add_board("nova", core_team(sc, world.streams["roster"]),
                                                  effort_factor=self._effort_factor())
        jobs = job_tables(sc)
        self.check_pass, self.gate_pass, self.gate_job_count = jobs.check_pass, jobs.gate_pass, jobs.gate_jobs
        self.check_node_count, self.gate_node_count = jobs.check_nodes, jobs.gate_nodes
        self.gate = None
        if sc.gate.enabled:
            self.gate = world.add_gate("nova", background_rate=sc.gate.background_rate_per_day,
                                       background_pass=jobs.background_pass, background_jobs=jobs.background_jobs)
        for mechanism in self.mechanisms:
            mechanism.build(world)
        self._approval = self._overriding("approved")
        self._author = self._overriding("author_factor")
        self._admission = self._overriding("admit")
        self._gate_entry = self._overriding("gate_entry")
        # Notifications go only to the mechanisms that listen (most hooks of most policies are no-ops).
        self._new_patch_set = self._overriding("on_new_patch_set")
        self._approved = self._overriding("on_approved")
        self._closed = self._overriding("on_closed")

    def _overriding(self, hook: str) -> list[Mechanism]:
        """The mechanisms whose class overrides ``hook`` of :class:`Mechanism`, in order."""
        return [m for m in self.mechanisms if getattr(type(m), hook) is not getattr(Mechanism, hook)]

    def _effort_factor(self) -> Callable[[Reviewer, Change], float] | None:
        """The product of the mechanisms' effort factors on nova's board (None: every review as usual)."""
        factors = [m.effort_factor for m in self._overriding("effort_factor")]
        if not factors:
            return None
        if len(factors) == 1:
            return factors[0]
        return lambda reviewer, change: math.prod(f(reviewer, change) for f in factors)

    def route(self, change: Change) -> None:
        change.board = self.board
        change.gate = self.gate
        for mechanism in self.mechanisms:
            mechanism.route(change)

    # ------------------------------------------------------------------ decisions

    def offer(self, change: Change, since: float | None = None) -> None:
        """The change is ready for review (since ``since``, default now); mechanisms may hold it."""
        now = self.clock.now()
        change.ready_since = now if since is None else since
        for mechanism in self._admission:
            if not mechanism.admit(change):
                return
        change.board.offer(change)  # type: ignore[union-attr]  # set by route()

    def approved(self, change: Change) -> bool:
        for mechanism in self._approval:
            verdict = mechanism.approved(change)
            if verdict is not None:
                return verdict
        return len(change.votes) >= self.votes_required

    def author_factor(self, change: Change) -> float:
        """How much faster (< 1) or slower the author answers a review of ``change`` than usual."""
        factor = 1.0
        for mechanism in self._author:
            factor *= mechanism.author_factor(change)
        return factor

    def enter_gate(self, item: GateItem) -> None:
        """The approved change of ``item`` enters its gate, unless a mechanism keeps it for now."""
        for mechanism in self._gate_entry:
            if not mechanism.gate_entry(item):
                return
        item.change.gate.enqueue(item)  # type: ignore[union-attr]  # a change with a gate

    def check_pass_prob(self, change: Change) -> float:
        return self.check_pass[change.area]

    def check_nodes(self, change: Change) -> int:
        """Test nodes a check run of ``change`` takes (one per job on OpenStack's nodes)."""
        return self.check_node_count[change.area]

    def gate_nodes(self, change: Change) -> int:
        """Test nodes a gate run of ``change`` takes (one per job on OpenStack's nodes)."""
        return self.gate_node_count[change.area]

    def gate_jobs(self, change: Change) -> tuple[float, int]:
        return self.gate_pass[change.area], self.gate_job_count[change.area]

    # ------------------------------------------------------------------ held changes

    def hold(self, change: Change) -> None:
        """A mechanism keeps a ready change from review; its wait for a reviewer goes on."""
        change.held_since = self.clock.now()

    def release(self, change: Change) -> None:
        """A held change may be reviewed (by the later mechanisms' leave), or was abandoned meanwhile."""
        now = self.clock.now()
        deadline = change.deadline()
        # Held until now, or until its author gave up (possibly before it was held: a runway's
        # timebox can put back a waiting change whose abandonment nobody had noticed yet).
        change.held_time += max(0.0, min(now, deadline) - change.held_since)
        if deadline <= now:
            self.world.lifecycle.expired(change, deadline)
        else:
            self.offer(change, since=change.ready_since)

    def expire_held(self, change: Change, end: float) -> bool:
        """At the end of the run: abandon a held change whose author's patience ran out; True if so."""
        deadline = change.deadline()
        if deadline > end:
            return False
        change.held_time += max(0.0, deadline - change.held_since)
        self.world.lifecycle.expired(change, deadline)
        return True

    # ------------------------------------------------------------------ notifications

    def on_new_patch_set(self, change: Change) -> None:
        for mechanism in self._new_patch_set:
            mechanism.on_new_patch_set(change)

    def on_approved(self, change: Change) -> None:
        for mechanism in self._approved:
            mechanism.on_approved(change)

    def on_closed(self, change: Change) -> None:
        for mechanism in self._closed:
            mechanism.on_closed(change)

    def close(self, end: float) -> None:
        for mechanism in self.mechanisms:
            mechanism.close(end)

    def extra_records(self) -> dict[str, Any]:
        records: dict[str, Any] = {}
        for mechanism in self.mechanisms:
            records.update(mechanism.extra_records())
        return records

    def cores(self) -> list[Reviewer]:
        """Nova's core reviewers (not lieutenants)."""
        return [r for r in self.board.reviewers if r.role == CORE]

"""The journey of a change: upload, check, review rounds, approval, gate, merge or abandonment.

Each step is a short function that either schedules the next step after a delay (one SimPy
event) or hands the change to a review board or a gate, which call back here:

    upload -> check --pass--> (non-core review) -> review board
                    --false failure--> recheck after a delay -> check
                    --defect caught--> revise
    review --(-1)--> revise --author delay--> upload (next patch set, votes cleared)
           --(+2)--> enough votes? approve -> gate : else back to the board
                     (a blueprint approved in the feature freeze waits for master to reopen, is rebased
                     and reviewed again)
    gate --merge--> merged ; --false failure--> recheck -> check -> gate ; --true failure--> revise

Author, reviewer and non-core delays are work days, spread over the working week (``sim.engine.workweek``).
Who reviews, how many votes approve and which gate tests a change are the policy's decisions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.engine.clock import Clock
from sim.engine.rng import Streams
from sim.engine.workweek import WorkWeek
from sim.model.change import Change
from sim.model.gate import GateItem
from sim.model.nodes import CHECK, NodePool
from sim.model.reviewers import Reviewer
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.model.policy import Policy


class Lifecycle:
    """Moves changes between authors, CI, reviewers and the gate for one replication."""

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        streams: Streams,
        policy: Policy,
        workweek: WorkWeek | None,
        *,
        merge: Callable[[Change], None],
        abandon: Callable[[Change, float], None],
        freeze_hold: Callable[[Change], float],
        nodes: NodePool | None = None,
    ) -> None:
        """``merge(change)`` and ``abandon(change, at)`` close a change; ``freeze_hold(change)`` is
        how long an approved change waits out the feature freeze (days); ``nodes``: the test-node
        pool check runs wait for (None: unbounded)."""
        self.nodes = nodes
        self.clock = clock
        sc = scenario
        self.scenario = sc
        self.policy = policy
        self.merge, self.abandon, self.freeze_hold = merge, abandon, freeze_hold
        self.author = streams["author"]
        self.review_rng = streams["review"]
        self.check_rng = streams["check"]
        self.noncore_rng = streams["noncore"]
        self.detect_prob = sc.review.detect_prob
        a = sc.authors
        self.response_median, self.response_sigma = a.response_median_days, a.response_sigma
        self.stall_prob, self.stall_mean = a.stall_prob, a.stall_mean_days
        self.response_factor = [area.response_factor for area in sc.areas.values()]  # by area index
        self.recheck_delay = a.recheck_delay_days
        self.noncore_catch, self.noncore_delay = sc.noncore.catch_prob, sc.noncore.delay_days
        self.check_on = sc.check.enabled
        self.check_time = sc.check.run_time_days
        self.check_catch = sc.check.defect_catch_prob
        self.gate_catch = sc.gate.defect_catch_prob
        self.workweek = workweek
        # Bound once, not per scheduled call (the two most frequent steps of a change).
        self._revised_call = self._revised
        self._check_done_call = self._check_done

    def _calendar(self, work: float) -> float:
        """Calendar days, from now, that ``work`` days of human work take (weekends are slow)."""
        if self.workweek is None:
            return work
        now = self.clock.now()
        return self.workweek.finish(now, work) - now

    # ------------------------------------------------------------------ author side

    def upload(self, change: Change) -> None:
        """A patch set is uploaded (the first one at arrival): it goes through check."""
        self.check(change)

    def revise(self, change: Change) -> None:
        """A defect was found: the author fixes it after a delay, or stalls, or gives up."""
        author = self.author
        if self.stall_prob and author.uniform() < self.stall_prob:
            delay = author.exponential(self.stall_mean)
        else:
            delay = author.lognormal(self.response_median, self.response_sigma)
        delay = self._calendar(delay * self.response_factor[change.area] * self.policy.author_factor(change))
        if delay > change.patience:
            change.author_time += change.patience
            now = self.clock.now()
            self.abandon(change, now + change.patience)
            return
        change.author_time += delay
        self.clock.after(delay, self._revised_call, change)

    def _revised(self, change: Change) -> None:
        change.defects = change.defects - 1 if change.defects > 0 else 0
        self.new_patch_set(change)

    def new_patch_set(self, change: Change) -> None:
        """A new patch set (a revision, or a rebase that fixes nothing): votes cleared, checked again."""
        change.patch_sets += 1
        now = self.clock.now()
        change.last_upload = now
        change.votes.clear()
        change.reviewed_by.clear()
        self.policy.on_new_patch_set(change)
        self.upload(change)

    # ------------------------------------------------------------------ check pipeline

    def check(self, change: Change) -> None:
        if not self.check_on:
            self._check_passed(change)
            return
        if self.nodes is not None:
            requested = self.clock.now()
            self.nodes.run(self.policy.check_nodes(change), self.check_time, CHECK, change.area,
                           lambda: self._check_started(change, requested))
            return
        change.ci_time += self.check_time
        self.clock.after(self.check_time, self._check_done_call, change)

    def _check_started(self, change: Change, requested: float) -> None:
        """Every check job holds a test node (since ``requested``, days): the run takes ``check_time``."""
        change.ci_time += self.clock.now() - requested + self.check_time
        self.clock.after(self.check_time, self._check_done_call, change)

    def _check_done(self, change: Change) -> None:
        rng = self.check_rng
        caught = change.defects > 0 and rng.uniform() >= (1.0 - self.check_catch) ** change.defects
        flaky = rng.uniform() >= self.policy.check_pass_prob(change)
        if caught:
            self.revise(change)
        elif flaky:
            self.recheck(change)
        else:
            self._check_passed(change)

    def recheck(self, change: Change) -> None:
        """A false CI failure: the author asks for a recheck after a short delay."""
        change.rechecks += 1
        delay = self._calendar(self.author.exponential(self.recheck_delay)) if self.recheck_delay else 0.0
        change.ci_time += delay
        self.clock.after(delay, self.check, change)

    def _check_passed(self, change: Change) -> None:
        if self.policy.approved(change):  # approval survives a false gate failure + recheck
            self.to_gate(change)
        else:
            self.ready(change)

    # ------------------------------------------------------------------ review

    def ready(self, change: Change) -> None:
        """Ready for review: non-core reviewers may find a defect first; then the cores' board."""
        if self.noncore_catch and change.defects > 0 and self.noncore_rng.uniform() < self.noncore_catch:
            delay = self._calendar(self.noncore_rng.exponential(self.noncore_delay))
            change.review_time += delay
            self.clock.after(delay, self.revise, change)
            return
        self.policy.offer(change)

    def reviewed(self, change: Change, reviewer: Reviewer) -> None:
        """Called by a board when ``reviewer`` finishes a review of ``change``."""
        if change.defects > 0 and self.review_rng.uniform() < self.detect_prob:
            self.revise(change)
            return
        change.votes.append(reviewer)
        if self.policy.approved(change):
            self.approve(change)
        else:
            self.policy.offer(change)

    def approve(self, change: Change) -> None:
        now = self.clock.now()
        change.approved = now
        self.policy.on_approved(change)
        hold = self.freeze_hold(change)
        if hold > 0.0:
            change.freeze_time += hold
            self.clock.after(hold, self.new_patch_set, change)  # rebased when master reopens, reviewed again
        else:
            self.to_gate(change)

    # ------------------------------------------------------------------ gate

    def to_gate(self, change: Change) -> None:
        gate = change.gate
        if gate is None:
            self.merge(change)
            return
        jobs_pass, jobs = self.policy.gate_jobs(change)
        defect_pass = (1.0 - self.gate_catch) ** change.defects if change.defects else 1.0
        now = self.clock.now()
        change.gate_time -= now  # added back when the change leaves the gate
        self.policy.enter_gate(GateItem(change, change.area, jobs_pass, defect_pass, jobs, self.policy.gate_nodes(change)))

    def merged(self, change: Change) -> None:
        now = self.clock.now()
        change.gate_time += now
        self.merge(change)

    def rejected(self, change: Change, true_failure: bool) -> None:
        now = self.clock.now()
        change.gate_time += now
        if true_failure:
            self.revise(change)
        else:
            self.recheck(change)

    # ------------------------------------------------------------------ abandonment

    def expired(self, change: Change, at: float) -> None:
        """A board found a waiting change whose author's patience ran out at ``at``."""
        if not math.isnan(change.ready_since):
            change.wait_review += at - change.ready_since
            change.ready_since = math.nan
        self.abandon(change, at)

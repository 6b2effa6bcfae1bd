"""Runways: ``slots`` blueprint series under focused review at once (facts §4), in two readings.

**As Nova ran them** (``policy.runways.exclusive = false``, :class:`Runways`; nova process.rst,
Rocky to Wallaby): a blueprint series queues (FIFO) for one of ``slots`` runways once it is ready
for review: all its changes are uploaded (``ChangeFactory.series_complete``) and one of them has
passed check and awaits a reviewer. While it
holds a runway, for at most ``timebox_days``, cores focus on it: with probability
``priority_share`` a core who picks the next change picks among the waiting changes of slotted
series (by the usual expertise x attractiveness rule), a share ``focus`` of the context-switch
effort (``review.context_switch_share``) is saved on them, and their authors answer reviews faster
(their response time times ``author_response_factor``). Changes of series without a runway, and
series still arriving, are reviewed as in the monolith. A series gives its runway back when none
of its changes awaits approval (and queues again if one does later, sent back by the gate); one
still open when its timebox ends queues again at the tail. The author's factor applies to every
delay before the next patch set, stalls included.

**As an exclusive hold** (``exclusive = true``, :class:`ExclusiveRunways`; the 2014 proposal read
strictly): blueprint changes of a feature without a runway are not reviewed at all; they wait in
a FIFO queue of features (:class:`~sim.policies.features.FeatureAdmission`); a feature gets a
runway as soon as one of its changes is ready, keeps it while it has a change under review, and
gives it back after ``timebox_days``. ``Change.held_time`` is the wait for a runway, and authors
whose patience runs out while queued abandon. Priority and focus as above; authors as usual.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from sim.model.policy import Mechanism
from sim.policies.features import Feature, FeatureAdmission

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.reviewers import Reviewer
    from sim.model.world import World


class Runways(Mechanism):
    """Runways as practised: a priority lane for complete series, no change held back."""

    def build(self, world: World) -> None:
        config = self.scenario.policy.runways
        self.world = world
        self.slots = config.slots
        self.timebox = config.timebox_days
        self.focused_effort = 1.0 - self.scenario.review.context_switch_share * config.focus
        self.response = config.author_response_factor
        self.waiting: dict[int, dict[int, Change]] = {}  # feature -> its changes awaiting approval
        self.queue: deque[int] = deque()  # complete features waiting for a runway, FIFO
        self.queued: set[int] = set()  # the features in ``queue``
        self.runway: dict[int, int] = {}  # feature -> grant token (a stale timebox timer is ignored)
        self.tokens = 0
        self.in_use_max = 0
        self.granted = 0
        self.policy.board.add_lane(config.priority_share, self._runway_changes)

    def admit(self, change: Change) -> bool:
        """Never holds: notes that the change awaits approval, and queues its series for a runway once
        complete. Asked when the change is ready for review, so after every mechanism routed it."""
        if change.feature < 0 or change.board is not self.policy.board:
            return True
        feature = change.feature
        self.waiting.setdefault(feature, {})[change.id] = change
        if feature not in self.runway and feature not in self.queued and self.world.factory.series_complete(change):
            self._enqueue(feature)
        return True

    def on_approved(self, change: Change) -> None:
        self._done(change)

    def on_closed(self, change: Change) -> None:
        self._done(change)

    def _runway_changes(self, reviewer: Reviewer) -> list[Change]:
        return [c for feature in self.runway for c in self.waiting[feature].values()]

    def effort_factor(self, reviewer: Reviewer, change: Change) -> float:
        return self.focused_effort if change.feature in self.runway else 1.0

    def author_factor(self, change: Change) -> float:
        return self.response if change.feature in self.runway else 1.0

    # ------------------------------------------------------------------ runways

    def _done(self, change: Change) -> None:
        changes = self.waiting.get(change.feature)
        if changes is None or changes.pop(change.id, None) is None:
            return
        if not changes and change.feature in self.runway:
            self._release(change.feature)

    def _enqueue(self, feature: int) -> None:
        if self.waiting[feature]:
            self.queue.append(feature)
            self.queued.add(feature)
            self._grant_waiting()

    def _grant_waiting(self) -> None:
        while self.queue and len(self.runway) < self.slots:
            feature = self.queue.popleft()
            self.queued.discard(feature)
            if not self.waiting[feature]:
                continue  # finished while it queued
            self.tokens += 1
            self.runway[feature] = self.tokens
            self.granted += 1
            self.in_use_max = max(self.in_use_max, len(self.runway))
            self.world.clock.after(self.timebox, self._timebox_over, feature, self.tokens)

    def _release(self, feature: int) -> None:
        del self.runway[feature]
        self._grant_waiting()

    def _timebox_over(self, feature: int, token: int) -> None:
        if self.runway.get(feature) != token:
            return
        del self.runway[feature]
        self._enqueue(feature)  # still awaiting approval: back to the tail (then the queue's head gets the runway)

    def extra_records(self) -> dict[str, Any]:
        return {"runways_max_in_use": self.in_use_max, "runways_granted": self.granted}


class ExclusiveRunways(FeatureAdmission):
    """Runways as an exclusive hold: a blueprint change is reviewed only while its feature has a runway."""

    def build(self, world: World) -> None:
        super().build(world)
        config = self.scenario.policy.runways
        self.slots = config.slots
        self.timebox = config.timebox_days
        self.focused_effort = 1.0 - self.scenario.review.context_switch_share * config.focus
        self.runway: dict[int, Feature] = {}
        self.policy.board.add_lane(config.priority_share, self._runway_changes)

    def can_grant(self, feature: Feature) -> bool:
        return len(self.runway) < self.slots

    def on_grant(self, feature: Feature) -> None:
        self.runway[feature.id] = feature
        self.world.clock.after(self.timebox, self._timebox_over, feature, feature.token)

    def on_revoke(self, feature: Feature) -> None:
        del self.runway[feature.id]

    def _runway_changes(self, reviewer: Reviewer) -> list[Change]:
        return [c for feature in self.runway.values() for c in feature.active.values()]

    def effort_factor(self, reviewer: Reviewer, change: Change) -> float:
        feature = self.runway.get(change.feature)
        return self.focused_effort if feature is not None and change.id in feature.active else 1.0

    def _timebox_over(self, feature: Feature, token: int) -> None:
        if not feature.granted or feature.token != token:
            return
        board = self.policy.board
        for change in list(feature.active.values()):
            if board.withdraw(change):  # waiting for a reviewer: back to the queue with its feature
                self.policy.hold(change)
                feature.held.append(change)
        feature.active.clear()  # changes in review or revision queue again when next ready
        if feature.held:
            feature.queued = True
            self.queue.append(feature)
        self.revoke(feature)

    def extra_records(self) -> dict[str, Any]:
        return {"runways_max_in_use": self.granted_max}

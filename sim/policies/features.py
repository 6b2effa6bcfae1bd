"""Admission of blueprint features to review, one feature at a time (shared by runways and sponsorship).

A feature is a blueprint series (``Change.feature``). A blueprint change on nova's board that
becomes ready for review is admitted only while its feature holds a *grant* (a runway slot, a
set of sponsors); otherwise the policy holds it and its feature waits in a FIFO queue. When a
grant frees, the first queued feature with a ready change gets it and its held changes are
released to review. A feature keeps its grant while it has a change under review (admitted,
not yet approved or closed); a change of it that becomes ready later finds the grant gone and
queues the feature again. Subclasses decide when a grant is possible and what it means.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.model.policy import Mechanism

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.world import World


class Feature:
    """Review state of one blueprint feature under an admission mechanism."""

    __slots__ = ("id", "area", "active", "held", "granted", "queued", "token", "holders")

    def __init__(self, id: int, area: int) -> None:
        self.id = id
        self.area = area
        self.active: dict[int, Change] = {}  # admitted, not yet approved or closed
        self.held: list[Change] = []  # ready, held back until the feature has a grant
        self.granted = False
        self.queued = False
        self.token = 0  # counts grants, so a stale timer can tell it is stale
        self.holders: list[int] = []  # reviewer ids bound to the grant (sponsors)


class FeatureAdmission(Mechanism):
    """Hold blueprint changes until their feature has a grant; grants go to features in FIFO order
    unless a subclass picks another (:meth:`next_feature`)."""

    def build(self, world: World) -> None:
        self.world = world
        self.features: dict[int, Feature] = {}
        self.queue: deque[Feature] = deque()
        self.granted_now = 0
        self.granted_max = 0
        self._granting = False
        self.watchers: list[Callable[[str, Feature], None]] = []  # see watch()

    def watch(self, callback: Callable[[str, Feature], None]) -> None:
        """Call ``callback(event, feature)`` at each ``"grant"`` (before the grant takes effect),
        ``"granted"`` (after) and ``"revoked"`` (after the grant was given back)."""
        self.watchers.append(callback)

    def _tell(self, event: str, feature: Feature) -> None:
        for watcher in self.watchers:
            watcher(event, feature)

    def applies(self, change: Change) -> bool:
        return change.feature >= 0 and change.board is self.policy.board

    def can_grant(self, feature: Feature) -> bool:
        raise NotImplementedError

    def on_grant(self, feature: Feature) -> None:
        pass

    def on_revoke(self, feature: Feature) -> None:
        pass

    def next_feature(self) -> Feature:
        """The queued feature offered the next grant: the queue's head (first come, first served)."""
        return self.queue[0]

    # ------------------------------------------------------------------ hooks

    def admit(self, change: Change) -> bool:
        if not self.applies(change):
            return True
        feature = self.features.get(change.feature)
        if feature is None:
            feature = self.features[change.feature] = Feature(change.feature, change.area)
        if feature.granted:
            feature.active[change.id] = change
            return True
        self.policy.hold(change)
        feature.held.append(change)
        if not feature.queued:
            feature.queued = True
            self.queue.append(feature)
        self.grant_waiting()
        return False

    def on_approved(self, change: Change) -> None:
        self._leave(change)

    def on_closed(self, change: Change) -> None:
        self._leave(change)

    def close(self, end: float) -> None:
        for feature in list(self.queue):
            for change in list(feature.held):
                self.policy.expire_held(change, end)

    # ------------------------------------------------------------------ grants

    def _leave(self, change: Change) -> None:
        feature = self.features.get(change.feature)
        if feature is None:
            return
        feature.active.pop(change.id, None)
        if change in feature.held:
            feature.held.remove(change)
        if feature.granted and not feature.active and not feature.held:
            self.revoke(feature)

    def grant_waiting(self) -> None:
        """Give grants to queued features, first come first served, while possible."""
        if self._granting:  # called back from inside a grant: the outer loop goes on
            return
        self._granting = True
        try:
            while self.queue:
                feature = self.next_feature()
                if feature.held and not self.can_grant(feature):
                    break
                if feature is self.queue[0]:
                    self.queue.popleft()
                else:
                    self.queue.remove(feature)
                feature.queued = False
                if feature.held:
                    self._grant(feature)
        finally:
            self._granting = False

    def _grant(self, feature: Feature) -> None:
        feature.granted = True
        feature.token += 1
        self.granted_now += 1
        self.granted_max = max(self.granted_max, self.granted_now)
        self._tell("grant", feature)
        self.on_grant(feature)
        self._tell("granted", feature)
        # One at a time, the rest still held: a change abandoned meanwhile leaves (``_leave``) while
        # its feature still has held changes, so it does not take the new grant back with it.
        while feature.held:
            self.policy.release(feature.held.pop(0))  # admitted again (now active), or abandoned meanwhile
        if not feature.active and not feature.held:
            self.revoke(feature)

    def revoke(self, feature: Feature) -> None:
        """The feature gives its grant back (done for now, or out of time); a no-op if it has none."""
        if not feature.granted:
            return
        feature.granted = False
        self.granted_now -= 1
        self.on_revoke(feature)
        self._tell("revoked", feature)
        self.grant_waiting()

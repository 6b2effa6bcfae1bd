"""Runways: at most ``slots`` blueprint features under active review at once (facts §4).

Blueprint changes of a feature without a runway wait in a FIFO queue (bug fixes and other
changes are not rationed). A feature with a runway is reviewed with priority: a core who
finishes a review picks a waiting runway change with probability ``priority_share`` (by the
usual expertise x attractiveness rule among runway changes). Focus makes those reviews cheaper:
a core jumping between many changes spends ``review.context_switch_share`` of each review
re-loading context; on a runway change a share ``focus`` of that is saved. A feature that is
still under review after ``timebox_days`` gives its runway back and queues again at the tail.
The critic's point is measured: ``Change.held_time`` is the wait for a runway, and authors whose
patience runs out while queued abandon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.policies.features import Feature, FeatureAdmission

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.reviewers import Reviewer
    from sim.model.world import World


class Runways(FeatureAdmission):
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

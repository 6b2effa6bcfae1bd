"""Sponsorship (the thread's 'permanent feature freeze'): a blueprint is reviewed once cores sponsor it.

A blueprint feature waits in a FIFO queue until ``sponsors`` nova cores sign on; a core
sponsors at most ``max_per_core`` features at a time, and cores who know the feature's area
sign on first (then others, in random order). Sponsors review their features with priority: a
sponsor who finishes a review picks a waiting change of a feature they sponsor with probability
``priority_share``. Sponsors are released when the feature has no change under review; a later
change of it needs sponsors again.

Which feature cores sponsor next (``order``): ``"fifo"``, first come first served; or
``"ripest"``, the freeze-exception selection the 2014 thread's evidence rests on: cores sponsor the
queued feature whose waiting changes carry the fewest latent defects (the features that "lost the
race" at the freeze were already reviewed, close to mergeable), so features that need more review
wait longer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sim.policies.features import Feature, FeatureAdmission

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.reviewers import Reviewer
    from sim.model.world import World


class Sponsorship(FeatureAdmission):
    def build(self, world: World) -> None:
        super().build(world)
        config = self.scenario.policy.sponsorship
        self.needed = config.sponsors
        self.limit = config.max_per_core
        self.ripest_first = config.order == "ripest"
        self.stream = world.streams["policy"]
        # Keyed by reviewer id and filled as cores sponsor: nothing depends on who is in nova when this
        # mechanism is built (a mechanism built after it, split with experts_move, may move cores out).
        self.load: defaultdict[int, int] = defaultdict(int)
        self.sponsoring: defaultdict[int, list[Feature]] = defaultdict(list)
        self.policy.board.add_lane(config.priority_share, self._sponsored_changes)

    @property
    def cores(self) -> list[Reviewer]:
        """Nova's cores as they are now."""
        return self.policy.cores()

    def _free_cores(self, area: int) -> list[Reviewer]:
        free = [r for r in self.cores if self.load[r.id] < self.limit]
        order = {r.id: (r.weights[area] < 1.0, self.stream.uniform()) for r in free}
        return sorted(free, key=lambda r: order[r.id])

    def next_feature(self) -> Feature:
        if not self.ripest_first:
            return self.queue[0]
        # Fewest latent defects among the held changes; ties (and features with nothing held) by queue order.
        return min(self.queue, key=lambda f: sum(c.defects for c in f.held) if f.held else -1)

    def can_grant(self, feature: Feature) -> bool:
        return sum(1 for r in self.cores if self.load[r.id] < self.limit) >= self.needed

    def on_grant(self, feature: Feature) -> None:
        feature.holders = [r.id for r in self._free_cores(feature.area)[: self.needed]]
        for rid in feature.holders:
            self.load[rid] += 1
            self.sponsoring[rid].append(feature)

    def on_revoke(self, feature: Feature) -> None:
        for rid in feature.holders:
            self.load[rid] -= 1
            self.sponsoring[rid].remove(feature)
        feature.holders = []

    def _sponsored_changes(self, reviewer: Reviewer) -> list[Change]:
        features = self.sponsoring.get(reviewer.id)
        return [c for feature in features for c in feature.active.values()] if features else []

    def extra_records(self) -> dict[str, Any]:
        return {"sponsored_max": self.granted_max}

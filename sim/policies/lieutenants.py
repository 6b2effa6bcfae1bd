"""Lieutenants: a sub-team per driver, trusted to approve changes that touch only its driver.

Each listed driver gets ``per_driver`` lieutenants, drawn from the driver's own contributors:
new reviewers on nova's board with their own capacity, who review only their driver's changes.
A driver-only change is approved by ``review.votes_required`` +2 votes of which at least
``core_votes_required`` come from nova cores (the rest may be lieutenants'). A change that also
touches code outside the driver still needs ``review.votes_required`` core votes; a lieutenant's
review of it can still find defects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.model.policy import Mechanism
from sim.model.reviewers import Reviewer, driver_team
from sim.scenario.staffing import CORE, LIEUTENANT

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.world import World


class Lieutenants(Mechanism):
    def build(self, world: World) -> None:
        sc = self.scenario
        config = sc.policy.lieutenants
        names = sc.area_names
        self.areas = frozenset(names.index(d) for d in sc.mechanism_drivers("lieutenants"))
        self.core_votes = config.core_votes_required
        self.required = sc.review.votes_required
        team: list[Reviewer] = []
        for a in sorted(self.areas):
            team += driver_team(world.new_reviewer_id() + len(team), a, len(names), config.per_driver,
                                config.reviews_per_day, LIEUTENANT, f"lieutenant-{names[a]}")
        self.policy.board.add_reviewers(team)

    def approved(self, change: Change) -> bool | None:
        if change.area not in self.areas:
            return None
        core = sum(1 for v in change.votes if v.role == CORE)
        if change.driver_only:
            return len(change.votes) >= self.required and core >= self.core_votes
        return core >= self.required

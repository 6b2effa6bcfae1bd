"""Split repos: each split driver moves to its own repository with its own core team and gate.

A change in a split driver's area is reviewed by the driver's team (``team_of(driver)``
reviewers, each knowing only that driver; with ``experts_move``, the nova cores who know the
driver leave nova for its team) and gated in the driver's own gate: the driver repository's jobs
(``driver_jobs``), the driver's configuration jobs and, with ``third_party_gating``, its
third-party CI (the job tables are :func:`sim.model.ci.job_tables`). No background changes share
a driver gate. Nova's pipelines drop the split drivers' own jobs, so nova's gate no longer pays
for resets caused by driver changes.

The price: the virt driver interface becomes a versioned API. A nova change touching it carries
``interface_extra_defects`` more latent defects on average (extra review rounds), and once it
merges each split driver must adopt it in a follow-up change of its own (uploaded after an
exponential delay of mean ``followup_delay_days``); the feature is usable when the last
follow-up merges (``Change.usable``). A follow-up is a small adoption change
(``followup_size_lines``, ``followup_defects_mean``), work the split creates: the metrics count it
apart from the changes users asked for.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sim.model.policy import Mechanism
from sim.model.reviewers import driver_team, only_area
from sim.scenario.staffing import CORE, DRIVER_CORE

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.gate import Gate
    from sim.model.review import ReviewBoard
    from sim.model.world import World


class Split(Mechanism):
    def build(self, world: World) -> None:
        sc = self.scenario
        config = sc.policy.split
        names = sc.area_names
        self.world = world
        self.stream = world.streams["policy"]
        self.drivers = sc.mechanism_drivers("split")
        self.indices = [names.index(d) for d in self.drivers]
        self.boards: dict[int, ReviewBoard] = {}
        self.gates: dict[int, Gate | None] = {}
        nova = self.policy.board
        for driver, a in zip(self.drivers, self.indices):
            movers = [r for r in nova.reviewers if r.role == CORE and r.weights[a] == 1.0] if config.experts_move else []
            first = world.new_reviewer_id()  # counted with the movers still in nova, so no id is reused
            nova.remove_reviewers(movers)
            for r in movers:
                r.weights = only_area(a, len(names))
            team = config.team_of(driver)
            members = driver_team(first, a, len(names), team.size, team.reviews_per_day, DRIVER_CORE, f"{driver}-core")
            self.boards[a] = world.add_board(driver, movers + members)
            self.gates[a] = world.add_gate(driver) if sc.gate.enabled else None
        self.followups = 0

    def route(self, change: Change) -> None:
        board = self.boards.get(change.area)
        if board is not None:
            change.board = board
            change.gate = self.gates[change.area]
        elif change.touches_interface and change.parent < 0:
            extra = self.stream.poisson(self.scenario.policy.split.interface_extra_defects)
            change.defects += extra
            change.defects_initial += extra

    def on_closed(self, change: Change) -> None:
        merged = not math.isnan(change.merged)
        if merged and change.touches_interface and change.parent < 0 and change.area not in self.boards:
            change.followups_open = len(self.indices)
            mean_delay = self.scenario.policy.split.followup_delay_days
            for a in self.indices:
                self.world.clock.after(self.stream.exponential(mean_delay), self._followup, change, a)

    def _followup(self, parent: Change, area: int) -> None:
        world = self.world
        self.followups += 1
        config = self.scenario.policy.split
        world.arrive(world.factory.make_followup(parent, area, world.clock.now(), self.stream,
                                                 median_size=config.followup_size_lines,
                                                 defects_mean=config.followup_defects_mean))

    def extra_records(self) -> dict[str, Any]:
        return {"followups_created": self.followups}

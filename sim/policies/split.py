"""Split repos: each split driver moves to its own repository with its own core team and gate.

A change in a split driver's area is reviewed by the driver's team (``team_of(driver)``
reviewers, each knowing only that driver; with ``experts_move``, the nova cores who know the
driver leave nova for its team) and gated in the driver's own gate: the driver repository's jobs
(``driver_jobs``), the driver's configuration jobs and, with ``third_party_gating``, its
third-party CI (the job tables are :func:`sim.model.ci.job_tables`). No background changes share
a driver gate. Nova's pipelines drop the split drivers' third-party CI, so nova's gate no longer pays
for resets caused by driver changes; a split driver's configuration jobs test nova code and stay in
nova's pipelines too (``config_jobs_in_nova``).

The price: the virt driver interface becomes a versioned API. A nova change touching it carries
``interface_extra_defects`` more latent defects on average (extra review rounds), and once it
merges each split driver must adopt it in a follow-up change of its own (uploaded after an
exponential delay of mean ``followup_delay_days``); the feature is usable when the last
follow-up merges (``Change.usable``). A follow-up is a small adoption change
(``followup_size_lines``, ``followup_defects_mean``), work the split creates: the metrics count it
apart from the changes users asked for.

Two more costs the 2014 thread argued about, both read off Juno's changes that crossed the driver
boundary (:func:`sim.calibrate.observe.split_costs`):

- **Breakage.** A merged nova change (outside the drivers, not touching the interface) breaks each
  split driver with probability ``areas.<driver>.breakage_share`` x ``breakage_scale``: in one
  repository its author fixed the driver in the same change. The driver's team uploads a fix (a
  follow-up, after an exponential delay of mean ``fix_delay_days``; another if one is abandoned),
  which its reviewers take first (a priority lane) and its author answers faster
  (``fix_response_factor``); with ``breakage_blocks_gate`` its gate merges
  nothing but fixes until they have merged (its changes wait, counted as gate time).
- **Cross-repository changes.** With ``cross_repo``, a driver change that touches code outside its
  driver (not ``driver_only``) needs a nova change as well: a small change in ``cross_repo_area``,
  reviewed by nova's cores, which the driver change depends on; the driver change enters its gate
  only once the nova change merged, and is abandoned if the nova change is.

Two readings of the driver teams' part, each a parameter:

- **Adoption is not optional.** A follow-up or a fix is what its driver needs to keep working;
  ``followup_abandon_factor`` multiplies the chance one is abandoned: that share of them (drawn
  at upload) have an author who may give up like any author, the others never do (infinite
  patience). A nova part of a cross-repository change serves an ordinary driver change and is
  abandoned like one.
- **Driver teams review interface changes.** With ``interface_review_share`` > 0, that share of a
  driver team member's picks go to the waiting nova changes touching the interface (a priority
  lane of the driver's board drawing from nova's queue; the member weighs every nova area 1). Such
  a review finds defects like a core's (a -1 sends the change back to its author), but its vote is
  a +1: only votes of nova's own reviewers count toward approval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sim.model.policy import Mechanism
from sim.model.reviewers import driver_team, only_area
from sim.scenario.staffing import CORE, DRIVER_CORE

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.gate import Gate, GateItem
    from sim.model.review import ReviewBoard
    from sim.model.reviewers import Reviewer
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
        self.breakages = 0
        self.companions = 0
        nova_areas = [n for n in names if not sc.areas[n].driver]
        area = config.cross_repo_area or max(nova_areas, key=lambda n: sc.areas[n].rate_per_day, default=None)
        self.cross_repo_area = names.index(area) if area is not None and config.cross_repo else -1
        self.breakage = {a: min(1.0, sc.areas[d].breakage_share * config.breakage_scale)
                         for d, a in zip(self.drivers, self.indices)}
        self.fix_for: dict[int, int] = {}  # open fix change id -> the driver area it repairs
        self.fixes: dict[int, list[Change]] = {a: [] for a in self.indices}  # open fixes per driver area
        self.fix_response = config.fix_response_factor
        for a in self.indices:
            if self.breakage[a]:  # a red gate is an emergency: the team reviews a waiting fix first
                self.boards[a].add_lane(1.0, self._fix_lane(a))
        self.broken: dict[int, int] = {a: 0 for a in self.indices}  # driver area -> fixes still to merge
        self.red: dict[int, list[GateItem]] = {a: [] for a in self.indices}  # items kept from a red gate
        self.depends_on: dict[int, Change] = {}  # driver change id -> its nova change
        self.waiting: dict[int, GateItem] = {}  # nova change id -> the driver change's item waiting for it
        self.abandon_factor = config.followup_abandon_factor
        self.visitors: set[int] = set()  # ids of the driver teams' members who review nova's interface changes
        self.interface_open: dict[int, Change] = {}  # open nova changes touching the interface (when visited)
        if config.interface_review_share > 0.0:
            self._visit_interface_changes(config.interface_review_share)

    def _visit_interface_changes(self, share: float) -> None:
        """Every driver team member gives ``share`` of their picks to nova's waiting interface changes."""
        nova = self.policy.board
        n = len(self.scenario.area_names)
        for a, board in self.boards.items():
            weights = [1.0 if b == a or b not in self.boards else 0.0 for b in range(n)]
            for reviewer in board.reviewers:
                reviewer.weights = list(weights)
                self.visitors.add(reviewer.id)
            board.add_lane(share, self._interface_lane, source=nova)

    def _interface_lane(self, reviewer: Reviewer) -> Iterable[Change]:
        """The lane of a visiting driver team member: nova's open interface changes (those waiting count)."""
        return self.interface_open.values()

    def approved(self, change: Change) -> bool | None:
        """A nova change a driver team member voted on: only nova's reviewers' votes approve it."""
        if not self.visitors or change.board is not self.policy.board:
            return None
        votes = change.votes
        if not any(v.id in self.visitors for v in votes):
            return None
        return sum(v.id not in self.visitors for v in votes) >= self.policy.votes_required

    def route(self, change: Change) -> None:
        board = self.boards.get(change.area)
        if board is not None:
            change.board = board
            change.gate = self.gates[change.area]
            if not change.driver_only and change.parent < 0 and self.cross_repo_area >= 0:
                self._nova_part(change)
        elif change.touches_interface and change.parent < 0:
            if self.visitors:
                self.interface_open[change.id] = change
            extra = self.stream.poisson(self.scenario.policy.split.interface_extra_defects)
            change.defects += extra
            change.defects_initial += extra

    def _fix_lane(self, area: int) -> Callable[[Reviewer], list[Change]]:
        """The priority lane of ``area``'s board: its open fixes (one list, kept up to date)."""
        fixes = self.fixes[area]

        def lane(reviewer: Reviewer) -> list[Change]:
            return fixes

        return lane

    def author_factor(self, change: Change) -> float:
        return self.fix_response if change.id in self.fix_for else 1.0

    def _nova_part(self, change: Change) -> None:
        """The nova change a cross-repository driver change depends on (arrives with it)."""
        nova = self._adoption_change(change, self.cross_repo_area)
        self.companions += 1
        self.depends_on[change.id] = nova
        self.world.arrive(nova)

    def gate_entry(self, item: GateItem) -> bool:
        change = item.change
        if change is None or change.area not in self.boards:
            return True
        nova = self.depends_on.get(change.id)
        if nova is not None and math.isnan(nova.merged):
            if math.isnan(nova.abandoned):
                self.waiting[nova.id] = item
            else:
                self._give_up(change)
            return False
        if self.broken[change.area] and change.id not in self.fix_for:
            self.red[change.area].append(item)
            return False
        return True

    def on_closed(self, change: Change) -> None:
        merged = not math.isnan(change.merged)
        area = change.area
        self.interface_open.pop(change.id, None)
        waiting = self.waiting.pop(change.id, None)
        if waiting is not None:  # a driver change waited for this nova change
            if merged:
                self.policy.enter_gate(waiting)
            else:
                self._give_up(waiting.change)  # type: ignore[arg-type]  # gate items of changes only
        fixed = self.fix_for.pop(change.id, -1)
        if fixed >= 0:
            self.fixes[fixed].remove(change)
            if not merged:  # the driver is still broken: its team tries again
                self._schedule_fix(self.world.changes[change.parent], fixed)
                return
            if not self.scenario.policy.split.breakage_blocks_gate:
                return
            self.broken[fixed] -= 1
            if not self.broken[fixed]:
                held, self.red[fixed] = self.red[fixed], []
                for item in held:
                    self.policy.enter_gate(item)
            return
        if not merged or change.parent >= 0 or area in self.boards:
            return
        config = self.scenario.policy.split
        if change.touches_interface:
            change.followups_open += len(self.indices)
            for a in self.indices:
                self.world.clock.after(self.stream.exponential(config.followup_delay_days), self._followup, change, a)
            return
        for a in self.indices:
            if self.breakage[a] and self.stream.uniform() < self.breakage[a]:
                self.breakages += 1
                change.followups_open += 1  # usable everywhere once every broken driver is fixed
                if config.breakage_blocks_gate:
                    self.broken[a] += 1
                self._schedule_fix(change, a)

    def _schedule_fix(self, breaking: Change, area: int) -> None:
        delay = self.stream.exponential(self.scenario.policy.split.fix_delay_days)
        self.world.clock.after(delay, self._fix, breaking, area)

    def _fix(self, breaking: Change, area: int) -> None:
        fix = self._adoption_change(breaking, area, kind="bug", needed=True)  # a bug fix: no feature freeze holds it
        self.fix_for[fix.id] = area
        self.fixes[area].append(fix)
        self.world.arrive(fix)

    def _give_up(self, change: Change) -> None:
        """The driver change's nova part was abandoned: so is the driver change, now."""
        now = self.world.clock.now()
        change.gate_time += now  # it waited for the gate since approval
        self.world.abandon(change, now)

    def _followup(self, parent: Change, area: int) -> None:
        self.followups += 1
        self.world.arrive(self._adoption_change(parent, area, needed=True))

    def _adoption_change(self, parent: Change, area: int, kind: str | None = None, *, needed: bool = False) -> Change:
        """A small change in ``area`` that exists because of ``parent`` (a follow-up, fix or nova part);
        ``needed``: its driver needs it (a follow-up or fix), so its author may never give up on it."""
        config = self.scenario.policy.split
        change = self.world.factory.make_followup(parent, area, self.world.clock.now(), self.stream,
                                                  median_size=config.followup_size_lines,
                                                  defects_mean=config.followup_defects_mean, kind=kind)
        factor = self.abandon_factor
        # Factor 1 draws nothing, so the records are those of the reading where authors give up alike.
        if needed and factor < 1.0 and (factor == 0.0 or self.stream.uniform() >= factor):
            change.patience = math.inf
        return change

    def extra_records(self) -> dict[str, Any]:
        return {"followups_created": self.followups, "driver_breakages": self.breakages,
                "cross_repo_nova_changes": self.companions}

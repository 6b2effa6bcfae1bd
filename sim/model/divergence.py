"""When a replication diverges: the budgets that stop it, and the one line that says why.

An unstable system (work arriving faster than the reviewers can review it) never reaches a steady
state: its open changes grow without bound and every engine event costs more, so a run would go on
for hours. The world checks two budgets of the scenario as changes arrive (``run.max_open_changes``
and ``run.max_events_per_day``) and stops the replication with :class:`~sim.errors.SimulationDiverged`,
whose message compares the offered review load with the review capacity of the board most of the
open changes wait on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.model.change import Change

CHECK_EVERY_ARRIVALS = 256  # arrivals between two checks of the events budget
FIRST_CHECK_DAY = 7.0  # the events budget is a rate: judged after a simulated week


def explain(scenario: Scenario, replication: int, now: float, reason: str, open_changes: Iterable[Change]) -> str:
    """One line: where the run stopped, which budget it broke, and offered load vs capacity."""
    head = f"{scenario.scenario.name} replication {replication} diverges at day {now:.0f}: {reason}"
    changes = list(open_changes)
    if not changes:
        return head
    names = scenario.area_names
    area, held = Counter(c.area for c in changes).most_common(1)[0]
    board = Counter(c.board for c in changes if c.area == area).most_common(1)[0][0]
    if board is None:
        return f"{head}; {held / len(changes):.0%} of the open changes are in area '{names[area]}'"
    board_areas = {c.area for c in changes if c.board is board}
    votes = scenario.review.votes_required
    arriving = sum(scenario.areas[names[a]].rate_per_day for a in board_areas)
    asked = arriving * votes
    capacity = sum(r.rate for r in board.reviewers)
    load = (f"its {len(board.reviewers)} reviewers offer {capacity:.1f} reviews/day and its areas ask at least "
            f"{asked:.1f} ({arriving:.1f} new changes/day x {votes} votes)")
    verdict = (f", {asked / capacity:.1f}x its capacity: lower areas.{names[area]}.rate_per_day or raise review "
               "capacity (review.cores, review.reviews_per_core_per_day)" if asked > capacity else
               ", within its capacity: the excess comes from revision rounds or the gate")
    return (f"{head}; {held / len(changes):.0%} of the open changes are in area '{names[area]}', on board "
            f"'{board.name}': {load}{verdict}")

"""Reviewer attention and engagement (sim.model.review): an area's attention weighs its changes until
their first core review; with review.engaged_priority a core goes back first to the changes they
reviewed before. Both are off by default (attention 1, priority 0), which leaves every result as
it was (the baseline check covers that)."""

from __future__ import annotations

import numpy as np
from test_policies import on_review_start, run_world, small

from sim.model.review import ReviewBoard


def test_an_engaged_core_takes_a_change_they_reviewed_before_whenever_one_waits() -> None:
    """With engaged_priority = 1, every pick of a core who has a waiting, eligible change they
    reviewed before is one of those changes (an idle core has nothing eligible waiting)."""
    from simtest import started_world

    world = started_world(small("review.engaged_priority=1.0"), 0, 4)
    nova: ReviewBoard = world.boards["nova"]
    checked = violations = 0

    def check(board, reviewer, change) -> None:
        nonlocal checked, violations
        engaged = [c for c in board.engaged.get(reviewer.id, []) if not c.closed]
        eligible = [c for c in engaged if c.id in board.position and board.may_take(reviewer, c)
                    and c.deadline() > world.clock.now()]
        if eligible or change in engaged:
            checked += 1
            if change not in engaged:
                violations += 1

    on_review_start(world, check)
    world.run()
    assert checked > 200, "engaged changes came back often enough to test"
    assert violations == 0, f"{violations} picks passed over a waiting change the core had reviewed"
    assert nova.track_engagement


def test_without_engagement_the_board_keeps_no_lane_and_no_list() -> None:
    world, _ = run_world(small(), seed=4)
    board = world.boards["nova"]
    assert not board.track_engagement and board.engaged == {} and board.lanes == []


def first_review_waits(world) -> dict[str, float]:
    names = world.scenario.area_names
    waits: dict[str, list[float]] = {}
    for c in world.changes:
        if c.first_review == c.first_review and c.arrived >= world.window[0]:
            waits.setdefault(names[c.area], []).append(c.first_review - c.arrived)
    return {area: float(np.median(v)) for area, v in waits.items()}


def test_an_areas_attention_shortens_its_wait_for_a_first_review() -> None:
    """The same arrivals (common random numbers): the driver area's new changes wait longer for their
    first core review when cores pay them little attention, and less when they pay much."""
    low, _ = run_world(small("areas.drv.attention=0.2"), seed=5)
    high, _ = run_world(small("areas.drv.attention=5.0"), seed=5)
    assert first_review_waits(low)["drv"] > 1.5 * first_review_waits(high)["drv"]
    # Attention is relative: what the driver area gains, the others lose.
    assert first_review_waits(low)["core"] < first_review_waits(high)["core"]

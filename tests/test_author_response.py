"""Per-area author response (areas.<a>.response_factor): the delay before an area's authors answer a
review with a new patch set is the shared delay times the area's factor (issue 14: a third reading
of a slow area, beside its changes' defects and the cores' attention). Default 1: records as before
(the baseline check covers that)."""

from __future__ import annotations

import pytest
from test_policies import Micro, micro_scenario


def test_an_areas_authors_answer_a_review_after_the_shared_delay_times_its_factor() -> None:
    """Exact timeline: two cores, reviews of exactly 1 day, one latent defect found by the first
    review, author delay exactly 2 days (log-sd 0). Area x (factor 1) merges at 1 + 2 + 1 = 4 days,
    area y (factor 3) at 1 + 6 + 1 = 8 days; both after two patch sets."""
    raw = micro_scenario([], cores=2, areas={"x": {"rate_per_day": 1e-9, "defects_mean": 0.0},
                                             "y": {"rate_per_day": 1e-9, "defects_mean": 0.0, "response_factor": 3.0}},
                         review={"detect_prob": 1.0},
                         authors={"stall_prob": 0.0, "response_median_days": 2.0, "response_sigma": 0.0})
    micro = Micro(raw)
    micro.at(0.0, "x", area=0)
    micro.at(0.0, "y", area=1)
    world = micro.world

    def with_a_defect() -> None:
        for change in micro.c.values():
            change.defects = 1

    world.clock.after(0.0, with_a_defect)  # after both arrivals (same time, scheduled later)
    micro.run()
    x, y = micro.c["x"], micro.c["y"]
    assert x.merged == pytest.approx(4.0) and y.merged == pytest.approx(8.0)
    assert x.author_time == pytest.approx(2.0) and y.author_time == pytest.approx(6.0)
    assert x.patch_sets == y.patch_sets == 2

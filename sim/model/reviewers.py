"""Reviewers: who they are, how fast they review, which areas they know."""

from __future__ import annotations

from sim.engine.rng import Stream
from sim.scenario import Scenario
from sim.scenario.staffing import CORE, activity, core_time_share


class Reviewer:
    """A reviewer with a capacity (reviews of a median-size change per day) and area weights.

    ``weights[a]`` is the relative chance the reviewer picks a change of area ``a`` over one of
    equal attractiveness in an area of weight 1; 0 means the reviewer never reviews that area.
    """

    __slots__ = ("id", "name", "role", "rate", "weights", "busy", "busy_days", "reviews", "review_start",
                 "review_work")

    def __init__(self, id: int, name: str, role: str, rate: float, weights: list[float]) -> None:
        self.id = id
        self.name = name
        self.role = role
        self.rate = rate
        self.weights = weights
        self.busy = False
        self.busy_days = 0.0  # busy time inside the measurement window
        self.reviews = 0  # reviews finished inside the measurement window
        self.review_start = 0.0
        self.review_work = 0.0  # work days of the review under way (calendar days without a working week)


def expertise_weights(scenario: Scenario, n_reviewers: int, stream: Stream) -> list[list[float]]:
    """Area weights of each of ``n_reviewers`` cores.

    For each area, round(expert_share x n) cores drawn at random know it (weight 1); the others
    have weight ``review.non_expert_weight``.
    """
    areas = list(scenario.areas.values())
    weights = [[scenario.review.non_expert_weight] * len(areas) for _ in range(n_reviewers)]
    for a, area in enumerate(areas):
        k = round(area.expert_share * n_reviewers)
        order = sorted(range(n_reviewers), key=lambda _i: stream.uniform())
        for r in order[:k]:
            weights[r][a] = 1.0
    return weights


def only_area(area: int, n_areas: int) -> list[float]:
    """Selection weights of a reviewer who reviews only ``area`` (a lieutenant, a driver team member)."""
    return [1.0 if b == area else 0.0 for b in range(n_areas)]


def driver_team(first_id: int, area: int, n_areas: int, size: int, rate: float, role: str, label: str) -> list[Reviewer]:
    """``size`` reviewers of capacity ``rate`` who review only ``area``, with ids from ``first_id``."""
    weights = only_area(area, n_areas)
    return [Reviewer(first_id + i, f"{label}-{i}", role, rate, weights) for i in range(size)]


def core_team(scenario: Scenario, stream: Stream, *, first_id: int = 0) -> list[Reviewer]:
    """The core reviewers of ``scenario``: capacity x activity x the share of their time the policy
    leaves them (:func:`sim.scenario.staffing.core_time_share`), expertise from ``stream``."""
    review = scenario.review
    n = review.cores
    weights = expertise_weights(scenario, n, stream)
    levels = activity(n, review.activity_sigma, review.reference_cores)
    rate = review.reviews_per_core_per_day * core_time_share(scenario)
    return [Reviewer(first_id + i, f"core-{i}", CORE, rate * levels[i], weights[i]) for i in range(n)]

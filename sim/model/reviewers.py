"""Reviewers: who they are, how fast they review, which areas they know."""

from __future__ import annotations

from sim.rng import Stream
from sim.scenario import Scenario


class Reviewer:
    """A reviewer with a capacity (reviews of a median-size change per day) and area weights.

    ``weights[a]`` is the relative chance the reviewer picks a change of area ``a`` over one of
    equal attractiveness in an area of weight 1; 0 means the reviewer never reviews that area.
    """

    __slots__ = ("id", "name", "role", "rate", "weights", "busy", "busy_days", "reviews", "review_start")

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


def core_team(scenario: Scenario, stream: Stream, *, first_id: int = 0, count: int | None = None) -> list[Reviewer]:
    """The core reviewers of ``scenario`` (``count`` overrides ``review.cores``)."""
    n = scenario.review.cores if count is None else count
    weights = expertise_weights(scenario, n, stream)
    rate = scenario.review.reviews_per_core_per_day
    return [Reviewer(first_id + i, f"core-{i}", "core", rate, weights[i]) for i in range(n)]

"""Staffing: who reviews, where every reviewer comes from, and each role's review capacity.

Capacity is nominal: reviews of a median-size change per day, before the cycle's weekly
activity profile and the working week modulate it (``review.weekly_activity``,
``cycle.weekend_activity``); a reviewer's capacity is the ``rate`` of :mod:`sim.model.reviewers`.

The monolith has one role, nova's cores (``review.cores`` people whose capacities are
``review.reviews_per_core_per_day`` times their activity, :func:`activity`). A policy adds roles:
lieutenants (``policy.lieutenants``, on nova's board) and the teams of split drivers
(``policy.split``, each on its driver's board). ``policy.staffing.from_cores`` says who staffs
them: that share of the new roles' capacity is time taken from nova's cores (every core gives
the same fraction of its capacity), the rest is new people. At 1, the default, every policy has
the monolith's total review capacity (a fair comparison); at 0 the new roles are added people.

Pure functions of the scenario: the model builds its reviewers from them, run.json and
summary.csv report them, the schema refuses a staffing that would leave cores no time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

CORE, LIEUTENANT, DRIVER_CORE = "core", "lieutenant", "driver-core"
ROLES: tuple[str, ...] = (CORE, LIEUTENANT, DRIVER_CORE)
MIN_CORE_TIME = 0.1  # cores keep at least this share of their capacity for their own reviews


@dataclass(frozen=True)
class Role:
    """``headcount`` reviewers of one role on one board, with ``reviews_per_day`` between them;
    ``team`` names the driver a lieutenant or driver team serves ("" for nova's cores)."""

    role: str
    board: str
    team: str
    headcount: int
    reviews_per_day: float


def activity(cores: int, sigma: float, reference: int | None = None) -> list[float]:
    """Relative activity of each roster member, most active first.

    The reference roster's members sit at evenly spaced quantiles of a lognormal with log-sd
    ``sigma``, scaled to mean 1 over that roster. A smaller roster keeps its most active members;
    members beyond the reference roster have its median activity.
    """
    n_ref = reference or cores
    # ndtri is the standard normal quantile, what scipy.stats.norm.ppf computes, without importing
    # scipy.stats (~1 s per process).
    raw = np.exp(sigma * ndtri(1.0 - (np.arange(n_ref) + 0.5) / n_ref))
    scale = float(raw.mean())  # the lognormal's median, exp(0) = 1, becomes 1 / scale
    return (raw[:cores] / scale).tolist() + [1.0 / scale] * max(0, cores - n_ref)


def own_core_capacity(scenario: Scenario) -> float:
    """The cores' capacity before a policy takes any of their time (reviews/day)."""
    review = scenario.review
    return review.reviews_per_core_per_day * sum(activity(review.cores, review.activity_sigma, review.reference_cores))


def added_roles(scenario: Scenario) -> list[Role]:
    """The roles the policy's mechanisms add, in the order they are built."""
    policy = scenario.policy
    roles: list[Role] = []
    for mechanism in policy.mechanisms:
        if mechanism == "lieutenants":
            config = policy.lieutenants
            for driver in scenario.mechanism_drivers("lieutenants"):
                roles.append(Role(LIEUTENANT, "nova", driver, config.per_driver, config.per_driver * config.reviews_per_day))
        elif mechanism == "split":
            for driver in scenario.mechanism_drivers("split"):
                team = policy.split.team_of(driver)
                roles.append(Role(DRIVER_CORE, driver, driver, team.size, team.size * team.reviews_per_day))
    return roles


def taken_from_cores(scenario: Scenario) -> float:
    """Review capacity the new roles take from nova's cores (reviews/day)."""
    return scenario.policy.staffing.from_cores * sum(r.reviews_per_day for r in added_roles(scenario))


def core_time_share(scenario: Scenario) -> float:
    """The share of each core's own capacity left for reviewing as a core (1 = all of it)."""
    own = own_core_capacity(scenario)
    return 1.0 - taken_from_cores(scenario) / own if own > 0 else 1.0


def roster(scenario: Scenario) -> list[Role]:
    """Every role of the scenario with its headcount and capacity: nova's cores first."""
    cores = Role(CORE, "nova", "", scenario.review.cores, own_core_capacity(scenario) * core_time_share(scenario))
    return [cores, *added_roles(scenario)]


def total_capacity(scenario: Scenario) -> float:
    """Every reviewer's capacity together (reviews/day)."""
    return sum(r.reviews_per_day for r in roster(scenario))


def core_rate_for(scenario: Scenario, capacity: float) -> float:
    """The ``review.reviews_per_core_per_day`` at which the cores' own capacity is ``capacity`` (reviews/day)."""
    return scenario.review.reviews_per_core_per_day * capacity / own_core_capacity(scenario)


def staffing_report(scenario: Scenario) -> dict[str, object]:
    """The staffing section of run.json: the source of the new roles and every role's capacity."""
    roles = roster(scenario)
    return {
        "from_cores": scenario.policy.staffing.from_cores,
        "taken_from_cores_reviews_per_day": taken_from_cores(scenario),
        "total_reviews_per_day": total_capacity(scenario),
        "roles": [vars(r) for r in roles],
    }

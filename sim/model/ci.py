"""CI job sets: the probability that a run passes, from per-job false-failure rates.

A run passes when every job passes and no latent defect is caught. Jobs are not simulated one by
one: the pass probability is the product of per-job pass rates, drawn once per run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from sim.scenario import JobGroup, Scenario


def jobs_pass_prob(groups: Iterable[JobGroup], extra_jobs: int = 0, extra_fail: float = 0.0) -> float:
    """P(no job fails falsely) = prod over jobs of (1 - p_j)."""
    log_p = sum(g.count * math.log1p(-g.false_failure_prob) for g in groups)
    log_p += extra_jobs * math.log1p(-extra_fail)
    return math.exp(log_p)


def job_count(groups: Iterable[JobGroup], extra_jobs: int = 0) -> int:
    """Number of jobs in a run."""
    return sum(g.count for g in groups) + extra_jobs


def third_party_applies(driver: str, area: str, driver_areas: Sequence[str]) -> bool:
    """Does ``driver``'s third-party CI run on a change in ``area``?

    Like VMware Minesweeper (facts §3): it runs on its own driver's changes and on every change
    outside the virt drivers, and skips other drivers' changes.
    """
    return area == driver or area not in driver_areas


def per_area_pass(
    scenario: Scenario,
    groups: Sequence[JobGroup],
    *,
    extra_jobs: int = 0,
    extra_fail: float = 0.0,
    third_party_voting: bool,
) -> tuple[list[float], list[int]]:
    """Per-area pass probability and job count of a pipeline run (areas in scenario order).

    Third-party CIs count only when they vote (``third_party_voting``).
    """
    base_p = jobs_pass_prob(groups, extra_jobs, extra_fail)
    base_n = job_count(groups, extra_jobs)
    names = scenario.area_names
    drivers = [n for n in names if scenario.areas[n].driver]
    pass_by_area, jobs_by_area = [], []
    for area in names:
        p, n = base_p, base_n
        if third_party_voting:
            for driver, ci in scenario.gate.third_party.items():
                if third_party_applies(driver, area, drivers):
                    p *= (1.0 - ci.false_failure_prob) ** ci.jobs
                    n += ci.jobs
        pass_by_area.append(p)
        jobs_by_area.append(n)
    return pass_by_area, jobs_by_area

"""CI job sets: the probability that a run passes, from per-job false-failure rates.

A run passes when every job passes and no latent defect is caught. Jobs are not simulated one by
one: the pass probability is the product of per-job pass rates, drawn once per run.

A pipeline runs its repository's common jobs on every change, plus per-driver jobs (a driver's
third-party CI, its configuration jobs) on the changes they apply to: like VMware Minesweeper
(facts §3), a driver's jobs run on its own changes and on every change outside the virt drivers,
and skip other drivers' changes.
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


def driver_jobs_apply(driver: str, area: str, driver_areas: Sequence[str]) -> bool:
    """Do ``driver``'s own jobs (third-party CI, configuration jobs) run on a change in ``area``?"""
    return area == driver or area not in driver_areas


def per_area_pass(
    scenario: Scenario,
    groups: Sequence[JobGroup],
    *,
    extra_jobs: int = 0,
    extra_fail: float = 0.0,
    drivers: Sequence[str] = (),
    third_party_voting: bool = False,
) -> tuple[list[float], list[int]]:
    """Per-area pass probability and job count of a pipeline run (areas in scenario order).

    ``groups`` (+ ``extra_jobs`` at ``extra_fail`` each) run on every change; for each driver in
    ``drivers`` its configuration jobs (``gate.config_jobs_per_driver``) and, when
    ``third_party_voting``, its third-party CI join the run of the changes they apply to.
    """
    gate = scenario.gate
    base_p = jobs_pass_prob(groups, extra_jobs, extra_fail)
    base_n = job_count(groups, extra_jobs)
    own: dict[str, list[tuple[int, float]]] = {d: [(gate.config_jobs_per_driver, gate.config_job_false_failure_prob)]
                                               for d in drivers}
    if third_party_voting:
        for d in drivers:
            if d in gate.third_party:
                own[d].append((gate.third_party[d].jobs, gate.third_party[d].false_failure_prob))
    all_drivers = scenario.driver_areas
    pass_by_area, jobs_by_area = [], []
    for area in scenario.area_names:
        p, n = base_p, base_n
        for driver, jobs in own.items():
            if driver_jobs_apply(driver, area, all_drivers):
                for count, fail in jobs:
                    p *= (1.0 - fail) ** count
                    n += count
        pass_by_area.append(p)
        jobs_by_area.append(n)
    return pass_by_area, jobs_by_area

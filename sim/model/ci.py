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
from dataclasses import dataclass

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


def own_jobs(scenario: Scenario, drivers: Sequence[str], third_party_voting: bool) -> dict[str, list[tuple[int, float]]]:
    """Each driver's own jobs, as (count, false-failure probability) groups: its configuration jobs
    (``gate.config_jobs_per_driver``) and, when ``third_party_voting``, its third-party CI."""
    gate = scenario.gate
    own = {d: [(gate.config_jobs_per_driver, gate.config_job_false_failure_prob)] for d in drivers}
    if third_party_voting:
        for d in drivers:
            if d in gate.third_party:
                own[d].append((gate.third_party[d].jobs, gate.third_party[d].false_failure_prob))
    return own


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
    base_p = jobs_pass_prob(groups, extra_jobs, extra_fail)
    base_n = job_count(groups, extra_jobs)
    own = own_jobs(scenario, drivers, third_party_voting)
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


def split_drivers(scenario: Scenario) -> tuple[str, ...]:
    """The driver areas the policy moves to repositories of their own (none without split)."""
    return scenario.mechanism_drivers("split") if "split" in scenario.policy.mechanisms else ()


@dataclass(frozen=True)
class JobTables:
    """What a change's CI runs cost and risk, per area (in scenario order)."""

    check_pass: list[float]  # P(a check run has no false job failure)
    gate_pass: list[float]  # P(a gate run has no false job failure)
    gate_jobs: list[int]  # jobs in a gate run
    background_pass: float  # P(no false failure) of another project's change in the shared gate
    background_jobs: int  # its jobs (the integrated jobs, not nova's own driver jobs)
    check_nodes: list[int]  # test nodes a check run takes (its jobs but third-party CI, which runs elsewhere)
    gate_nodes: list[int]  # test nodes a gate run takes


def job_tables(scenario: Scenario) -> JobTables:
    """The check and gate job sets of every area under the scenario's policy.

    Nova's pipelines run the gate's (the check's) common jobs plus ``gate.extra_config_jobs`` on
    every change, and the own jobs of each driver still inside nova on the changes they apply to.
    A split driver's changes run in its own repository: ``policy.split.driver_jobs``, the driver's
    configuration jobs and, with ``policy.split.third_party_gating``, its third-party CI. With
    ``policy.split.config_jobs_in_nova`` a split driver's configuration jobs, which test nova code,
    also stay in nova's pipelines on the changes outside the drivers. Third-party CI runs on the
    vendor's machines: it takes no test node (``check_nodes``, ``gate_nodes``).
    """
    g = scenario.gate
    split = split_drivers(scenario)
    in_nova = tuple(d for d in scenario.driver_areas if d not in split)

    def nova(groups: Sequence[JobGroup]) -> tuple[list[float], list[int]]:
        return per_area_pass(scenario, groups, extra_jobs=g.extra_config_jobs, extra_fail=g.extra_job_false_failure_prob,
                             drivers=in_nova, third_party_voting=g.third_party_gating)

    check_pass, _ = nova(scenario.check.jobs)
    gate_pass, gate_jobs = nova(g.jobs)
    _, check_nodes = per_area_pass(scenario, scenario.check.jobs, extra_jobs=g.extra_config_jobs, drivers=in_nova)
    _, gate_nodes = per_area_pass(scenario, g.jobs, extra_jobs=g.extra_config_jobs, drivers=in_nova)
    config = scenario.policy.split
    if config.config_jobs_in_nova and g.config_jobs_per_driver:
        # The split drivers' configuration jobs test nova code: nova's pipelines keep them.
        kept_pass, kept_jobs = per_area_pass(scenario, (), drivers=split)
        for table in (check_pass, gate_pass):
            table[:] = [p * q for p, q in zip(table, kept_pass, strict=True)]
        for counts in (gate_jobs, check_nodes, gate_nodes):
            counts[:] = [n + k for n, k in zip(counts, kept_jobs, strict=True)]
    for driver in split:
        a = scenario.area_names.index(driver)
        p, n = per_area_pass(scenario, config.driver_jobs, drivers=(driver,), third_party_voting=config.third_party_gating)
        check_pass[a] = gate_pass[a] = p[a]
        gate_jobs[a] = n[a]
        _, on_nodes = per_area_pass(scenario, config.driver_jobs, drivers=(driver,))
        check_nodes[a] = gate_nodes[a] = on_nodes[a]
    background_pass, background_jobs = per_area_pass(scenario, g.jobs)
    return JobTables(check_pass, gate_pass, gate_jobs, background_pass[0], background_jobs[0], check_nodes, gate_nodes)


def nova_gate_job_probs(scenario: Scenario) -> list[float]:
    """Per-job false-failure probabilities of a non-driver change's run in nova's gate (the jobs
    :func:`job_tables` counts: common, extra configuration jobs, the own jobs of drivers in nova,
    and the split drivers' configuration jobs nova keeps)."""
    g = scenario.gate
    probs = [grp.false_failure_prob for grp in g.jobs for _ in range(grp.count)]
    probs += [g.extra_job_false_failure_prob] * g.extra_config_jobs
    split = split_drivers(scenario)
    in_nova = [d for d in scenario.driver_areas if d not in split]
    for groups in own_jobs(scenario, in_nova, g.third_party_gating).values():
        probs += [p for count, p in groups for _ in range(count)]
    if scenario.policy.split.config_jobs_in_nova:
        probs += [g.config_job_false_failure_prob] * (g.config_jobs_per_driver * len(split))
    return probs

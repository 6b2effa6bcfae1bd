"""The simulation against results that hold exactly: Erlang C, the gate's false-failure formula,
Little's law. Closed forms are unit-tested first against textbook values and an independent
formula, then the simulation is compared with them within 3 standard errors over replications.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from simtest import MMC, Z, assert_within_se, per_replication

from sim import theory
from sim.runs.runner import run_replications
from sim.scenario import load_scenario
from sim.validate import gate_only_scenario


def erlang_c_via_erlang_b(c: int, a: float) -> float:
    """Independent route: Erlang B by its recursion, then C = c B / (c - a (1 - B))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


# ------------------------------------------------------------------------------ closed forms


def test_erlang_c_textbook_value() -> None:
    # c = 5 servers, offered load a = lambda/mu = 4: P(wait) = 0.5541 (standard Erlang C table)
    assert theory.erlang_c(5, 4.0) == pytest.approx(0.554113, abs=1e-6)


def test_erlang_c_single_server_is_utilisation() -> None:
    for rho in (0.1, 0.5, 0.9):
        assert theory.erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)


@pytest.mark.parametrize("c", [1, 2, 5, 20, 60])
@pytest.mark.parametrize("load", [0.3, 0.8, 0.97])
def test_erlang_c_matches_erlang_b_recursion(c: int, load: float) -> None:
    a = load * c
    assert theory.erlang_c(c, a) == pytest.approx(erlang_c_via_erlang_b(c, a), rel=1e-10)


def test_erlang_c_saturated_queue_always_waits() -> None:
    assert theory.erlang_c(5, 5.0) == 1.0
    assert theory.erlang_c(5, 7.0) == 1.0
    assert theory.mmc_mean_wait(5.0, 1.0, 5) == math.inf


def test_mmc_mean_wait() -> None:
    assert theory.mmc_mean_wait(4.0, 1.0, 5) == pytest.approx(0.554113 / 1.0, abs=1e-6)  # C / (c mu - lambda)
    # M/M/1: W_q = rho / (mu - lambda)
    assert theory.mmc_mean_wait(0.5, 1.0, 1) == pytest.approx(0.5 / 0.5)
    assert theory.mmc_mean_wait(3.0, 4.0, 1) == pytest.approx(0.75 / 1.0)
    # time scales with 1 / mu
    assert theory.mmc_mean_wait(8.0, 2.0, 5) == pytest.approx(theory.mmc_mean_wait(4.0, 1.0, 5) / 2)


def test_false_failure_prob() -> None:
    assert theory.false_failure_prob([0.05] * 9) == pytest.approx(1 - 0.95**9, rel=1e-12)
    assert theory.false_failure_prob([0.1, 0.2]) == pytest.approx(1 - 0.9 * 0.8)
    assert theory.false_failure_prob([]) == 0.0


# ------------------------------------------------------------------------------ M/M/c


def test_mmc_scenario_is_an_mmc_queue(mmc) -> None:
    """The validation scenario has exactly the assumptions of M/M/5."""
    assert mmc.area_names == ("all",)
    area = mmc.areas["all"]
    assert area.defects_mean == 0.0 and area.kind_mix["bug"] == 1.0
    assert mmc.review.cores == 5 and mmc.review.votes_required == 1 and mmc.review.effort_cv == 1.0
    assert mmc.review.reviews_per_core_per_day == 1.0 and mmc.review.attractiveness_sigma == 0.0
    assert not (mmc.gate.enabled or mmc.check.enabled or mmc.authors.abandonment or mmc.cycle.feature_freeze)
    assert theory.mmc_mean_wait(area.rate_per_day, 1.0, 5) == pytest.approx(0.554, abs=5e-4)


def test_mmc_every_change_is_reviewed_once(mmc_run) -> None:
    c = mmc_run.changes
    done = c[c["merged"].notna()]
    assert len(done) > 0.95 * len(c)
    assert (done["core_reviews"] == 1).all() and (done["patch_sets"] == 1).all()
    assert c["abandoned"].isna().all()


def test_erlang_c_mean_wait_at_4_per_day(mmc_run, mmc) -> None:
    """mmc.toml as shipped: mean wait for a first review = Erlang C W_q = 0.554 d."""
    values = per_replication(mmc_run, "time_to_first_review_mean_days")
    assert_within_se(values, theory.mmc_mean_wait(4.0, 1.0, 5), "W_q at 4/day")


# At rho = 0.9 an empty M/M/5 needs ~1 / (c mu (1 - sqrt(rho))^2) ~ 76 days to forget its start; a
# 300-day warm-up makes the initial-transient bias negligible (see the report on sim/validate.py).
@pytest.mark.parametrize("rate", [3.0, 4.5])
def test_erlang_c_mean_wait_at_other_loads(rate: float) -> None:
    sc = load_scenario(MMC, [f"areas.all.rate_per_day={rate}", "run.warmup_days=300"])
    assert sc.areas["all"].rate_per_day == rate
    result = run_replications(sc, 30, 2, workers=2)
    values = per_replication(result, "time_to_first_review_mean_days")
    assert_within_se(values, theory.mmc_mean_wait(rate, 1.0, 5), f"W_q at {rate}/day")


def test_mmc_waits_increase_with_load() -> None:
    """Sanity of the comparison itself: the three loads give clearly different waits."""
    waits = [theory.mmc_mean_wait(r, 1.0, 5) for r in (3.0, 4.0, 4.5)]
    assert waits[0] < 0.2 < waits[1] < 1.0 < waits[2]


def test_mmc_utilisation_and_throughput(mmc_run) -> None:
    """Each core is busy lambda / (c mu) = 0.8 of the time; merges per week = lambda x 7."""
    assert_within_se(per_replication(mmc_run, "core_utilization"), 0.8, "utilisation")
    assert_within_se(per_replication(mmc_run, "reviews_per_core_per_week"), 4.0 * 7 / 5, "reviews/core/week")
    assert_within_se(per_replication(mmc_run, "arrivals_per_week"), 28.0, "arrivals/week")


def test_mmc_time_in_system_is_wait_plus_service(mmc_run) -> None:
    """Time to merge = wait + one exponential review: mean W_q + 1/mu."""
    c = mmc_run.changes
    window_start = 30.0
    merged = c[(c["merged"].notna()) & (c["arrived"] >= window_start)]
    per_rep = (merged["merged"] - merged["arrived"]).groupby(merged["replication"]).mean().to_numpy()
    assert_within_se(per_rep, theory.mmc_mean_wait(4.0, 1.0, 5) + 1.0, "W at 4/day")


def test_littles_law_on_mmc(mmc_run) -> None:
    """Time-average open changes (measured online) = lambda (W_q + 1/mu)."""
    expected = 4.0 * (theory.mmc_mean_wait(4.0, 1.0, 5) + 1.0)
    assert_within_se(mmc_run.littles_law["L"].to_numpy(), expected, "L on M/M/5")
    # and L = lambda W on the sample path up to the edge terms
    little = mmc_run.littles_law
    assert np.all(np.abs(little["identity_error"]) <= 1e-9 * little["L"])


# ------------------------------------------------------------------------------ gate alone


def test_gate_only_scenario_has_only_false_failures() -> None:
    sc = gate_only_scenario()
    assert sc.gate.enabled and not sc.check.enabled
    assert sc.areas["all"].defects_mean == 0.0


def test_gate_false_failure_fraction_matches_formula() -> None:
    per_job, jobs = 0.05, 9
    sc = gate_only_scenario(per_job, jobs)
    expected = theory.false_failure_prob([per_job] * jobs)
    result = run_replications(sc, 12, 3, workers=2, keep_records=True)
    values = per_replication(result, "gate_false_failure_fraction")
    assert_within_se(values, expected, "gate false-failure fraction")
    # Pooled over every completed nova run: a binomial proportion, SE from p (1 - p) / n.
    outcomes = [o for rec in result.records for log in rec.gates.values() for (_t, area, o, _j) in log.runs if area >= 0]
    assert set(outcomes) <= {0, 1}, "no true failures without defects"
    n = len(outcomes)
    p_hat = sum(outcomes) / n
    assert abs(p_hat - expected) <= Z * math.sqrt(expected * (1 - expected) / n)
    # No defects: every rejection is a false one.
    assert np.allclose(
        per_replication(result, "gate_rejections_per_merged"), per_replication(result, "gate_false_rejections_per_merged")
    )


def test_gate_false_failure_fraction_without_flaky_jobs_is_zero() -> None:
    sc = gate_only_scenario(0.0, 9)
    result = run_replications(sc, 2, 3, keep_records=True)
    assert np.all(per_replication(result, "gate_false_failure_fraction") == 0.0)
    assert np.all(per_replication(result, "gate_rejections_per_merged") == 0.0)
    # Resets still happen, but only behind other projects' changes that fail for real.
    causes = {cause for rec in result.records for log in rec.gates.values() for (_t, cause, *_rest) in log.resets}
    assert causes == {-1}


def test_gate_false_failures_scale_with_jobs() -> None:
    """More flaky jobs, more false failures: the fraction follows 1 - (1 - p)^n as n grows."""
    fractions = []
    for jobs in (3, 20):
        result = run_replications(gate_only_scenario(0.05, jobs), 4, 3)
        values = per_replication(result, "gate_false_failure_fraction")
        assert_within_se(values, theory.false_failure_prob([0.05] * jobs), f"{jobs} jobs")
        fractions.append(values.mean())
    assert fractions[0] < fractions[1]

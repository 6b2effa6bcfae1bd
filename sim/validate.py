"""Theory checks: the simulation against results that hold exactly.

- M/M/c: with one area, Poisson arrivals, exponential reviews, one vote, no CI and no
  abandonment, the mean wait for a first review is Erlang C's W_q (three loads).
- Gate: the fraction of gate runs that fail falsely is 1 - prod(1 - p_j).
- Little's law: on the stationary M/M/c scenario L = lambda W within sampling error; on the
  baseline the sample-path identity L = lambda W_clipped + carry-in holds exactly.

A statistical check passes when the theory value lies inside the Student-t interval of the mean
over replications at a family-wise error rate of 1 % over the statistical checks (Bonferroni), so
a correct model fails ``validate`` on one seed in a hundred; the printed interval is the 95 % CI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim import theory
from sim.paths import BASELINE_SCENARIO, MMC_SCENARIO
from sim.runs.metrics import ALL
from sim.runs.runner import RunResult, run_replications
from sim.runs.stats import mean_ci
from sim.scenario import Scenario, load_scenario

FAMILY_ALPHA = 0.01
STATISTICAL_CHECKS = 5


@dataclass(frozen=True)
class CheckResult:
    name: str
    expected: float
    simulated: float
    ci_low: float
    ci_high: float
    passed: bool


def _statistical(name: str, expected: float, values: list[float] | np.ndarray) -> CheckResult:
    """Pass when ``expected`` is inside the family-wise (Bonferroni) Student-t interval of the mean;
    report the 95 % interval of :func:`sim.runs.stats.mean_ci`."""
    x = np.asarray(values, dtype=float)
    mean, low, high, n = mean_ci(x)
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    # The upper tail's isf, kept rather than sim.runs.stats.t_quantile(1 - alpha, df) (a ppf): the two
    # differ in the last bit for most df, so swapping them would not leave the arithmetic unchanged.
    critical = float(stats.t.isf(FAMILY_ALPHA / STATISTICAL_CHECKS / 2, max(n - 1, 1)))
    return CheckResult(name, expected, mean, low, high, abs(mean - expected) <= critical * se)


def _per_rep(result: RunResult, metric: str, area: str = ALL) -> np.ndarray:
    """The values of ``metric`` for ``area`` in each replication of ``result``."""
    pr = result.per_replication
    return pr[(pr.metric == metric) & (pr.area == area)]["value"].to_numpy()


def mmc_scenario(arrival_rate: float, warmup_days: float = 300.0) -> Scenario:
    # 300 days: at 4.5/day (rho = 0.9) the queue needs ~80 days to forget its empty start.
    """The M/M/5 validation scenario at another arrival rate (changes/day)."""
    return load_scenario(MMC_SCENARIO, [f"areas.all.rate_per_day={arrival_rate}", f"run.warmup_days={warmup_days}"])


def check_erlang_c(arrival_rate: float, replications: int, seed: int, workers: int) -> CheckResult:
    sc = mmc_scenario(arrival_rate)
    result = run_replications(sc, replications, seed, workers=workers)
    mu, c = sc.review.reviews_per_core_per_day, sc.review.cores
    expected = theory.mmc_mean_wait(arrival_rate, mu, c)
    return _statistical(f"M/M/{c} mean wait for first review, lambda={arrival_rate}/d (days)", expected,
                        _per_rep(result, "time_to_first_review_mean_days"))


def gate_only_scenario(per_job: float = 0.05, jobs: int = 9) -> Scenario:
    """Changes with no defects, instant review and no check: only the gate's false failures remain."""
    return load_scenario(MMC_SCENARIO, [
        "gate.enabled=true", f"gate.jobs=[{{name='dsvm', count={jobs}, false_failure_prob={per_job}}}]",
        "gate.background_rate_per_day=10.0", "review.reviews_per_core_per_day=100.0", "run.warmup_days=10",
        "run.cycles=1",
    ])


def check_gate(replications: int, seed: int, workers: int) -> CheckResult:
    sc = gate_only_scenario()
    expected = theory.false_failure_prob(g.false_failure_prob for g in sc.gate.jobs for _ in range(g.count))
    result = run_replications(sc, replications, seed, workers=workers)
    return _statistical("gate runs failing falsely: 1 - prod(1 - p_j)", expected,
                        _per_rep(result, "gate_false_failure_fraction"))


def check_little_mmc(replications: int, seed: int, workers: int) -> CheckResult:
    """Time-average open changes (measured online) = lambda (W_q + 1/mu) from theory."""
    sc = load_scenario(MMC_SCENARIO)
    result = run_replications(sc, replications, seed, workers=workers)
    lam = sc.areas["all"].rate_per_day
    mu, c = sc.review.reviews_per_core_per_day, sc.review.cores
    expected = lam * (theory.mmc_mean_wait(lam, mu, c) + 1.0 / mu)
    return _statistical("Little's law on M/M/c: L = lambda (W_q + 1/mu) (changes)", expected, result.littles_law["L"])


def check_little_identity(replications: int, seed: int, workers: int) -> CheckResult:
    result = run_replications(load_scenario(BASELINE_SCENARIO), replications, seed, workers=workers)
    little = result.littles_law
    worst = float((little["identity_error"].abs() / little["L"]).max())
    return CheckResult("baseline: L = lambda W_clipped + carry-in (max relative error)", 0.0, worst, worst, worst,
                       worst < 1e-9)


def all_checks(replications: int = 20, seed: int = 1, workers: int = 1) -> list[CheckResult]:
    """Every theory check, in the order printed by ``python -m sim validate``."""
    results = [check_erlang_c(rate, replications, seed, workers) for rate in (3.0, 4.0, 4.5)]
    results.append(check_gate(replications, seed, workers))
    results.append(check_little_mmc(replications, seed, workers))
    results.append(check_little_identity(min(replications, 4), seed, workers))
    return results


def format_results(results: list[CheckResult]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'check':<{width}}  {'expected':>9}  {'simulated':>9}  95% CI                 result"]
    for r in results:
        ci = f"[{r.ci_low:.4g}, {r.ci_high:.4g}]"
        lines.append(f"{r.name:<{width}}  {r.expected:>9.4g}  {r.simulated:>9.4g}  {ci:<22} {'ok' if r.passed else 'FAILED'}")
    return "\n".join(lines)


def run_checks(replications: int = 20, seed: int = 1, workers: int = 1) -> bool:
    results = all_checks(replications, seed, workers)
    print(format_results(results))
    return all(r.passed for r in results)

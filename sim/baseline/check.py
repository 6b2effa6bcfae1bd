"""The regression test of ``sim check-baseline``: which metrics moved beyond noise, and the verdict.

A baseline (:mod:`sim.baseline.store`) holds the results of the policy scenarios run as one
comparison with common random numbers (replication *r* of every scenario sees the same draws).
The check re-runs the same scenarios with the same seed and replication count
(:func:`sim.baseline.run.check_baseline`) and compares every checked (scenario, area, metric)
with its stored value (:func:`compare_summaries`). This docstring is the test's one explanation;
the baseline's ``README.md``, ``baseline.json`` and the check's report state it in short.

With the same code, data and platform the rerun is bit-identical; the check is for a *model
change*. Its null hypothesis is "the change did not move this metric": the rerun is then another
set of n replications of the same distribution, at worst independent of the stored ones (a
change that alters how random numbers are consumed); common random numbers otherwise make the
two runs positively correlated, which only shrinks their difference, so the test stays
conservative. A metric has *moved* when

    |new mean - stored mean| > t * SE_diff,    SE_diff = sqrt(SE_stored^2 + SE_new^2)

(Welch's two-sample t test, :func:`sim.runs.stats.welch`; with equal variances
SE_diff = sqrt(2) * SE), where each SE is the sample sd over its replications / sqrt(n), read
back from the 95 % Student-t interval of :func:`sim.runs.stats.mean_ci` as
(ci_high - ci_low) / (2 t_0.975,n-1) (:func:`sim.runs.stats.se_from_ci`), and t is Student's
quantile for a two-sided level alpha / m with Welch-Satterthwaite degrees of freedom:
Bonferroni over the m checked metrics, so a change that moves nothing fails the whole check with
probability at most alpha (the family-wise error rate, 1 % by default, recorded in
baseline.json).

Statuses of a row: ``identical`` (same mean), ``ok`` (within the limit), ``moved`` (beyond it),
``undefined`` (defined in the baseline, not in the rerun), ``missing`` (no row in the rerun),
``skipped`` (n < 2 in the baseline, e.g. interface timings of a group without interface changes:
not checked and not counted in the family). A metric constant over replications (SE 0 on both
sides) moves on any difference beyond rounding (1e-9 relative).

Scenario files are read at run time; a file whose resolved scenario no longer hashes to the
recorded sha256 is a warning (the scenario changed: re-record the baseline deliberately), not a
failure by itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.baseline.manifest import UPDATE_COMMAND
from sim.baseline.settings import CHECKED_AREAS, CHECKED_METRICS, CONFIDENCE, DEFAULT_FWER
from sim.baseline.store import Baseline
from sim.baseline.text import format_table
from sim.runs.stats import se_from_ci, welch

CHECK_COLUMNS = [
    "scenario", "area", "metric",
    "old_mean", "old_ci_low", "old_ci_high", "old_n",
    "new_mean", "new_ci_low", "new_ci_high", "new_n",
    "diff", "se_diff", "df", "t", "limit", "status",
]
# Statuses of a check row; the first three pass.
PASSING = ("identical", "ok", "skipped")
FAILING = ("moved", "undefined", "missing")
CONSTANT_TOLERANCE = 1e-9  # relative difference below which a constant metric has not moved


def compare_summaries(
    old: pd.DataFrame,
    new: pd.DataFrame,
    metric_names: Sequence[str] = CHECKED_METRICS,
    areas: Sequence[str] = CHECKED_AREAS,
    fwer: float = DEFAULT_FWER,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """The test: one row (:data:`CHECK_COLUMNS`) per (scenario, area, metric) of ``old`` in
    ``metric_names`` x ``areas``, ordered as recorded, with its status (see the module docstring).

    Both frames have the summary columns; ``confidence`` is the level of their intervals.
    """
    keys = ["scenario", "area", "metric"]
    sel = old[old["metric"].isin(list(metric_names)) & old["area"].isin(list(areas))]
    stats_cols = ["mean", "ci_low", "ci_high", "n"]
    merged = sel[keys + stats_cols].merge(new[keys + stats_cols], on=keys, how="left", suffixes=("_old", "_new"),
                                          indicator=True)
    # Order: scenarios as recorded, then areas and metrics in the order checked.
    merged["_s"] = merged["scenario"].map({s: i for i, s in enumerate(dict.fromkeys(old["scenario"]))})
    merged["_a"] = merged["area"].map({a: i for i, a in enumerate(areas)})
    merged["_m"] = merged["metric"].map({m: i for i, m in enumerate(metric_names)})
    merged = merged.sort_values(["_s", "_a", "_m"]).reset_index(drop=True)
    old_n = merged["n_old"].fillna(0).astype(int)
    new_n = merged["n_new"].fillna(0).astype(int)
    old_se = se_from_ci(merged["ci_low_old"], merged["ci_high_old"], old_n, confidence)
    new_se = se_from_ci(merged["ci_low_new"], merged["ci_high_new"], new_n, confidence)
    testable = (old_n >= 2) & merged["mean_old"].notna()
    level = fwer / max(int(testable.sum()), 1)  # Bonferroni
    rows = []
    for i, r in merged.iterrows():
        diff = r["mean_new"] - r["mean_old"]
        se, df = welch(old_se[i], int(old_n[i]), new_se[i], int(new_n[i]))
        t_stat, limit, status = np.nan, np.nan, "skipped"
        if testable[i]:
            if r["_merge"] != "both":
                status = "missing"
            elif new_n[i] < 1 or not np.isfinite(r["mean_new"]):
                status = "undefined"
            elif diff == 0:
                status, t_stat = "identical", 0.0
                limit = t_limit(level, df) if se > 0 else np.inf
            elif se > 0:
                t_stat, limit = diff / se, t_limit(level, df)
                status = "moved" if abs(t_stat) > limit else "ok"
            else:  # constant on both sides: any difference beyond rounding is a move
                tol = CONSTANT_TOLERANCE * max(1.0, abs(r["mean_old"]))
                t_stat = math.copysign(math.inf, diff) if abs(diff) > tol else 0.0
                limit, status = np.inf, "moved" if abs(diff) > tol else "ok"
        rows.append((r["scenario"], r["area"], r["metric"],
                     r["mean_old"], r["ci_low_old"], r["ci_high_old"], int(old_n[i]),
                     r["mean_new"], r["ci_low_new"], r["ci_high_new"], int(new_n[i]),
                     diff, se, df, t_stat, limit, status))
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def t_limit(level: float, df: float) -> float:
    """Student's t beyond which a two-sided test at ``level`` rejects, with ``df`` degrees of freedom."""
    return float(stats.t.isf(level / 2, df))


@dataclass
class CheckResult:
    """The outcome of a check: one row per checked metric, the verdict, and warnings."""

    baseline: Baseline
    table: pd.DataFrame  # CHECK_COLUMNS, one row per (scenario, area, metric) of the baseline
    fwer: float  # the family-wise error rate the check used
    warnings: list[str]  # changed scenario files
    notes: list[str]  # changed package versions
    seconds: float  # wall time of the rerun, s

    @property
    def checked(self) -> pd.DataFrame:
        """The rows in the Bonferroni family (defined in the baseline)."""
        return self.table[self.table["status"] != "skipped"]

    @property
    def moved(self) -> pd.DataFrame:
        """The failing rows: moved beyond noise, newly undefined, or missing."""
        return self.table[self.table["status"].isin(FAILING)]

    @property
    def passed(self) -> bool:
        """True when no checked metric fails."""
        return self.moved.empty

    @property
    def counts(self) -> dict[str, int]:
        """Rows per status, every status of :data:`PASSING` and :data:`FAILING` (zero included)."""
        found = self.table["status"].value_counts()
        return {s: int(found.get(s, 0)) for s in (*PASSING, *FAILING)}

    @property
    def limits(self) -> tuple[float, float]:
        """The smallest and largest finite t limit over the checked rows (NaN when there is none)."""
        limit = self.checked["limit"].replace(np.inf, np.nan).dropna()
        return (limit.min(), limit.max()) if len(limit) else (np.nan, np.nan)

    def report(self) -> str:
        """The verdict as text, and the table of what moved (or of the three rows closest to the limit)."""
        m = len(self.checked)
        counts = self.counts
        lo, hi = self.limits
        lo_text, hi_text = f"{lo:.2f}", f"{hi:.2f}"
        limit_text = ("" if np.isnan(lo) else f" (t = {lo_text})" if lo_text == hi_text
                      else f" (t = {lo_text} to {hi_text})")
        lines = [
            (f"{len(self.baseline.scenarios)} scenarios x {self.baseline.replications} replications, "
             f"seed {self.baseline.seed}, in {self.seconds:.0f} s"),
            (f"test: family-wise error rate {self.fwer:g}, Bonferroni over {m} checked metrics (two-sided level "
             f"{self.fwer / max(m, 1):.2g} each): moved when |now - stored| > t x SE of the difference{limit_text}"),
        ]
        tally = ", ".join(f"{counts[s]} {s}" for s in ("identical", "ok", *FAILING) if counts[s])
        skipped = counts["skipped"]
        lines.append(f"checked {m}: {tally}" + (f" ({skipped} undefined in the baseline, not checked)" if skipped else ""))
        if self.passed:
            lines.append("PASS: no checked metric moved beyond noise")
            near = self.checked[self.checked["status"] == "ok"]
            if not near.empty:
                ratio = (near["t"].abs() / near["limit"]).sort_values(ascending=False)
                lines.append("closest to the limit:")
                lines.append(format_table(near.loc[ratio.index[:3]]))
        else:
            lines.append(f"FAIL: {len(self.moved)} metric(s) moved (if the change is intended, re-record the "
                         f"baseline with `{UPDATE_COMMAND}` and commit data/baseline/)")
            lines.append(format_table(self.moved))
        return "\n".join(lines)

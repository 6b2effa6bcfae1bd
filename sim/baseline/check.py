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

(Welch's two-sample t test from summary statistics, ``scipy.stats.ttest_ind_from_stats`` in
:func:`sim.runs.stats.welch_test`: its two-sided p-value below alpha / m; SE_diff and the degrees
of freedom of the reported limit from :func:`sim.runs.stats.welch`; with equal variances
SE_diff = sqrt(2) * SE), where each SE is the sample sd over its replications / sqrt(n), read
back from the 95 % Student-t interval of :func:`sim.runs.stats.mean_ci` as
(ci_high - ci_low) / (2 t_0.975,n-1) (:func:`sim.runs.stats.se_from_ci`), and t is Student's
quantile for a two-sided level alpha / m with Welch-Satterthwaite degrees of freedom:
Bonferroni over the m checked metrics, so a change that moves nothing fails the whole check with
probability at most alpha (the family-wise error rate, 1 % by default, recorded in
baseline.json).

Each checked row also carries its **minimum detectable change** (``mdc``, the metric's unit, and
``mdc_percent`` of the stored mean): the smallest shift in mean this same test, at the same level
alpha / m and the baseline's n replications, flags with 80 % power, from the recorded spread:
MDC = lambda* x sqrt(2) x SE_stored, lambda* the non-centrality at which a non-central t with
2 (n - 1) degrees of freedom exceeds the limit in absolute value with probability 0.8 (about
t + 0.85 for these n); the derivation is in :mod:`sim.baseline.power`.

Statuses of a row: ``identical`` (same mean), ``ok`` (within the limit), ``moved`` (beyond it),
``undefined`` (defined in the baseline, not in the rerun), ``missing`` (recorded, no row in the
rerun), ``unrecorded`` (defined in the rerun, no row in the baseline: a metric or area the model
now produces that was never recorded), ``skipped`` (n < 2 in the baseline, e.g. interface timings
of a group without interface changes: not checked and not counted in the family). A metric
constant over replications (SE 0 on both sides) moves on any difference beyond rounding (1e-9
relative). ``moved`` fails; so do the three *missing* statuses (``missing``, ``undefined``,
``unrecorded``), counted and listed apart from the moved ones.

Scenario files are read at run time; a changed input (a scenario file or a file it extends, or the
model source) is named once as a warning or note (:mod:`sim.baseline.causes`), not a failure by
itself; a failing check names it as the likely cause of what failed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sim.baseline.manifest import UPDATE_COMMAND
from sim.baseline.power import POWER, minimum_detectable_change, percent_of
from sim.baseline.settings import CHECKED_AREAS, CHECKED_METRICS, CONFIDENCE, DEFAULT_FWER
from sim.baseline.store import Baseline
from sim.baseline.text import format_mdc_table, format_table
from sim.runs.stats import se_from_ci, welch, welch_test

CHECK_COLUMNS = [
    "scenario", "area", "metric",
    "old_mean", "old_ci_low", "old_ci_high", "old_n",
    "new_mean", "new_ci_low", "new_ci_high", "new_n",
    "diff", "se_diff", "df", "t", "p", "limit", "status", "mdc", "mdc_percent",
]
# Statuses of a check row; the first three pass.
PASSING = ("identical", "ok", "skipped")
MOVED = ("moved",)
MISSING = ("missing", "undefined", "unrecorded")  # recorded but no longer produced, or produced but not recorded
FAILING = (*MOVED, *MISSING)
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
        t_stat, p_value, limit, status, mdc = np.nan, np.nan, np.nan, "skipped", np.nan
        if testable[i]:
            mdc = minimum_detectable_change(old_se[i], int(old_n[i]), level)
            if r["_merge"] != "both":
                status = "missing"
            elif new_n[i] < 1 or not np.isfinite(r["mean_new"]):
                status = "undefined"
            elif diff == 0:
                status, t_stat, p_value = "identical", 0.0, 1.0
                limit = t_limit(level, df) if se > 0 else np.inf
            elif se > 0:
                t_stat, p_value = welch_test(r["mean_old"], old_se[i], int(old_n[i]), r["mean_new"], new_se[i],
                                             int(new_n[i]))
                limit = t_limit(level, df)
                status = "moved" if p_value < level else "ok"
            else:  # constant on both sides: any difference beyond rounding is a move
                tol = CONSTANT_TOLERANCE * max(1.0, abs(r["mean_old"]))
                t_stat = math.copysign(math.inf, diff) if abs(diff) > tol else 0.0
                limit, status = np.inf, "moved" if abs(diff) > tol else "ok"
                p_value = 0.0 if status == "moved" else 1.0
        rows.append((r["scenario"], r["area"], r["metric"],
                     r["mean_old"], r["ci_low_old"], r["ci_high_old"], int(old_n[i]),
                     r["mean_new"], r["ci_low_new"], r["ci_high_new"], int(new_n[i]),
                     diff, se, df, t_stat, p_value, limit, status, mdc, percent_of(mdc, r["mean_old"])))
    rows.extend(unrecorded_rows(old, new, keys, metric_names, areas))
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def unrecorded_rows(old: pd.DataFrame, new: pd.DataFrame, keys: list[str], metric_names: Sequence[str],
                    areas: Sequence[str]) -> list[tuple]:
    """Rows (status ``unrecorded``) for checked metrics of recorded scenarios that the rerun defines
    and the baseline has no row for, ordered by scenario (as recorded), area and metric."""
    scenarios = list(dict.fromkeys(old["scenario"]))
    cand = new[new["scenario"].isin(scenarios) & new["metric"].isin(list(metric_names))
               & new["area"].isin(list(areas)) & (new["n"] >= 1) & np.isfinite(new["mean"].astype(float))]
    cand = cand.merge(old[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    cand = cand[cand["_merge"] == "left_only"]
    order = (cand["scenario"].map(scenarios.index), cand["area"].map(list(areas).index),
             cand["metric"].map(list(metric_names).index))
    cand = cand.assign(_s=order[0], _a=order[1], _m=order[2]).sort_values(["_s", "_a", "_m"])
    nan = np.nan
    return [(r["scenario"], r["area"], r["metric"], nan, nan, nan, 0, r["mean"], r["ci_low"], r["ci_high"],
             int(r["n"]), nan, nan, nan, nan, nan, nan, "unrecorded", nan, nan) for _, r in cand.iterrows()]


def t_limit(level: float, df: float) -> float:
    """Student's t beyond which a two-sided test at ``level`` rejects, with ``df`` degrees of freedom."""
    return float(stats.t.isf(level / 2, df))


@dataclass
class CheckResult:
    """The outcome of a check: one row per checked metric, the verdict, warnings and causes."""

    baseline: Baseline
    table: pd.DataFrame  # CHECK_COLUMNS, one row per (scenario, area, metric) of the baseline, then unrecorded ones
    fwer: float  # the family-wise error rate the check used
    warnings: list[str]  # changed input files (each once), scenarios changed for no file's reason
    notes: list[str]  # changed package versions, changed model source
    seconds: float  # wall time of the rerun, s
    causes: dict[str, str] = field(default_factory=dict)  # scenario -> likely cause of its failing rows

    @property
    def checked(self) -> pd.DataFrame:
        """The rows in the Bonferroni family (defined in the baseline)."""
        return self.table[~self.table["status"].isin(("skipped", "unrecorded"))]

    @property
    def failed(self) -> pd.DataFrame:
        """The failing rows: moved beyond noise, or missing (see :data:`MISSING`)."""
        return self.table[self.table["status"].isin(FAILING)]

    @property
    def moved(self) -> pd.DataFrame:
        """The rows that moved beyond noise."""
        return self.table[self.table["status"].isin(MOVED)]

    @property
    def missing(self) -> pd.DataFrame:
        """The rows recorded but no longer produced (``missing``, ``undefined``) or produced but not
        recorded (``unrecorded``)."""
        return self.table[self.table["status"].isin(MISSING)]

    @property
    def passed(self) -> bool:
        """True when no checked metric fails."""
        return self.failed.empty

    @property
    def level(self) -> float:
        """The two-sided level of each row's test (Bonferroni: fwer / m)."""
        return self.fwer / max(len(self.checked), 1)

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

    def cause(self, scenario: str) -> str:
        """The likely root cause of a failing row of ``scenario`` (empty when not diagnosed)."""
        return self.causes.get(scenario, "")

    def report(self) -> str:
        """The verdict as text: the test, the tally, each metric's minimum detectable change, then
        the moved and the missing rows apart (or the three rows closest to the limit) and the causes."""
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
             f"{self.level:.2g} each): moved when |now - stored| > t x SE of the difference{limit_text}"),
        ]
        tally = ", ".join(f"{counts[s]} {s}" for s in ("identical", "ok", *FAILING) if counts[s] and s != "unrecorded")
        skipped, unrecorded = counts["skipped"], counts["unrecorded"]
        lines.append(f"checked {m}: {tally}" + (f" ({skipped} undefined in the baseline, not checked)" if skipped else "")
                     + (f"; {unrecorded} unrecorded (produced now, not in the baseline)" if unrecorded else ""))
        lines.append(f"minimum detectable change (shift in mean flagged with {POWER:.0%} power at this level and "
                     f"{self.baseline.replications} replications, from the recorded spread; % of the stored mean):")
        lines.append(format_mdc_table(self.checked))
        if self.passed:
            lines.append("PASS: no checked metric moved beyond noise or went missing")
            near = self.checked[self.checked["status"] == "ok"]
            if not near.empty:
                ratio = (near["t"].abs() / near["limit"]).sort_values(ascending=False)
                lines.append("closest to the limit:")
                lines.append(format_table(near.loc[ratio.index[:3]]))
            return "\n".join(lines)
        n_missing = len(self.missing)
        lines.append(f"FAIL: {len(self.moved)} moved, {n_missing} missing (if the change is intended, re-record "
                     f"the baseline with `{UPDATE_COMMAND}` and commit data/baseline/)")
        if not self.moved.empty:
            lines.append(f"moved beyond noise ({len(self.moved)}):")
            lines.append(format_table(self.moved))
        if n_missing:
            gone = int(self.missing["status"].isin(("missing", "undefined")).sum())
            lines.append(f"missing ({n_missing}: {gone} recorded but no longer produced, {n_missing - gone} "
                         f"produced but not recorded):")
            lines.append(format_table(self.missing))
        causes: dict[str, list[str]] = {}
        for scenario in dict.fromkeys(self.failed["scenario"]):
            causes.setdefault(self.cause(scenario) or "not diagnosed", []).append(scenario)
        for cause, scenarios in causes.items():
            lines.append(f"cause ({', '.join(scenarios)}): {cause}")
        return "\n".join(lines)

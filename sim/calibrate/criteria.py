"""How well a calibrated model reproduces a cycle, judged as a statistician would (pure functions).

The observed quantiles are noisy themselves (bootstrap sd 4-5 % for all areas, 10-16 % per area,
more for revision-phase medians), so a target is met when the simulated value lies inside the
observed bootstrap 90 % interval widened by the simulation's own 95 % CI half-width, not when it
is within a flat band. The criteria (the calibration issue's targets):

1. all areas: time-to-merge median and p90 within 15 % of observed;
2. each area with at least ``min_changes`` changes: median and p90 inside the widened interval,
   and in no case more than 30 % off;
3. the median absolute relative error over all quantiles (median, p75, p90 of time to merge,
   revision and final phase) of those areas and all areas: at most 20 %;
4. orderings that carry the mechanism: revision-phase p75 vmwareapi > libvirt > compute > api >
   other; final-phase medians of those areas within a factor of 2.5; all-area p90/median of time
   to merge between 4.5 and 7;
5. merged per week within 10 %.

Besides the criteria, :func:`published_checks` sets simulated quantities the fit never saw beside
the published numbers they can be compared with (facts §1.2, §1.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.runs.metrics import ALL, KIND_AREAS

REVISION_ORDER: tuple[str, ...] = ("vmwareapi", "libvirt", "compute", "api", "other")
TTM_MEDIAN, TTM_P90 = "time_to_merge_median_days", "time_to_merge_p90_days"


def target_table(targets: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """Observed targets beside the simulated mean and its 95 % CI half-width.

    ``simulated`` is indexed by (area, metric) with columns ``mean`` and ``half``. Adds
    ``simulated``, ``sim_half``, ``rel_error`` (simulated / observed - 1), ``widened_low`` /
    ``widened_high`` (the observed 90 % interval widened by ``sim_half``) and ``inside``.
    """
    keys = list(zip(targets["area"], targets["metric"]))
    out = targets.copy()
    out["simulated"] = [simulated["mean"].get(k, np.nan) for k in keys]
    out["sim_half"] = [simulated["half"].get(k, np.nan) for k in keys]
    out["rel_error"] = out["simulated"] / out["observed"] - 1.0
    out["widened_low"] = out["low"] - out["sim_half"]
    out["widened_high"] = out["high"] + out["sim_half"]
    out["inside"] = (out["simulated"] >= out["widened_low"]) & (out["simulated"] <= out["widened_high"])
    return out


def major_areas(table: pd.DataFrame, min_changes: int) -> list[str]:
    """Areas (not ``all``) with at least ``min_changes`` merged changes, largest first."""
    areas = ~table["area"].isin([ALL, *KIND_AREAS])
    sizes = table[areas & table["phase"].isin(["time_to_merge"])].groupby("area")["n"].first()
    return list(sizes[sizes >= min_changes].sort_values(ascending=False).index)


def fit_criteria(table: pd.DataFrame, merged_per_week: tuple[float, float], min_changes: int = 100) -> pd.DataFrame:
    """One row per criterion: criterion, value, target, passed.

    ``table`` comes from :func:`target_table`; ``merged_per_week`` is (observed, simulated).
    """
    rows: list[tuple[str, float, str, bool]] = []

    def get(area: str, metric: str, column: str = "simulated") -> float:
        hit = table[(table["area"] == area) & (table["metric"] == metric)]
        return float(hit[column].iloc[0]) if len(hit) else np.nan

    for metric, label in ((TTM_MEDIAN, "median"), (TTM_P90, "p90")):
        err = get(ALL, metric, "rel_error")
        rows.append((f"all areas: time-to-merge {label} error", err, "|x| <= 15 %", bool(abs(err) <= 0.15)))
    majors = major_areas(table, min_changes)
    for area in majors:
        for metric, label in ((TTM_MEDIAN, "median"), (TTM_P90, "p90")):
            hit = table[(table["area"] == area) & (table["metric"] == metric)].iloc[0]
            ok = bool(hit["inside"]) and abs(hit["rel_error"]) <= 0.30
            rows.append((f"{area}: time-to-merge {label} error (inside widened interval: {bool(hit['inside'])})",
                         float(hit["rel_error"]), "inside and |x| <= 30 %", ok))
    quantiles = table[table["area"].isin([*majors, ALL]) & table["phase"].isin(["time_to_merge", "revision", "final"])]
    mae = float(quantiles["rel_error"].abs().median())
    rows.append((f"median |error| over {len(quantiles)} quantiles", mae, "<= 20 %", bool(mae <= 0.20)))
    order = [a for a in REVISION_ORDER if a in set(table["area"])]
    p75 = [get(a, "revision_phase_p75_days") for a in order]
    pairs = [x > y for x, y in zip(p75, p75[1:])]
    rows.append(("revision-phase p75 order " + " > ".join(order) + ": share of neighbours in order",
                 float(np.mean(pairs)) if pairs else np.nan, "1 (all)", bool(pairs) and all(pairs)))
    finals = [get(a, "final_phase_median_days") for a in majors]
    spread = max(finals) / min(finals) if finals and min(finals) > 0 else np.nan
    rows.append(("final-phase medians: largest / smallest", spread, "<= 2.5", bool(spread <= 2.5)))
    ratio = get(ALL, TTM_P90) / get(ALL, TTM_MEDIAN)
    rows.append(("all areas: time-to-merge p90 / median", ratio, "4.5 to 7", bool(4.5 <= ratio <= 7.0)))
    observed, simulated = merged_per_week
    err = simulated / observed - 1.0
    rows.append(("merged per week error", err, "|x| <= 10 %", bool(abs(err) <= 0.10)))
    return pd.DataFrame(rows, columns=["criterion", "value", "target", "passed"])


def prediction_errors(table: pd.DataFrame, areas: Sequence[str] | None = None) -> pd.DataFrame:
    """Predicted vs observed time-to-merge quantiles per area (out-of-sample check)."""
    rows = table[table["phase"] == "time_to_merge"]
    if areas is not None:
        rows = rows[rows["area"].isin(list(areas))]
    return rows[["area", "n", "metric", "observed", "low", "high", "simulated", "sim_half", "rel_error", "inside"]]


# (simulated metric, published value, what was published and by whom). Not fitted: checks.
PUBLISHED: tuple[tuple[str, float, str], ...] = (
    ("patch_sets_mean", 6.76, ("mean patch sets to merge, last 800 nova changes (facts §1.3, J. Gordon 2014-10-08; "
                               "counts rebases, which the model does not simulate)")),
    ("patch_sets_median", 4.0, "median patch sets to merge (same source)"),
    ("time_to_approval_median_days", 11.0, "median days until approved, all nova (same source)"),
    ("time_to_approval_mean_days", 28.0, "mean days until approved, all nova (same source)"),
    ("virt_time_to_approval_median_days", 18.0, ("median days until approved, patches touching nova/virt/ (same "
                                                 "source; simulated: driver areas)")),
    ("rechecks_per_patch_set", 0.749, "mean rechecks per patch revision (same source; median 0.43)"),
    ("core_reviews_per_core_per_day", 3.0, ("2.5-3.5 core reviews per core per day (facts §1.2, R. Collins 2013; "
                                            "counts stable branches and abandoned changes too)")),
)


def published_checks(extra: pd.DataFrame) -> pd.DataFrame:
    """Simulated all-area quantities (``extra``: metric, mean, half) beside published numbers."""
    simulated = extra.set_index("metric")
    rows = [(metric, simulated.loc[metric, "mean"], simulated.loc[metric, "half"], value, source)
            for metric, value, source in PUBLISHED if metric in simulated.index]
    frame = pd.DataFrame(rows, columns=["metric", "simulated", "sim_half", "published", "source"])
    frame["ratio"] = frame["simulated"] / frame["published"]
    return frame

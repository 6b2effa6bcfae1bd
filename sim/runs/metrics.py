"""Metrics of a replication and summaries over replications: pure functions on plain data.

Conventions (all times in days, windows half-open [start, end)):
- time-to-merge statistics use changes *merged* inside the measurement window, as the data do
  (a cycle's merged changes); first-review times use changes that *arrived* in the window;
- rates are per week of the window;
- ``area`` is ``all``, an area name, a group of areas (``group:drivers``, ``group:non-drivers``)
  or a kind of change (``kind:bug``, ``kind:blueprint``, ``kind:other``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from sim.model.change import RECORD_FIELDS
from sim.model.world import Records
from sim.runs.stats import mean_ci
from sim.scenario import KINDS

ALL = "all"
DRIVERS, NON_DRIVERS = "group:drivers", "group:non-drivers"
KIND_PREFIX = "kind:"
# Where the time of a merged change goes: record column -> metric (their sum is the time to merge).
TIME_BUCKETS: dict[str, str] = {
    "wait_review_days": "wait_review_days_mean",
    "review_days": "in_review_days_mean",
    "author_days": "author_days_mean",
    "ci_days": "ci_days_mean",
    "gate_days": "gate_days_mean",
    "freeze_days": "freeze_days_mean",
}
METRICS: tuple[str, ...] = (
    "time_to_merge_median_days",
    "time_to_merge_mean_days",
    "time_to_merge_p75_days",
    "time_to_merge_p90_days",
    "revision_phase_median_days",
    "revision_phase_p75_days",
    "revision_phase_p90_days",
    "final_phase_median_days",
    "final_phase_p75_days",
    "final_phase_p90_days",
    *TIME_BUCKETS.values(),
    "held_days_mean",
    "interface_usable_median_days",
    "interface_usable_p90_days",
    "time_to_first_review_median_days",
    "time_to_first_review_mean_days",
    "merged_per_week",
    "arrivals_per_week",
    "abandoned_fraction",
    "open_at_end",
    "revisions_per_merged",
    "core_reviews_per_merged",
    "core_utilization",
    "reviews_per_core_per_week",
    "gate_rejections_per_merged",
    "gate_false_rejections_per_merged",
    "gate_false_failure_fraction",
    "gate_resets_per_week",
    "gate_wasted_job_hours_per_week",
    "nova_gate_resets_per_week",
    "nova_gate_wasted_job_hours_per_week",
    "followups_per_week",
    "sim_events",
)


def changes_frame(records: Records) -> pd.DataFrame:
    """The change records of one replication as a DataFrame (one row per change)."""
    df = pd.DataFrame.from_records(records.changes, columns=list(RECORD_FIELDS))
    df.insert(0, "replication", records.replication)
    df.insert(0, "policy", records.policy)
    df.insert(0, "scenario", records.scenario_name)
    return df


def _in(t: pd.Series | np.ndarray, window: tuple[float, float]) -> np.ndarray:
    a, b = window
    t = np.asarray(t, dtype=float)
    return (t >= a) & (t < b)


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if len(values) else np.nan


def change_metrics(df: pd.DataFrame, window: tuple[float, float]) -> dict[str, float]:
    """Metrics computed from the change rows of one replication (any subset, e.g. one area)."""
    a, b = window
    weeks = (b - a) / 7.0
    merged = df[_in(df["merged"], window)]
    ttm = (merged["merged"] - merged["arrived"]).to_numpy()
    revision = (merged["last_upload"] - merged["arrived"]).to_numpy()
    final = (merged["merged"] - merged["last_upload"]).to_numpy()
    arrived = df[_in(df["arrived"], window)]
    reviewed = arrived[arrived["first_review"].notna()]
    first = (reviewed["first_review"] - reviewed["arrived"]).to_numpy()
    n_abandoned = int(_in(df["abandoned"], window).sum())
    closed = len(merged) + n_abandoned
    still_open = (df["arrived"] < b) & ~(df["merged"] < b) & ~(df["abandoned"] < b)
    n_merged = len(merged)
    interface = df[df["touches_interface"] & (df["parent"] < 0) & _in(df["usable"], window)]
    usable = (interface["usable"] - interface["arrived"]).to_numpy()
    values = {
        "time_to_merge_median_days": _quantile(ttm, 0.5),
        "time_to_merge_mean_days": _mean(ttm),
        "time_to_merge_p75_days": _quantile(ttm, 0.75),
        "time_to_merge_p90_days": _quantile(ttm, 0.9),
        "revision_phase_median_days": _quantile(revision, 0.5),
        "revision_phase_p75_days": _quantile(revision, 0.75),
        "revision_phase_p90_days": _quantile(revision, 0.9),
        "final_phase_median_days": _quantile(final, 0.5),
        "final_phase_p75_days": _quantile(final, 0.75),
        "final_phase_p90_days": _quantile(final, 0.9),
        **{metric: _mean(merged[column].to_numpy()) for column, metric in TIME_BUCKETS.items()},
        "held_days_mean": _mean(merged["held_days"].to_numpy()),
        "interface_usable_median_days": _quantile(usable, 0.5),
        "interface_usable_p90_days": _quantile(usable, 0.9),
        "time_to_first_review_median_days": _quantile(first, 0.5),
        "time_to_first_review_mean_days": _mean(first),
        "merged_per_week": n_merged / weeks,
        "arrivals_per_week": len(arrived) / weeks,
        "abandoned_fraction": n_abandoned / closed if closed else np.nan,
        "open_at_end": float(still_open.sum()),
        "revisions_per_merged": _mean(merged["patch_sets"].to_numpy()),
        "core_reviews_per_merged": _mean(merged["core_reviews"].to_numpy()),
        "followups_per_week": float((arrived["parent"] >= 0).sum()) / weeks,
    }
    return values


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else np.nan


def gate_metrics(records: Records, area: int | Iterable[int] | None, n_merged: int) -> dict[str, float]:
    """Gate metrics over all gates of a replication, for one area index or several (None: all areas).

    Resets are attributed to the area of the change whose failure caused them; ``nova_gate_*``
    count only nova's gate (the integrated queue), whatever repositories a policy adds.
    """
    a, b = records.window
    weeks = (b - a) / 7.0
    areas = None if area is None else ({area} if isinstance(area, int) else set(area))
    rejected = false_rejected = runs = false_runs = resets = nova_resets = 0
    wasted = nova_wasted = 0.0
    for name, log in records.gates.items():
        for t, item_area, outcome in log.exits:
            if item_area >= 0 and a <= t < b and (areas is None or item_area in areas) and outcome:
                rejected += 1
                false_rejected += outcome == 1
        for t, item_area, outcome, _jobs in log.runs:
            if item_area >= 0 and a <= t < b and (areas is None or item_area in areas):
                runs += 1
                false_runs += outcome == 1
        for t, cause_area, _restarted, hours, _nova in log.resets:
            if a <= t < b and (areas is None or cause_area in areas):
                resets += 1
                wasted += hours
                if name == "nova":
                    nova_resets += 1
                    nova_wasted += hours
    return {
        "gate_rejections_per_merged": rejected / n_merged if n_merged else np.nan,
        "gate_false_rejections_per_merged": false_rejected / n_merged if n_merged else np.nan,
        "gate_false_failure_fraction": false_runs / runs if runs else np.nan,
        "gate_resets_per_week": resets / weeks,
        "gate_wasted_job_hours_per_week": wasted / weeks,
        "nova_gate_resets_per_week": nova_resets / weeks,
        "nova_gate_wasted_job_hours_per_week": nova_wasted / weeks,
    }


def reviewer_metrics(records: Records) -> dict[str, float]:
    """Utilisation and load of nova's core reviewers (role ``core``, wherever they review), pooled."""
    a, b = records.window
    days = b - a
    cores = [r for r in records.reviewers if r[2] == "core"]
    n = len(cores)
    return {
        "core_utilization": sum(r[3] for r in cores) / (n * days) if n else np.nan,
        "reviews_per_core_per_week": sum(r[4] for r in cores) / n / (days / 7.0) if n else np.nan,
    }


def reviewers_frame(records: Records) -> pd.DataFrame:
    """One row per reviewer: board, name, role, busy days and reviews inside the window, reviews per week."""
    df = pd.DataFrame.from_records(records.reviewers, columns=["board", "reviewer", "role", "busy_days", "reviews"])
    a, b = records.window
    df["reviews_per_week"] = df["reviews"] / ((b - a) / 7.0)
    df.insert(0, "replication", records.replication)
    df.insert(0, "policy", records.policy)
    df.insert(0, "scenario", records.scenario_name)
    return df


def replication_metrics(records: Records, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tidy metrics of one replication: columns replication, area, metric, value."""
    if df is None:
        df = changes_frame(records)
    rows: list[tuple[int, str, str, float]] = []
    rep = records.replication
    names = records.area_names
    drivers = [i for i, name in enumerate(names) if name in records.driver_areas]
    others = [i for i, name in enumerate(names) if name not in records.driver_areas]
    groups: list[tuple[str, int | list[int] | None, pd.DataFrame]] = [(ALL, None, df)]
    # An area literally named "all" (a one-area scenario) is the aggregate itself: count it once.
    groups += [(name, i, df[df["area"] == name]) for i, name in enumerate(names) if name != ALL]
    if drivers and others:
        is_driver = df["area"].isin(records.driver_areas)
        groups += [(DRIVERS, drivers, df[is_driver]), (NON_DRIVERS, others, df[~is_driver])]
    groups += [(KIND_PREFIX + kind, None, df[df["kind"] == kind]) for kind in KINDS]
    for name, index, sub in groups:
        values = change_metrics(sub, records.window)
        n_merged = round(values["merged_per_week"] * (records.window[1] - records.window[0]) / 7.0)
        if name == ALL or not name.startswith(KIND_PREFIX):
            values.update(gate_metrics(records, index, n_merged))
        if index is None and name == ALL:
            values.update(reviewer_metrics(records))
            values["sim_events"] = float(records.sim_events)
        rows += [(rep, name, metric, value) for metric, value in values.items()]
    return pd.DataFrame(rows, columns=["replication", "area", "metric", "value"])


def open_series(changes: pd.DataFrame, window: tuple[float, float], step_days: float = 1.0) -> pd.DataFrame:
    """Open changes (arrived, neither merged nor abandoned) at each step of the window, per replication.

    Columns: replication, day (days since the window's start), open.
    """
    a, b = window
    times = np.arange(a, b, step_days)
    frames = []
    for rep, c in changes.groupby("replication", sort=True):
        arrived = np.sort(c["arrived"].to_numpy())
        closed = np.sort(np.fmin(c["merged"].fillna(np.inf), c["abandoned"].fillna(np.inf)).to_numpy())
        count = np.searchsorted(arrived, times, side="right") - np.searchsorted(closed, times, side="right")
        frames.append(pd.DataFrame({"replication": rep, "day": times - a, "open": count}))
    return pd.concat(frames, ignore_index=True)


def summarize(per_replication: pd.DataFrame, scenario: str, policy: str) -> pd.DataFrame:
    """``summary.csv`` rows: scenario, policy, area, metric, mean, ci_low, ci_high, n."""
    rows = []
    for (area, metric), group in per_replication.groupby(["area", "metric"], sort=False):
        mean, low, high, n = mean_ci(group["value"])
        rows.append((scenario, policy, area, metric, mean, low, high, n))  # n = 0: undefined in every replication
    return pd.DataFrame(rows, columns=["scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n"])


def littles_law(records: Records, df: pd.DataFrame | None = None) -> dict[str, float]:
    """Little's law over the measurement window [a, b) of one replication.

    ``L`` is the time-average number of open changes measured online by the world (an
    independent code path from the records). ``lambda_W`` is arrival rate x mean time in system
    of changes arriving in the window, each clipped at b. ``carry_in`` is the open time inside
    the window of changes that arrived before it. On every run the sample-path identity
    ``L = lambda_W + carry_in / T`` holds exactly (``identity_error`` ~ 0); in a stationary
    system ``L ~ lambda_W`` up to an edge term of order W / T.
    """
    if df is None:
        df = changes_frame(records)
    a, b = records.window
    span = b - a
    end = np.fmin(np.fmin(df["merged"].fillna(np.inf), df["abandoned"].fillna(np.inf)), b).to_numpy()
    arrived = df["arrived"].to_numpy()
    inside = (arrived >= a) & (arrived < b)
    before = arrived < a
    sojourn = end[inside] - arrived[inside]
    carry_in = float(np.clip(end[before] - a, 0.0, None).sum())
    lam = inside.sum() / span
    w = float(sojourn.mean()) if len(sojourn) else 0.0
    big_l = records.open_time_integral / span
    return {
        "L": big_l,
        "lambda": lam,
        "W": w,
        "lambda_W": lam * w,
        "carry_in": carry_in / span,
        "identity_error": big_l - lam * w - carry_in / span,
    }

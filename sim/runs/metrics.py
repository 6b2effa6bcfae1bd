"""Metrics of a replication and summaries over replications: pure functions on plain data.

Conventions (all times in days, windows half-open [start, end)):
- time-to-merge statistics use changes *merged* inside the measurement window, as the data do
  (a cycle's merged changes); first-review times use changes that *arrived* in the window;
- rates are per week of the window;
- ``area`` is ``all``, an area name, a group of areas (``group:drivers``, ``group:non-drivers``)
  or a kind of change (``kind:bug``, ``kind:blueprint``, ``kind:other``);
- a ratio whose denominator is zero (the abandoned share when nothing closed, rechecks per patch
  set when nothing merged, a load per core without cores) is undefined: NaN, never 0. Summaries
  skip undefined values (:func:`sim.runs.stats.mean_ci`, pandas' ``mean``); a replication in
  which nothing closed says nothing about the share of closed changes that were abandoned.

This is the one metric engine: the replication metrics of runs, comparisons and the baseline
(:func:`replication_metrics`) and the calibration's (:func:`sim.calibrate.fit.calibration_metrics`)
are built from the same functions (window selection, phases, quantiles, rates, ratios).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

from sim.model.nodes import GATE as GATE_PIPELINE
from sim.model.records import RECORD_FIELDS, Records, ReviewerRecord
from sim.runs.stats import mean_ci
from sim.scenario import KINDS
from sim.scenario.staffing import ROLES

ALL = "all"
DRIVERS, NON_DRIVERS = "group:drivers", "group:non-drivers"
KIND_PREFIX = "kind:"
KIND_AREAS: tuple[str, ...] = tuple(KIND_PREFIX + kind for kind in KINDS)  # the per-kind ``area`` labels
# The phases of a merged change: name -> (the record column it starts at, the one it ends at).
PHASES: dict[str, tuple[str, str]] = {
    "time_to_merge": ("arrived", "merged"),
    "revision_phase": ("arrived", "last_upload"),
    "final_phase": ("last_upload", "merged"),
}
QUANTILE_NAMES: dict[float, str] = {0.5: "median", 0.75: "p75", 0.9: "p90"}  # the quantiles reported per phase
# Where the time of a merged change goes: record column -> metric (their sum is the time to merge).
TIME_BUCKETS: dict[str, str] = {
    "wait_review_days": "wait_review_days_mean",
    "review_days": "in_review_days_mean",
    "author_days": "author_days_mean",
    "ci_days": "ci_days_mean",
    "gate_days": "gate_days_mean",
    "freeze_days": "freeze_days_mean",
}
def role_metric(role: str) -> str:
    """A reviewer role as the stem of a metric name: ``driver-core`` -> ``driver_core``."""
    return role.replace("-", "_")


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
    "interface_unusable_fraction",
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
    "followups_merged_per_week",
    "followup_time_to_merge_median_days",
    "review_capacity_per_day",
    *(f"{role_metric(role)}_capacity_per_day" for role in ROLES),
    *(f"{role_metric(role)}_headcount" for role in ROLES),
    "sim_events",
)


# Metrics of the replication as a whole (reviewers, roster, engine): reported for area ``all`` only.
WHOLE_RUN_METRICS: frozenset[str] = frozenset({
    "core_utilization", "reviews_per_core_per_week", "review_capacity_per_day", "sim_events",
    *(f"{role_metric(role)}_capacity_per_day" for role in ROLES),
    *(f"{role_metric(role)}_headcount" for role in ROLES),
})


def changes_frame(records: Records) -> pd.DataFrame:
    """The change records of one replication as a DataFrame (one row per change)."""
    df = pd.DataFrame.from_records(records.changes, columns=list(RECORD_FIELDS))
    df.insert(0, "replication", records.replication)
    df.insert(0, "policy", records.policy)
    df.insert(0, "scenario", records.scenario_name)
    return df


class ChangeColumns:
    """The numeric columns of change rows as numpy arrays (one entry per change).

    ``rows[column]`` is a column, ``rows.where(mask)`` the rows where a boolean mask holds: the metrics
    select many subsets of one replication's rows (areas, kinds, windows), and selecting on plain
    arrays costs a small fraction of selecting on a DataFrame (no index, no string columns).
    """

    __slots__ = ("columns", "n")

    def __init__(self, columns: dict[str, np.ndarray], n: int) -> None:
        self.columns = columns
        self.n = n

    @classmethod
    def of(cls, df: pd.DataFrame) -> ChangeColumns:
        """The numeric and boolean columns of ``df``."""
        numbers = df.select_dtypes(include=["number", "bool"])
        return cls({column: numbers[column].to_numpy() for column in numbers.columns}, len(df))

    def __getitem__(self, key: str) -> np.ndarray:
        return self.columns[key]

    def where(self, mask: np.ndarray) -> ChangeColumns:
        """The rows where ``mask`` (one bool per row) holds."""
        return ChangeColumns({column: values[mask] for column, values in self.columns.items()}, int(mask.sum()))

    def __len__(self) -> int:
        return self.n


Rows: TypeAlias = "pd.DataFrame | ChangeColumns"  # change rows, as a frame or as arrays


def _select(rows: Rows, mask: np.ndarray) -> Rows:
    return rows.where(mask) if isinstance(rows, ChangeColumns) else rows[mask]


def kind_area(kind: str) -> str:
    """The ``area`` label of a kind of change, e.g. ``bug`` -> ``kind:bug``."""
    return KIND_PREFIX + kind


def in_window(times: pd.Series | np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Which ``times`` (days; NaN: never) fall inside the half-open ``window`` [start, end)."""
    a, b = window
    t = np.asarray(times, dtype=float)
    return (t >= a) & (t < b)


def merged_in_window(changes: Rows, window: tuple[float, float]) -> Rows:
    """The change rows that merged inside ``window`` (the data's population: a cycle's merged changes)."""
    return _select(changes, in_window(changes["merged"], window))


def abandoned_in_window(changes: Rows, window: tuple[float, float]) -> Rows:
    """The change rows that were abandoned inside ``window``."""
    return _select(changes, in_window(changes["abandoned"], window))


def per_week(count: float, window: tuple[float, float]) -> float:
    """``count`` events inside ``window`` (days) as a rate per week."""
    a, b = window
    return count / ((b - a) / 7.0)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN (undefined, never 0) when the denominator is 0."""
    return float(numerator / denominator) if denominator else np.nan


def abandoned_fraction(n_merged: int, n_abandoned: int) -> float:
    """Share of the changes closed (merged or abandoned) that were abandoned; NaN when none closed."""
    return ratio(n_abandoned, n_merged + n_abandoned)


def phase_days(merged: Rows, phase: str) -> np.ndarray:
    """Duration of ``phase`` (a key of :data:`PHASES`) of each merged change row, in days."""
    start, end = PHASES[phase]
    return np.asarray(merged[end]) - np.asarray(merged[start])


def quantiles(values: np.ndarray, qs: Iterable[float]) -> list[float]:
    """The quantiles ``qs`` of ``values`` (linear interpolation, same unit); NaN each when empty."""
    qs = list(qs)
    return [float(v) for v in np.quantile(values, qs)] if len(values) else [np.nan] * len(qs)


def quantile_metric(phase: str, q: float) -> str:
    """Metric name of quantile ``q`` of ``phase``, e.g. (``revision_phase``, 0.75) -> ``revision_phase_p75_days``."""
    return f"{phase}_{QUANTILE_NAMES[q]}_days"


def phase_quantiles(merged: Rows, phases: Iterable[str] = PHASES) -> dict[str, float]:
    """Median, p75 and p90 (days) of each of ``phases`` over the merged change rows ``merged``."""
    values: dict[str, float] = {}
    for phase in phases:
        values.update(zip((quantile_metric(phase, q) for q in QUANTILE_NAMES),
                          quantiles(phase_days(merged, phase), QUANTILE_NAMES)))
    return values


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else np.nan


def change_metrics(rows: Rows, window: tuple[float, float]) -> dict[str, float]:
    """Metrics computed from the change rows of one replication (any subset, e.g. one area).

    Follow-ups (``parent`` >= 0: a split driver adopting a nova interface change, fixing a driver a
    nova change broke, or the nova part of a cross-repository driver change) are work the
    policy creates, not changes users asked for: they are counted apart (``followups_*``) and left
    out of every other metric (time to merge, throughput, abandonment, reviews per change).
    """
    df = rows if isinstance(rows, ChangeColumns) else ChangeColumns.of(rows)
    is_followup = df["parent"] >= 0
    followups = df.where(is_followup)
    df = df.where(~is_followup) if len(followups) else df
    merged = merged_in_window(df, window)
    by_phase = phase_quantiles(merged)
    arrived = df.where(in_window(df["arrived"], window))
    reviewed = arrived.where(~np.isnan(arrived["first_review"]))
    first = reviewed["first_review"] - reviewed["arrived"]
    n_abandoned = int(in_window(df["abandoned"], window).sum())
    end = window[1]
    still_open = (df["arrived"] < end) & ~(df["merged"] < end) & ~(df["abandoned"] < end)
    n_merged = len(merged)
    interface = df.where(df["touches_interface"] & in_window(df["usable"], window))
    merged_followups = merged_in_window(followups, window)
    usable = quantiles(interface["usable"] - interface["arrived"], (0.5, 0.9))
    # The delay above counts only what became usable; this is the part that did not (censored).
    offered = df.where(df["touches_interface"] & in_window(df["arrived"], window))
    unusable = float((~(offered["usable"] < end)).mean()) if len(offered) else np.nan
    values = {
        "time_to_merge_median_days": by_phase.pop("time_to_merge_median_days"),
        "time_to_merge_mean_days": _mean(phase_days(merged, "time_to_merge")),
        **by_phase,  # time to merge p75 and p90, then the revision and final phases
        **{metric: _mean(merged[column]) for column, metric in TIME_BUCKETS.items()},
        "held_days_mean": _mean(merged["held_days"]),
        "interface_usable_median_days": usable[0],
        "interface_usable_p90_days": usable[1],
        "interface_unusable_fraction": unusable,
        "time_to_first_review_median_days": quantiles(first, (0.5,))[0],
        "time_to_first_review_mean_days": _mean(first),
        "merged_per_week": per_week(n_merged, window),
        "arrivals_per_week": per_week(len(arrived), window),
        "abandoned_fraction": abandoned_fraction(n_merged, n_abandoned),
        "open_at_end": float(still_open.sum()),
        "revisions_per_merged": _mean(merged["patch_sets"]),
        "core_reviews_per_merged": _mean(merged["core_reviews"]),
        "followups_per_week": per_week(float(in_window(followups["arrived"], window).sum()), window),
        "followups_merged_per_week": per_week(len(merged_followups), window),
        "followup_time_to_merge_median_days": quantiles(phase_days(merged_followups, "time_to_merge"), (0.5,))[0],
    }
    return values


def merged_history_metrics(merged: pd.DataFrame, driver_areas: Iterable[str]) -> dict[str, float]:
    """What the published numbers describe, over the merged change rows ``merged``: rechecks per
    patch set (NaN when nothing merged), mean and median patch sets, and the median and mean days
    from arrival to approval (also for the changes of ``driver_areas``: NaN when there are none)."""
    to_approval = merged["approved"] - merged["arrived"]
    virt = merged["area"].isin(list(driver_areas))
    return {
        "rechecks_per_patch_set": ratio(merged["rechecks"].sum(), merged["patch_sets"].sum()),
        "patch_sets_mean": float(merged["patch_sets"].mean()),
        "patch_sets_median": float(merged["patch_sets"].median()),
        "time_to_approval_median_days": float(to_approval.median()),
        "time_to_approval_mean_days": float(to_approval.mean()),
        "virt_time_to_approval_median_days": float(to_approval[virt].median()) if virt.any() else np.nan,
    }


def weekly_merge_counts(merged: pd.DataFrame, window: tuple[float, float]) -> np.ndarray:
    """Changes merged in each week of ``window`` (``merged``: rows merged inside it); a last,
    partial week counts with the week before it."""
    a, b = window
    weeks = round((b - a) / 7.0)
    week = ((merged["merged"] - a) // 7.0).astype(int).clip(upper=weeks - 1)
    return np.bincount(week, minlength=weeks)


@dataclass(frozen=True)
class GateArrays:
    """The gate logs of one replication, read once: the entries inside the measurement window, all
    gates concatenated in log order (gates in the order of ``Records.gates``).

    Runs and exits are those of nova's own changes (area >= 0); resets keep the background
    changes' ones (cause area -1): they count for the replication as a whole.
    """

    run_area: np.ndarray  # area index of each completed run
    run_false: np.ndarray  # whether it failed falsely (a flaky job)
    exit_area: np.ndarray  # area index of each item that left a gate
    exit_outcome: np.ndarray  # how it left (Outcome codes: 0 merged, 1 false, 2 true failure)
    reset_area: np.ndarray  # area index of the failing item that caused each reset (-1: background)
    reset_hours: np.ndarray  # job-hours each reset wasted
    reset_nova: np.ndarray  # whether the reset happened in nova's gate (the integrated queue)


def _log_table(values: list[float | int], width: int) -> np.ndarray:
    """A flat gate-log list (``GateLog.run_values`` etc.) as rows of ``width`` float columns."""
    return np.asarray(values, dtype=float).reshape(-1, width)


def gate_arrays(records: Records) -> GateArrays:
    """:class:`GateArrays` of ``records``: one pass over each gate log."""
    a, b = records.window
    runs, exits, resets, nova = [], [], [], []
    for name, log in records.gates.items():
        run = _log_table(log.run_values, 4)  # end, area, outcome, jobs
        runs.append(run[(run[:, 1] >= 0) & (run[:, 0] >= a) & (run[:, 0] < b)])
        leave = _log_table(log.exit_values, 3)  # time, area, outcome
        exits.append(leave[(leave[:, 1] >= 0) & (leave[:, 0] >= a) & (leave[:, 0] < b)])
        reset = _log_table(log.reset_values, 5)  # time, cause area, restarted, wasted hours, nova restarted
        reset = reset[(reset[:, 0] >= a) & (reset[:, 0] < b)]
        resets.append(reset)
        nova.append(np.full(len(reset), name == "nova"))
    run = np.concatenate(runs) if runs else np.empty((0, 4))
    leave = np.concatenate(exits) if exits else np.empty((0, 3))
    reset = np.concatenate(resets) if resets else np.empty((0, 5))
    return GateArrays(
        run_area=run[:, 1], run_false=run[:, 2] == 1,
        exit_area=leave[:, 1], exit_outcome=leave[:, 2],
        reset_area=reset[:, 1], reset_hours=reset[:, 3],
        reset_nova=np.concatenate(nova) if nova else np.empty(0, dtype=bool),
    )


def _in_areas(area: np.ndarray, areas: list[int] | None) -> np.ndarray | slice:
    """Which entries belong to ``areas`` (None: every entry)."""
    if areas is None:
        return slice(None)
    return area == areas[0] if len(areas) == 1 else np.isin(area, areas)


def _sum_in_order(values: np.ndarray) -> float:
    """``values`` added one by one from 0.0, in order (bit-identical to a Python loop's ``+=``;
    ``np.sum`` adds pairwise, which can differ in the last bit)."""
    return float(np.add.accumulate(values)[-1]) if len(values) else 0.0


def gate_metrics(records: Records, area: int | Iterable[int] | None, n_merged: int,
                 arrays: GateArrays | None = None) -> dict[str, float]:
    """Gate metrics over all gates of a replication, for one area index or several (None: all areas).

    Resets are attributed to the area of the change whose failure caused them; ``nova_gate_*``
    count only nova's gate (the integrated queue), whatever repositories a policy adds.
    ``arrays``: :func:`gate_arrays` of ``records`` when already built (one pass for every group).
    """
    window = records.window
    g = gate_arrays(records) if arrays is None else arrays
    areas = None if area is None else ([area] if isinstance(area, int) else sorted(set(area)))
    exit_outcome = g.exit_outcome[_in_areas(g.exit_area, areas)]
    run_false = g.run_false[_in_areas(g.run_area, areas)]
    chosen = _in_areas(g.reset_area, areas)
    hours, nova = g.reset_hours[chosen], g.reset_nova[chosen]
    return {
        "gate_rejections_per_merged": ratio(int(np.count_nonzero(exit_outcome)), n_merged),
        "gate_false_rejections_per_merged": ratio(int(np.count_nonzero(exit_outcome == 1)), n_merged),
        "gate_false_failure_fraction": ratio(int(np.count_nonzero(run_false)), len(run_false)),
        "gate_resets_per_week": per_week(len(hours), window),
        "gate_wasted_job_hours_per_week": per_week(_sum_in_order(hours), window),
        "nova_gate_resets_per_week": per_week(int(np.count_nonzero(nova)), window),
        "nova_gate_wasted_job_hours_per_week": per_week(_sum_in_order(hours[nova]), window),
    }


MINUTES_PER_DAY = 1440.0


def node_metrics(records: Records) -> dict[str, float]:
    """Mean wait for test nodes (minutes from a run's request until its last job started) of the check and gate
    runs of nova's own changes requested inside the window, and the pool's busy node-days per day over every run
    (other projects' included); empty without a finite pool (``ci.nodes`` unset), so default outputs keep their rows.
    One pass over the node log."""
    if records.nodes is None:
        return {}
    a, b = records.window
    runs = np.asarray(records.nodes.run_values, dtype=float).reshape(-1, 5)  # requested, started, pipeline, area, jobs
    runs = runs[(runs[:, 0] >= a) & (runs[:, 0] < b)]
    nova = runs[runs[:, 3] >= 0]
    wait = (nova[:, 1] - nova[:, 0]) * MINUTES_PER_DAY
    is_gate = nova[:, 2] == GATE_PIPELINE
    return {
        "check_node_wait_minutes": _mean(wait[~is_gate]),
        "gate_node_wait_minutes": _mean(wait[is_gate]),
        "node_runs_per_week": per_week(len(runs), records.window),
    }


def staffing_metrics(records: Records) -> dict[str, float]:
    """The roster as the world built it: total review capacity (reviews/day), and each role's
    capacity and headcount (0 for a role the policy does not have)."""
    values = {"review_capacity_per_day": float(sum(r.capacity for r in records.reviewers))}
    for role in ROLES:
        members = [r for r in records.reviewers if r.role == role]
        values[f"{role_metric(role)}_capacity_per_day"] = float(sum(r.capacity for r in members))
        values[f"{role_metric(role)}_headcount"] = float(len(members))
    return values


def core_reviewers(records: Records) -> list[ReviewerRecord]:
    """Nova's core reviewers (role ``core``, wherever they review)."""
    return [r for r in records.reviewers if r.role == "core"]


def reviewer_metrics(records: Records) -> dict[str, float]:
    """Utilisation and load of nova's core reviewers (:func:`core_reviewers`), pooled; NaN without cores."""
    a, b = records.window
    days = b - a
    cores = core_reviewers(records)
    n = len(cores)
    return {
        "core_utilization": ratio(sum(r.busy_days for r in cores), n * days),
        "reviews_per_core_per_week": ratio(sum(r.reviews for r in cores), n) / (days / 7.0),
    }


def core_reviews_per_core_per_day(records: Records) -> float:
    """Reviews per core reviewer (:func:`core_reviewers`) per day of the window; NaN without cores."""
    a, b = records.window
    cores = core_reviewers(records)
    return ratio(sum(r.reviews for r in cores), len(cores)) / (b - a)


def reviewers_frame(records: Records) -> pd.DataFrame:
    """One row per reviewer: board, name, role, capacity (reviews/day), busy days and reviews inside the window,
    reviews per week."""
    df = pd.DataFrame.from_records(records.reviewers, columns=list(ReviewerRecord._fields))
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
    rows_all = ChangeColumns.of(df)
    area, kind = df["area"].to_numpy(), df["kind"].to_numpy()
    groups: list[tuple[str, int | list[int] | None, ChangeColumns]] = [(ALL, None, rows_all)]
    # An area literally named "all" (a one-area scenario) is the aggregate itself: count it once.
    groups += [(name, i, rows_all.where(area == name)) for i, name in enumerate(names) if name != ALL]
    if drivers and others:
        is_driver = np.isin(area, list(records.driver_areas))
        groups += [(DRIVERS, drivers, rows_all.where(is_driver)), (NON_DRIVERS, others, rows_all.where(~is_driver))]
    groups += [(kind_area(k), None, rows_all.where(kind == k)) for k in KINDS]
    arrays = gate_arrays(records)
    for name, index, sub in groups:
        values = change_metrics(sub, records.window)
        if name == ALL or name not in KIND_AREAS:
            values.update(gate_metrics(records, index, len(merged_in_window(sub, records.window)), arrays))
        if index is None and name == ALL:
            values.update(reviewer_metrics(records))
            values.update(staffing_metrics(records))
            values.update(node_metrics(records))
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

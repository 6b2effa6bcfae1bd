"""The one metric engine (``sim.runs.metrics``): the calibration's metrics and the replication
metrics agree where they measure the same thing, and an undefined ratio is NaN in both."""

from __future__ import annotations

import functools
import math
import pickle
from typing import Any

import numpy as np
import pytest
from simtest import MONOLITH, SHORT_MONOLITH

from sim.calibrate.fit import calibration_measure, calibration_metrics
from sim.model.records import RECORD_FIELDS, Records, ReviewerRecord
from sim.runs import metrics
from sim.scenario import load_scenario
from sim.simulate import simulate


def record(**values: Any) -> tuple[Any, ...]:
    """A change row: merged or abandoned only when given (times in days)."""
    row: dict[str, Any] = {
        "change": 0, "area": "a", "kind": "bug", "size_lines": 10.0, "touches_interface": False, "driver_only": False,
        "feature": -1, "parent": -1, "defects_initial": 0, "arrived": 0.0, "first_review": math.nan,
        "last_upload": None, "approved": math.nan, "merged": math.nan, "abandoned": math.nan, "usable": math.nan,
        "patch_sets": 1, "core_reviews": 0, "rechecks": 0, "gate_attempts": 0, "gate_resets_suffered": 0,
        "wait_review_days": 0.0, "held_days": 0.0, "review_days": 0.0, "author_days": 0.0, "ci_days": 0.0,
        "gate_days": 0.0, "freeze_days": 0.0, "repo": "nova",
    }
    row.update(values)
    if row["last_upload"] is None:
        row["last_upload"] = row["arrived"]
    return tuple(row[f] for f in RECORD_FIELDS)


def hand_records(rows: list[tuple[Any, ...]], window: tuple[float, float],
                 reviewers: list[ReviewerRecord] | None = None) -> Records:
    return Records("hand", "monolith", 0, ("a", "b"), ("b",), window, rows, {}, reviewers or [], 0.0, 0)


def value(frame: Any, area: str, metric: str) -> float:
    hit = frame[(frame["area"] == area) & (frame["metric"] == metric)]["value"]
    assert len(hit) == 1, (area, metric)
    return float(hit.iloc[0])


def test_ratio_and_abandoned_fraction_are_undefined_without_a_denominator() -> None:
    assert math.isnan(metrics.ratio(3, 0)) and metrics.ratio(1, 4) == 0.25
    assert math.isnan(metrics.abandoned_fraction(0, 0))
    assert metrics.abandoned_fraction(3, 1) == 0.25 and metrics.abandoned_fraction(0, 2) == 1.0


def test_nothing_closed_leaves_the_abandoned_share_undefined_in_both_measures() -> None:
    """Regression: the calibration counted 0 abandoned of 0 closed as a share of 0, the
    replication metrics as NaN."""
    window = (0.0, 70.0)
    recs = hand_records([record(change=0, arrived=5.0), record(change=1, arrived=60.0, area="b")], window)
    cal = calibration_metrics(recs)
    assert set(cal["area"]) == {"all"}  # no area merged anything
    for metric in ("abandoned_fraction", "rechecks_per_patch_set", "core_reviews_per_core_per_day",
                   "time_to_merge_median_days"):
        assert math.isnan(value(cal, "all", metric)), metric
    assert value(cal, "all", "merged_per_week") == 0.0
    assert math.isnan(metrics.change_metrics(metrics.changes_frame(recs), window)["abandoned_fraction"])
    per_rep = metrics.replication_metrics(recs)
    assert math.isnan(value(per_rep, "all", "abandoned_fraction"))
    assert math.isnan(value(per_rep, "all", "reviews_per_core_per_week"))  # no cores


def test_calibration_metrics_by_hand() -> None:
    window = (0.0, 70.0)
    rows = [
        record(change=0, arrived=1.0, last_upload=3.0, approved=4.0, merged=5.0, patch_sets=2, rechecks=1),
        record(change=1, arrived=10.0, approved=18.0, merged=20.0, area="b", kind="other", patch_sets=1, rechecks=2),
        record(change=2, arrived=20.0, abandoned=30.0),
        record(change=3, arrived=-5.0, last_upload=-1.0, approved=2.0, merged=3.0, patch_sets=3),
        record(change=4, arrived=50.0, merged=80.0),  # merged after the window
    ]
    cores = [ReviewerRecord("nova", "x", "core", 1.5, 5.0, 28), ReviewerRecord("nova", "y", "core", 2.5, 5.0, 42),
             ReviewerRecord("nova", "z", "driver-core", 1.0, 5.0, 700)]
    cal = calibration_metrics(hand_records(rows, window, cores))
    assert value(cal, "a", "time_to_merge_median_days") == 6.0  # 4 and 8
    assert value(cal, "a", "revision_phase_p90_days") == pytest.approx(3.8)  # 2 and 4
    assert value(cal, "a", "final_phase_median_days") == 3.0  # 2 and 4
    assert value(cal, "a", "abandoned_fraction") == pytest.approx(1 / 3)
    assert value(cal, "b", "abandoned_fraction") == 0.0
    assert value(cal, "all", "merged_per_week") == pytest.approx(3 / 10)
    assert value(cal, "kind:other", "time_to_merge_median_days") == 10.0
    assert value(cal, "all", "rechecks_per_patch_set") == 0.5  # 3 rechecks over 6 patch sets
    assert value(cal, "all", "patch_sets_median") == 2.0
    assert value(cal, "all", "time_to_approval_median_days") == 7.0  # 3, 8, 7
    assert value(cal, "all", "virt_time_to_approval_median_days") == 8.0  # area b is the driver
    assert value(cal, "all", "core_reviews_per_core_per_day") == 0.5  # 70 reviews by 2 cores in 70 days
    weekly = cal[cal["metric"].str.startswith("weekly_merges_")]["value"].to_numpy()
    assert list(weekly) == [2.0, 0.0, 1.0] + [0.0] * 7


def test_a_last_partial_week_counts_with_the_week_before() -> None:
    merged = metrics.changes_frame(hand_records([record(arrived=0.0, merged=72.0)], (0.0, 73.0)))
    assert list(metrics.weekly_merge_counts(merged, (0.0, 73.0))) == [0] * 9 + [1]


def test_calibration_and_replication_metrics_agree_where_they_overlap() -> None:
    """One engine: every quantity both measures report is the same number, bit for bit."""
    recs = simulate(load_scenario(MONOLITH, SHORT_MONOLITH), 0, 5)
    cal = calibration_metrics(recs).set_index(["area", "metric"])["value"]
    per_rep = metrics.replication_metrics(recs).set_index(["area", "metric"])["value"]
    shared = [k for k in cal.index if k in per_rep.index]
    kinds = {area for area, _ in shared if area in metrics.KIND_AREAS}
    assert kinds and {"all", *recs.area_names} <= {area for area, _ in shared}
    assert {metric for _, metric in shared} >= {
        metrics.quantile_metric(phase, q) for phase in metrics.PHASES for q in metrics.QUANTILE_NAMES}
    np.testing.assert_array_equal(cal[shared].to_numpy(), per_rep[shared].to_numpy())


def test_the_calibration_measure_travels_to_workers() -> None:
    measure = pickle.loads(pickle.dumps(functools.partial(calibration_measure, with_times=True)))
    recs = simulate(load_scenario(MONOLITH, SHORT_MONOLITH), 1, 5)
    per_rep, times = measure(recs)
    assert (per_rep["replication"] == 1).all()
    merged = metrics.merged_in_window(metrics.changes_frame(recs), recs.window)
    assert times is not None and len(times) == len(merged)
    assert np.quantile(times["time_to_merge_days"], 0.5) == value(per_rep, "all", "time_to_merge_median_days")


def gate_metrics_by_loop(records: Records, areas: set[int] | None, n_merged: int) -> dict[str, float]:
    """The gate metrics as a loop over every log entry (the definition the vectorised one must match)."""
    a, b = records.window
    rejected = false_rejected = runs = false_runs = resets = nova_resets = 0
    wasted = nova_wasted = 0.0
    for name, log in records.gates.items():
        for t, area, outcome in log.exits:
            if area >= 0 and a <= t < b and (areas is None or area in areas) and outcome:
                rejected += 1
                false_rejected += outcome == 1
        for t, area, outcome, _jobs in log.runs:
            if area >= 0 and a <= t < b and (areas is None or area in areas):
                runs += 1
                false_runs += outcome == 1
        for t, area, _restarted, hours, _nova in log.resets:
            if a <= t < b and (areas is None or area in areas):
                resets += 1
                wasted += hours
                if name == "nova":
                    nova_resets += 1
                    nova_wasted += hours
    window = records.window
    return {
        "gate_rejections_per_merged": metrics.ratio(rejected, n_merged),
        "gate_false_rejections_per_merged": metrics.ratio(false_rejected, n_merged),
        "gate_false_failure_fraction": metrics.ratio(false_runs, runs),
        "gate_resets_per_week": metrics.per_week(resets, window),
        "gate_wasted_job_hours_per_week": metrics.per_week(wasted, window),
        "nova_gate_resets_per_week": metrics.per_week(nova_resets, window),
        "nova_gate_wasted_job_hours_per_week": metrics.per_week(nova_wasted, window),
    }


@pytest.mark.parametrize("scenario", ["monolith", "split"])
def test_gate_metrics_in_one_pass_equal_the_loop_bit_for_bit(scenario: str) -> None:
    """Every area, group of areas and the whole: the vectorised gate metrics equal the loop's exactly
    (float sums in log order, not pairwise), on a replication with several gates (split) and one."""
    records = simulate(load_scenario(MONOLITH.with_name(f"{scenario}.toml"), SHORT_MONOLITH), 0, 3)
    arrays = metrics.gate_arrays(records)
    n = len(records.area_names)
    choices: list[set[int] | None] = [None, *({i} for i in range(n)), set(range(0, n, 2)), set(range(1, n, 2))]
    assert sum(len(log.reset_values) for log in records.gates.values()) > 0
    for areas in choices:
        index = None if areas is None else (next(iter(areas)) if len(areas) == 1 else areas)
        got = metrics.gate_metrics(records, index, 17, arrays)
        want = gate_metrics_by_loop(records, areas, 17)
        assert list(got) == list(want)
        for key in want:
            assert got[key] == want[key] or (math.isnan(got[key]) and math.isnan(want[key])), (areas, key)
            assert type(got[key]) is float

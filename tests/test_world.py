"""Whole replications: conservation of changes, Little's law on every run, arrivals and the
calendar, metrics on hand-made records, and the expected direction of policy levers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simtest import (
    MMC,
    MONOLITH,
    SHORT_MONOLITH,
    Z,
    assert_positive,
    mean_se,
    per_replication,
    started_world,
)

from sim.model.arrivals import weekly_rates
from sim.model.change import Change
from sim.model.records import RECORD_FIELDS, Records
from sim.runs import metrics
from sim.runs.runner import RunResult, run_replications
from sim.runs.stats import mean_ci
from sim.scenario import load_scenario
from sim.validate import gate_only_scenario

# ------------------------------------------------------------------------------ conservation


def check_conservation(result: RunResult, gated: bool) -> None:
    c = result.changes
    horizon = result.scenario.horizon_days
    merged, abandoned = c["merged"].notna(), c["abandoned"].notna()
    assert not (merged & abandoned).any(), "a change both merged and abandoned"
    # at the end of the run every change is exactly one of merged / abandoned / open
    m_end, a_end = c["merged"] < horizon, c["abandoned"] < horizon
    is_open = ~m_end & ~a_end
    assert ((m_end.astype(int) + a_end.astype(int) + is_open.astype(int)) == 1).all()
    assert (c["arrived"] < horizon).all() and (c["arrived"] >= 0).all()
    assert not (c["merged"] > horizon).any()  # merges are events inside the run
    m = c[merged]
    if gated:
        assert m["approved"].notna().all()
    assert m["first_review"].notna().all()
    assert (m["arrived"] <= m["first_review"]).all()
    assert (m["first_review"] <= m["approved"]).all()
    assert (m["approved"] <= m["merged"]).all()
    assert (m["last_upload"] <= m["merged"]).all() and (m["last_upload"] <= m["approved"]).all()
    assert (m["core_reviews"] >= 1).all()
    reviewed = c[c["first_review"].notna()]
    assert (reviewed["first_review"] >= reviewed["arrived"]).all()
    assert (c["last_upload"] >= c["arrived"]).all()
    ab = c[abandoned]
    assert (ab["abandoned"] >= ab["arrived"]).all()
    assert (c["patch_sets"] >= 1).all() and (c["wait_review_days"] >= 0).all() and (c["ci_days"] >= -1e-9).all()
    if gated:
        assert (m["gate_attempts"] >= 1).all()
    # ids are 0..n-1 in arrival order within each replication
    for _rep, group in c.groupby("replication"):
        assert list(group["change"]) == list(range(len(group)))
        assert group["arrived"].is_monotonic_increasing


def test_conservation_on_the_monolith(monolith_run: RunResult) -> None:
    c = monolith_run.changes
    assert c["merged"].notna().sum() > 1000 and c["abandoned"].notna().sum() > 50
    assert (c["merged"].isna() & c["abandoned"].isna()).sum() > 10  # some still open
    check_conservation(monolith_run, gated=True)


def test_conservation_without_a_gate(mmc_run: RunResult) -> None:
    check_conservation(mmc_run, gated=False)


def test_every_change_in_the_records_and_open_count_agree(short_monolith) -> None:
    world = started_world(short_monolith, 0, 4)
    records = world.run()
    assert len(records.changes) == len(world.changes)
    still_open = [c for c in world.changes if math.isnan(c.merged) and math.isnan(c.abandoned)]
    assert set(world.open) == {c.id for c in still_open}


# ------------------------------------------------------------------------------ Little's law


def assert_identity(result: RunResult) -> None:
    little = result.littles_law
    assert len(little) == result.replications
    assert (little["L"] > 0).all()
    assert np.all(np.abs(little["identity_error"]) <= 1e-9 * little["L"]), little


def test_littles_law_identity_on_the_baseline(monolith_run: RunResult) -> None:
    assert_identity(monolith_run)
    little = monolith_run.littles_law
    # far from zero terms: a real check, not 0 = 0
    assert (little["carry_in"] > 0).all() and (little["lambda_W"] > 10).all()


def test_littles_law_identity_on_every_kind_of_run(mmc_run: RunResult) -> None:
    assert_identity(mmc_run)
    assert_identity(run_replications(gate_only_scenario(), 2, 5))
    assert_identity(run_replications(load_scenario(MONOLITH), 1, 20140904))  # the baseline exactly as shipped
    # feature freeze holds, stalls, long patience: the full baseline with a short warm-up
    assert_identity(run_replications(load_scenario(MONOLITH, ["run.warmup_days=20", "authors.patience_median_days=5"]), 1, 2))


def test_littles_law_on_hand_made_records() -> None:
    """Window [0, 10): change 0 open 2..5, change 1 open -3..4 (carry-in 4), change 2 open 8..end."""
    rows = [
        record(change=0, arrived=2.0, merged=5.0),
        record(change=1, arrived=-3.0, abandoned=4.0),
        record(change=2, arrived=8.0),
    ]
    recs = records(rows, window=(0.0, 10.0), open_time_integral=3.0 + 4.0 + 2.0)
    little = metrics.littles_law(recs)
    assert little["L"] == pytest.approx(0.9)
    assert little["lambda"] == pytest.approx(0.2)
    assert little["W"] == pytest.approx((3.0 + 2.0) / 2)
    assert little["carry_in"] == pytest.approx(0.4)
    assert little["identity_error"] == pytest.approx(0.0, abs=1e-15)


# ------------------------------------------------------------------------------ metrics on hand-made records


def record(**values: Any) -> tuple[Any, ...]:
    defaults: dict[str, Any] = {
        "change": 0, "area": "a", "kind": "bug", "size_lines": 10.0, "touches_interface": False, "driver_only": False,
        "feature": -1, "parent": -1, "defects_initial": 0,
        "arrived": 0.0, "first_review": math.nan, "last_upload": None, "approved": math.nan, "merged": math.nan,
        "abandoned": math.nan, "usable": math.nan, "patch_sets": 1, "core_reviews": 0, "rechecks": 0, "gate_attempts": 0,
        "gate_resets_suffered": 0, "wait_review_days": 0.0, "held_days": 0.0, "review_days": 0.0, "author_days": 0.0,
        "ci_days": 0.0, "gate_days": 0.0, "freeze_days": 0.0, "repo": "nova",
    }
    defaults.update(values)
    if defaults["last_upload"] is None:
        defaults["last_upload"] = defaults["arrived"]
    assert set(defaults) == set(RECORD_FIELDS)
    return tuple(defaults[f] for f in RECORD_FIELDS)


def records(rows: list[tuple[Any, ...]], window: tuple[float, float], open_time_integral: float = 0.0) -> Records:
    return Records("hand", "monolith", 0, ("a",), (), window, rows, {}, [], open_time_integral, 0)


def test_change_metrics_by_hand() -> None:
    rows = [
        record(change=0, arrived=1.0, first_review=2.0, last_upload=3.0, merged=5.0, patch_sets=2, core_reviews=2),
        record(change=1, arrived=10.0, first_review=14.0, merged=20.0, patch_sets=1, core_reviews=1),
        record(change=2, arrived=20.0, abandoned=30.0),
        record(change=3, arrived=60.0, first_review=65.0),
        record(change=4, arrived=-5.0, first_review=-4.0, merged=3.0, patch_sets=3, core_reviews=3),
        record(change=5, arrived=50.0, first_review=52.0, merged=80.0),
    ]
    df = metrics.changes_frame(records(rows, (0.0, 70.0)))
    m = metrics.change_metrics(df, (0.0, 70.0))
    assert m["time_to_merge_median_days"] == 8.0  # merged in window: 4, 10, 8
    assert m["revision_phase_median_days"] == 0.0  # 2, 0, 0
    assert m["final_phase_median_days"] == 8.0  # 2, 10, 8
    assert m["time_to_first_review_mean_days"] == 3.0  # arrived in window and reviewed: 1, 4, 5, 2
    assert m["time_to_first_review_median_days"] == 3.0
    assert m["merged_per_week"] == pytest.approx(3 / 10)
    assert m["arrivals_per_week"] == pytest.approx(5 / 10)
    assert m["abandoned_fraction"] == pytest.approx(1 / 4)
    assert m["open_at_end"] == 2.0  # changes 3 and 5
    assert m["revisions_per_merged"] == 2.0 and m["core_reviews_per_merged"] == 2.0


def test_mean_ci() -> None:
    mean, low, high, n = mean_ci([1.0, 2.0, 3.0, float("nan")])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert (mean, n) == (2.0, 3) and low == pytest.approx(2 - half) and high == pytest.approx(2 + half)
    assert mean_ci([4.0]) == (4.0, 4.0, 4.0, 1)
    assert mean_ci([5.0, 5.0]) == (5.0, 5.0, 5.0, 2)
    mean, low, high, n = mean_ci([float("nan")])
    assert n == 0 and math.isnan(mean)


def test_summary_n_is_the_number_of_replications(monolith_run: RunResult) -> None:
    s = monolith_run.summary
    assert list(s.columns) == ["scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n"]
    assert (s["n"] <= monolith_run.replications).all()
    groups = {"group:drivers", "group:non-drivers", "kind:bug", "kind:blueprint", "kind:other"}
    assert set(s["area"]) == {"all", *monolith_run.scenario.area_names, *groups}
    pr = monolith_run.per_replication
    assert not pr.duplicated(["replication", "area", "metric"]).any()


def test_per_area_counts_add_up_to_all(monolith_run: RunResult) -> None:
    sc = monolith_run.scenario
    for metric in ("arrivals_per_week", "merged_per_week", "open_at_end"):
        total = per_replication(monolith_run, metric)
        parts = sum(per_replication(monolith_run, metric, area) for area in sc.area_names)
        assert np.allclose(total, parts), metric


def test_area_named_all_is_not_counted_twice(mmc_run: RunResult) -> None:
    """Regression: an area named 'all' (mmc.toml) was counted as the aggregate and again as an
    area, so summary n was 2 x replications and the CI too narrow by ~sqrt(2)."""
    pr = mmc_run.per_replication
    assert not pr.duplicated(["replication", "area", "metric"]).any()
    assert (mmc_run.summary["n"] <= mmc_run.replications).all()


def test_run_replications_rejects_zero(mmc) -> None:
    with pytest.raises(ValueError, match="replications must be >= 1"):
        run_replications(mmc, 0, 1)


# ------------------------------------------------------------------------------ arrivals and calendar


def test_weekly_rates_by_area_kind_and_week() -> None:
    sc = load_scenario(MMC, ["run.cycle_weeks=4", "arrivals.weekly_profile=[0, 2, 1, 1]",
                             "arrivals.blueprint_weekly_profile=[1, 1, 1, 0]",
                             "areas.all.kind_mix={bug=0.5, blueprint=0.25, other=0.25}",
                             "new=areas.b", "areas.b.rate_per_day=2.0"])
    combos, cumulative = weekly_rates(sc)
    assert combos == [(0, "bug"), (0, "blueprint"), (0, "other"), (1, "bug"), (1, "blueprint"), (1, "other")]
    default_mix = sc.areas["b"].kind_mix
    per_week = [np.diff([0.0, *c]) for c in cumulative]
    assert per_week[0] == pytest.approx([0.0, 1.0, 0.0, 0.0, 2 * default_mix["blueprint"], 0.0])
    assert per_week[1] == pytest.approx([4.0, 1.0, 2.0, 4 * default_mix["bug"], 2 * default_mix["blueprint"], 4 * default_mix["other"]])
    assert per_week[3][1] == 0.0 and per_week[3][0] == 2.0


@pytest.mark.parametrize("warmup", [0.0, 1.2, 10.5])
def test_arrivals_follow_the_weekly_profile_and_kind_mix(warmup: float) -> None:
    sc = load_scenario(MMC, ["run.cycle_weeks=4", "run.cycles=10", f"run.warmup_days={warmup}",
                             "arrivals.weekly_profile=[0, 2, 1, 1]",
                             "areas.all.kind_mix={bug=0.5, blueprint=0.2, other=0.3}"])
    world = started_world(sc, 0, 8)
    world.run()
    arrived = np.array([c.arrived for c in world.changes])
    arrived = arrived[arrived >= warmup]  # the measured cycles (week 0 starts at the warm-up's end)
    week = (((arrived - warmup) % 28) // 7).astype(int)
    counts = np.bincount(week, minlength=4)
    assert counts[0] == 0
    for w, multiplier in ((1, 2.0), (2, 1.0), (3, 1.0)):
        expected = 4.0 * multiplier * 7 * 10
        assert abs(counts[w] - expected) <= Z * math.sqrt(expected), (w, counts[w], expected)
    kinds = pd.Series([c.kind for c in world.changes]).value_counts()
    n = len(world.changes)
    for kind, p in (("bug", 0.5), ("blueprint", 0.2), ("other", 0.3)):
        assert abs(kinds[kind] / n - p) <= Z * math.sqrt(p * (1 - p) / n), kind


def test_change_attributes_follow_the_area_parameters() -> None:
    sc = load_scenario(MMC, ["run.warmup_days=0", "run.cycles=4", "areas.all.defects_mean=2.0",
                             "areas.all.size_log_mean=4.0", "areas.all.size_log_sd=1.0", "areas.all.interface_share=0.2",
                             "review.attractiveness_sigma=1.0", "authors.patience_median_days=30", "authors.abandonment=true"])
    world = started_world(sc, 0, 2)
    world.run()
    ch = world.changes
    defects = np.array([c.defects_initial for c in ch], dtype=float)
    mean, se = mean_se(defects)
    assert abs(mean - 2.0) <= Z * se
    log_size = np.log([c.size for c in ch])
    assert abs(np.median(log_size) - 4.0) < 0.05
    share = np.mean([c.touches_interface for c in ch])
    assert abs(share - 0.2) <= Z * math.sqrt(0.2 * 0.8 / len(ch))
    attract = np.array([c.attractiveness for c in ch])
    mean, se = mean_se(attract)
    assert abs(mean - 1.0) <= Z * se  # lognormal scaled to mean 1
    assert abs(np.median([c.patience for c in ch]) - 30.0) < 3.0


def test_kind_factors_scale_the_expected_defects_of_bugs_and_blueprints() -> None:
    sc = load_scenario(MMC, ["run.warmup_days=0", "run.cycles=6", "areas.all.defects_mean=1.0",
                             "areas.all.kind_mix={bug=0.4, blueprint=0.3, other=0.3}",
                             "review.bug_defects_factor=2.0", "review.blueprint_defects_factor=3.5"])
    world = started_world(sc, 0, 2)
    world.run()
    for kind, expected in (("bug", 2.0), ("blueprint", 3.5), ("other", 1.0)):
        defects = np.array([c.defects_initial for c in world.changes if c.kind == kind], dtype=float)
        mean, se = mean_se(defects)  # Poisson: SE from the sample, thousands of changes per kind
        assert abs(mean - expected) <= Z * se, (kind, mean, se)


def test_calendar() -> None:
    sc = load_scenario(MMC, ["cycle.feature_freeze=true", "cycle.feature_freeze_week=20"])
    world = started_world(sc, 0, 1)  # warm-up 30 d, cycles of 182 d measured from t = 30
    assert world.window == (30.0, 30.0 + 2 * 182.0)
    assert world.cycle_week(30.0) == 0 and world.cycle_week(36.9) == 0 and world.cycle_week(37.0) == 1
    assert world.cycle_week(29.0) == 25  # the warm-up is the end of the previous cycle
    assert world.cycle_week(30.0 + 182.0 + 8.0) == 1

    def change(kind: str) -> Change:
        return Change(0, 0, kind, 10.0, False, False, -1, 0, math.inf, 1.0, 0.0)

    world.clock.run(30.0 + 7 * 20 + 1.0)  # one day into the freeze
    assert world.freeze_hold(change("blueprint")) == pytest.approx(182.0 - 141.0)
    assert world.freeze_hold(change("bug")) == 0.0


@pytest.mark.parametrize("warmup", [1.2, 1.7, 2.4, 58.1, 100.7])
def test_run_ends_for_non_integer_warmup(warmup: float) -> None:
    """Regression: the next week boundary was t + 7 - ((t - warmup) % cycle % 7), which rounding made
    equal to t at some boundaries; the arrival process then yielded timeout(0) forever
    (--set run.warmup_days=1.2 on mmc.toml hung at t = 8.2). Stepping with a budget cannot hang."""
    sc = load_scenario(MMC, [f"run.warmup_days={warmup}", "run.cycles=1", "areas.all.rate_per_day=1.0"])
    world = started_world(sc, 0, 1)
    env, end = world.clock.env, world.window[1]
    steps = 0
    while env.peek() < end and steps < 200_000:  # a normal run needs ~1,000 events
        env.step()
        steps += 1
    assert env.peek() >= end, f"stuck at t = {env.now} after {steps} events"


def test_blueprints_wait_out_the_freeze_and_are_reviewed_again(monolith_run: RunResult) -> None:
    sc = monolith_run.scenario
    warmup, cycle = sc.run.warmup_days, sc.cycle_days
    freeze = 7.0 * sc.cycle.feature_freeze_week
    reopen = 7.0 * (sc.cycle.reopen_week or sc.run.cycle_weeks)
    c = monolith_run.changes
    bp = c[(c["kind"] == "blueprint") & c["merged"].notna()]
    merged_in_cycle = (bp["merged"] - warmup) % cycle
    # Approvals stop at the freeze: a blueprint merged between the freeze and the reopening was
    # approved before the freeze (it was already on its way through CI and the gate).
    during = bp[(merged_in_cycle >= freeze) & (merged_in_cycle < reopen)]
    approved_in_cycle = (during["approved"] - warmup) % cycle
    assert (approved_in_cycle < freeze).all() and (during["merged"] - during["approved"] < reopen - freeze).all()
    held = bp[bp["freeze_days"] > 0]
    assert len(held) > 5
    assert (held["freeze_days"] <= reopen - freeze + 1e-9).all()
    assert (held["patch_sets"] >= 2).all()  # rebased when master reopened
    approved_again = ((held["approved"] - warmup) % cycle >= reopen - 1e-9) | ((held["approved"] - warmup) % cycle < freeze)
    assert approved_again.all()  # the last approval came after master reopened
    # other kinds are not held: some merge within the freeze
    other = c[(c["kind"] != "blueprint") & c["merged"].notna()]
    assert (((other["merged"] - warmup) % cycle) >= freeze).sum() > 50


# ------------------------------------------------------------------------------ expected directions


def paired(metric: str, low: list[str], high: list[str], reps: int = 6, seed: int = 1) -> np.ndarray:
    """Per-replication differences high - low with common random numbers (same seed)."""
    a = run_replications(load_scenario(MONOLITH, [*SHORT_MONOLITH, *low]), reps, seed, workers=2)
    b = run_replications(load_scenario(MONOLITH, [*SHORT_MONOLITH, *high]), reps, seed, workers=2)
    return per_replication(b, metric) - per_replication(a, metric)


def test_more_cores_do_not_raise_time_to_merge() -> None:
    diff = paired("time_to_merge_median_days", ["review.cores=26"], ["review.cores=14"])  # 14 minus 26 cores
    assert_positive(diff, "median time to merge, 14 cores minus 26 cores")


def test_more_gate_jobs_do_not_lower_gate_rejections() -> None:
    diff = paired("gate_rejections_per_merged", ["gate.extra_config_jobs=0"], ["gate.extra_config_jobs=50"])
    assert_positive(diff, "gate rejections per merged change, 50 extra jobs minus none")

"""The calibration's per-area mechanisms and their shrinkage: the penalty rows of the Gaussian
prior (hand-computed), their cost under the robust loss, the stratified split of a cycle's
changes for the cross-validation, the reference area of attention, and the strength chosen
by held-out error."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.fit import (
    Calibrator,
    FitStage,
    Free,
    Shrinkage,
    StrengthSelection,
    area_parameters,
    choose_strength,
    default_stages,
    fact_targets,
    gaussian_rows,
    heldout_errors,
    per_area_group,
    robust_cost,
    set_values,
    shared_parameters,
)
from sim.calibrate.observe import CycleData, split_halves


def quiet(_message: str) -> None:
    pass


def test_penalty_rows_pull_each_area_toward_the_weighted_geometric_mean() -> None:
    # defects: api e^1 (weight 3), libvirt e^-1 (weight 1): pooled log (3 - 1) / 4 = 0.5;
    # rows sqrt(4) x (1 - 0.5) = 1 and sqrt(4) x (-1 - 0.5) = -3.
    # attention: libvirt e^2 (weight 1) and the fixed reference other = 1 (weight 1): pooled log 1;
    # row sqrt(4) x (2 - 1) = 2.
    shrinkage = Shrinkage(4.0, {"api": 3.0, "libvirt": 1.0, "other": 1.0}, {"areas.other.attention": 1.0})
    params = [Free("areas.api.defects_mean", 0.1, 10, "api"), Free("areas.libvirt.defects_mean", 0.1, 10, "libvirt"),
              Free("areas.libvirt.attention", 0.1, 10, "libvirt"), Free("review.cores", 1, 50)]
    values = {"areas.api.defects_mean": math.e, "areas.libvirt.defects_mean": math.exp(-1),
              "areas.libvirt.attention": math.exp(2)}
    assert shrinkage.rows(values, params) == pytest.approx([1.0, -3.0, 2.0])
    assert Shrinkage(0.0, {"api": 1.0}).rows(values, params).size == 0


def test_gaussian_rows_cost_the_plain_sum_of_squares_under_the_robust_loss() -> None:
    r = np.array([0.0, 0.3, -1.0, 2.5, -7.0])
    assert robust_cost(gaussian_rows(r)) == pytest.approx(0.5 * float(r @ r))
    assert np.sign(gaussian_rows(r)).tolist() == np.sign(r).tolist()


def test_split_halves_is_stratified_disjoint_and_fixed_by_its_seed() -> None:
    start = pd.Timestamp("2014-04-17T00:00:00Z")
    merged = pd.DataFrame({"model_area": ["api"] * 7 + ["libvirt"] * 4 + ["hyperv"]},
                          index=range(100, 112))
    cd = CycleData("c", start, start + pd.Timedelta(weeks=4), merged, merged, ("api", "libvirt", "hyperv"), ())
    first, second = split_halves(cd, 5)
    assert sorted([*first.merged.index, *second.merged.index]) == list(merged.index)
    assert first.merged["model_area"].value_counts().to_dict() == {"api": 3, "libvirt": 2}
    assert second.merged["model_area"].value_counts().to_dict() == {"api": 4, "libvirt": 2, "hyperv": 1}
    again = split_halves(cd, 5)
    assert list(again[0].merged.index) == list(first.merged.index)
    assert list(split_halves(cd, 6)[0].merged.index) != list(first.merged.index) or True  # another seed may differ


def test_every_area_has_three_readings_and_an_anchor_fixes_the_pooled_relative_ones() -> None:
    areas = ["api", "other", "hyperv"]
    keys = [p.key for p in area_parameters(areas)]
    assert keys == [f"areas.{a}.{q}" for q in ("defects_mean", "attention", "response_factor") for a in areas]
    assert [per_area_group(k) for k in keys] == ["defects_mean"] * 3 + ["attention"] * 3 + ["response_factor"] * 3
    # anchored at 1: rows sqrt(4) x log(theta_a) whatever the other areas' values
    anchored = Shrinkage(4.0, {"api": 1.0, "other": 5.0}, anchors={"attention": 1.0})
    params = area_parameters(["api", "other"])[2:4]
    rows = anchored.rows({"areas.api.attention": math.e, "areas.other.attention": math.exp(-0.5)}, params)
    assert rows == pytest.approx([2.0, -1.0])
    assert per_area_group("review.engaged_priority") is None
    assert "review.engaged_priority" not in [p.key for p in shared_parameters()]  # an assumption: see its docstring
    rounds = next(s for s in default_stages(areas, 100) if s.name == "rounds")
    assert {per_area_group(p.key) for p in rounds.params} == {"defects_mean", "attention", "response_factor"}
    plain = next(s for s in default_stages(areas, 100, identified=False) if s.name == "rounds")
    assert all(per_area_group(p.key) == "defects_mean" for p in plain.params)  # without attention: defects only


def test_time_to_approval_are_fit_targets() -> None:
    facts = fact_targets().set_index("metric")
    assert facts.loc["virt_time_to_approval_median_days", "observed"] == 18.0
    assert facts.loc["time_to_approval_median_days", "observed"] == 11.0
    assert (facts["log_sd"] > 0).all()


SMALL: dict = {
    "scenario": {"name": "small", "description": "two areas, for the shrinkage tests"},
    "run": {"cycle_weeks": 6, "warmup_days": 30},
    "areas": {"api": {"rate_per_day": 2.0, "defects_mean": 1.0},
              "libvirt": {"driver": True, "rate_per_day": 1.5, "defects_mean": 3.0, "expert_share": 0.5,
                          "attention": 0.5}},
    "review": {"cores": 10, "reviews_per_core_per_day": 2.0, "attractiveness_sigma": 0.5},
    "authors": {"response_median_days": 1.5, "stall_prob": 0.0, "abandonment": False},
    "check": {"enabled": False}, "gate": {"enabled": False}, "cycle": {"feature_freeze": False},
}


def targets_of(calibrator: Calibrator, scale: float) -> pd.DataFrame:
    """Per-area time-to-merge targets: the simulated means times ``scale``, log sd 0.1."""
    summary = calibrator.simulate()
    rows = [(area, "time_to_merge", 0.5, "time_to_merge_median_days", 50,
             summary["mean"][(area, "time_to_merge_median_days")] * scale, 0.0, 0.0, 0.1)
            for area in ("api", "libvirt")]
    return pd.DataFrame(rows, columns=["area", "phase", "q", "metric", "n", "observed", "low", "high", "log_sd"])


def test_stage_residuals_carry_the_penalty_rows_and_cross_validation_scores_each_strength() -> None:
    base = Calibrator(SMALL, fact_targets().iloc[:1], {"api": 2.0, "libvirt": 1.5}, replications=range(2), seed=3,
                      log=quiet)
    near, far = targets_of(base, 1.0), targets_of(base, 1.3)
    shrinkage = Shrinkage(1.0, {"api": 2.0, "libvirt": 1.0})
    calibrator = base.retarget(near, shrinkage)
    params = [Free("areas.api.defects_mean", 0.1, 10, "api"), Free("areas.libvirt.defects_mean", 0.1, 10, "libvirt")]
    calibrator.pooled = params
    x = np.log([1.0, 3.0])
    r = calibrator._stage_residuals(params, x, None, gaussian=False)
    pooled = (2 * math.log(1.0) + math.log(3.0)) / 3
    assert len(r) == len(near) + 2
    assert r[-2:] == pytest.approx([0.0 - pooled, math.log(3.0) - pooled])
    # held-out error per strength and fold; the best strength is the least mean error
    selection = StrengthSelection([(near, far), (far, near)], (0.1, 10.0), 3)
    cv = calibrator.cross_validate(params, ["api", "libvirt"], selection)
    assert list(cv.columns) == ["strength", "fold", "train_cost", "heldout_mse", "heldout_n", "heldout_sq_sd"]
    assert cv[["strength", "fold"]].values.tolist() == [[0.1, 1], [0.1, 2], [10.0, 1], [10.0, 2]]
    assert (cv["heldout_mse"] >= 0).all()
    assert calibrator.values == base.values  # the folds refit copies, not the calibrator itself
    assert set_values(SMALL, {})["areas"]["libvirt"]["attention"] == 0.5
    assert FitStage("x", params, ["api"], 1).max_evaluations == 1


def test_moment_matching_splits_the_slowdown_between_defects_and_attention() -> None:
    """One moment-matching step with an area's revision-phase p75 four times too short (in 1 + days):
    alone, its defects go x4; with its attention fitted too, defects x2 and attention / 2 (equal
    log moves, the shrinkage prior's preferred split)."""
    calibrator = Calibrator(SMALL, fact_targets().iloc[:1], {"api": 2.0, "libvirt": 1.5}, replications=range(1),
                            seed=3, log=quiet)
    simulated = calibrator.simulate()
    p75 = simulated["mean"][("libvirt", "revision_phase_p75_days")]
    target = pd.DataFrame([("libvirt", "revision", 0.75, "revision_phase_p75_days", 50, 4 * (1 + p75) - 1,
                            0.0, 0.0, 0.1)], columns=["area", "phase", "q", "metric", "n", "observed", "low", "high",
                                                      "log_sd"])
    defects, attention = (Free("areas.libvirt.defects_mean", 0.1, 100, "libvirt"),
                          Free("areas.libvirt.attention", 0.01, 10, "libvirt"))
    alone = calibrator.retarget(target, None)
    alone.simulate = lambda values=None: simulated  # type: ignore[method-assign]
    alone.match_rounds([defects], 1)
    assert alone.values[defects.key] == pytest.approx(4 * 3.0)
    both = calibrator.retarget(target, None)
    both.simulate = lambda values=None: simulated  # type: ignore[method-assign]
    both.match_rounds([defects, attention], 1)
    assert both.values[defects.key] == pytest.approx(2 * 3.0)
    assert both.values[attention.key] == pytest.approx(0.5 / 2)


def test_one_standard_error_rule_takes_the_strongest_shrinkage_the_held_out_error_cannot_tell_apart() -> None:
    def cv(means: dict[float, float], sd: float, n: int = 50) -> pd.DataFrame:
        return pd.DataFrame([(lam, fold, 0.0, m, n, sd) for lam, m in means.items() for fold in (1, 2)],
                            columns=["strength", "fold", "train_cost", "heldout_mse", "heldout_n", "heldout_sq_sd"])

    means = {0.1: 1.80, 1.0: 1.78, 3.0: 1.83, 10.0: 1.95}
    # pooled over both folds' 100 targets: se = sd / 10
    errors = heldout_errors(cv(means, sd=1.0))
    assert errors.loc[1.0, "mean"] == pytest.approx(1.78) and errors.loc[1.0, "se"] == pytest.approx(1.0 / math.sqrt(100),
                                                                                                       rel=1e-2)
    assert choose_strength(cv(means, sd=1.0)) == 3.0  # 1.83 <= 1.78 + 0.1; 1.95 is not
    assert choose_strength(cv(means, sd=2.0)) == 10.0  # noisier held-out targets: even 1.95 is within 0.2
    assert choose_strength(cv(means, sd=0.0)) == 1.0  # no noise: the least error itself
    # folds that disagree widen the standard error (between-fold spread counts)
    split = cv(means, sd=0.0)
    split.loc[split["fold"] == 1, "heldout_mse"] -= 0.3
    split.loc[split["fold"] == 2, "heldout_mse"] += 0.3
    assert heldout_errors(split).loc[1.0, "se"] == pytest.approx(0.3 / math.sqrt(99), rel=1e-3)

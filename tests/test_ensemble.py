"""The parameter ensemble (sim.runs.ensemble) and `python -m sim ensemble`: draws, verdicts, the
robustness table, bad specs, and a small end-to-end run that must be reproducible."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from test_policies import SMALL

from sim.paths import DATA, SCENARIOS
from sim.runs.ensemble import (
    CAPACITY,
    draw_parameters,
    draw_seed,
    load_spec,
    overrides,
    robustness,
    run_ensemble,
    verdict,
)
from sim.scenario import ScenarioError, load_scenario

FITTED = "key,value,low,high,identified\nreview.reviews_per_core_per_day,2.5,2.0,3.0,True\n" \
         "areas.core.defects_mean,1.5,1.2,1.9,True\n"


@pytest.fixture()
def small_files(tmp_path: Path) -> list[Path]:
    """The small Nova of test_policies and the same with split-out drivers, as scenario files."""
    reference = {**SMALL, "scenario": {"name": "small"}}
    split = {**SMALL, "scenario": {"name": "small-split"},
             "policy": {"name": "split", "mechanisms": ["split"], "split": {"team": {"size": 2, "reviews_per_day": 2.0}},
                        "staffing": {"from_cores": 0.0}}}
    files = []
    for name, raw in (("small", reference), ("split", split)):
        path = tmp_path / f"{name}.toml"
        path.write_text(tomli_w.dumps(raw))
        files.append(path)
    return files


def write_spec(tmp_path: Path, assumptions: str) -> Path:
    (tmp_path / "fitted.csv").write_text("# test\n" + FITTED)
    spec = tmp_path / "ensemble.toml"
    spec.write_text(f'fitted = "fitted.csv"\n[assumptions]\n{assumptions}\n')
    return spec


GOOD = '"policy.split.interface_extra_defects" = { low = 0.0, high = 2.0, source = "test" }'


def test_draws_are_reproducible_within_their_ranges_and_end_with_the_capacity_steps(small_files, tmp_path) -> None:
    spec = load_spec(write_spec(tmp_path, GOOD), load_scenario(small_files[0]))
    first, again = draw_parameters(spec, 40, 7), draw_parameters(spec, 40, 7)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(draw_parameters(spec, 40, 8))
    random = first[first["label"] == "draw"]
    assert len(random) == 40 and random["draw"].tolist() == list(range(40))
    assert random["policy.split.interface_extra_defects"].between(0.0, 2.0).all()
    # Latin hypercube: each tenth of the range holds exactly 4 of the 40 draws.
    tenths = np.floor(random["policy.split.interface_extra_defects"] / 0.2).astype(int)
    assert (np.bincount(tenths, minlength=10) == 4).all()
    capacity = random[CAPACITY]
    assert capacity.min() > 0 and abs(np.log(capacity).mean() - math.log(2.5)) < 0.05
    steps = first[first["label"] != "draw"]
    assert steps["label"].tolist() == ["capacity -10%", "capacity +10%"]
    assert steps[CAPACITY].tolist() == pytest.approx([2.25, 2.75])
    assert steps.drop(columns=["draw", "label", CAPACITY]).isna().all().all(), "a capacity step sets capacity only"
    assert overrides(steps.iloc[0].to_dict(), [CAPACITY, "areas.core.defects_mean"]) == [f"{CAPACITY}=2.25"]


def with_covariance(tmp_path: Path, text: str) -> Path:
    spec = write_spec(tmp_path, GOOD)
    (tmp_path / "covariance.csv").write_text(text)
    spec.write_text('covariance = "covariance.csv"\n' + spec.read_text())
    return spec


COVARIANCE = ("key,review.reviews_per_core_per_day,areas.core.defects_mean\n"
              "review.reviews_per_core_per_day,0.01,-0.008\nareas.core.defects_mean,-0.008,0.01\n")


def test_fitted_parameters_are_drawn_with_the_fits_correlation_and_their_intervals_spread(small_files, tmp_path) -> None:
    """Capacity and review rounds trade off in the fit (correlation -0.8 here): the draws keep it,
    while each parameter's spread stays its interval's (log sd = log(high/low) / 3.92)."""
    scenario = load_scenario(small_files[0])
    independent = draw_parameters(load_spec(write_spec(tmp_path, GOOD), scenario), 2000, 3)
    correlated = draw_parameters(load_spec(with_covariance(tmp_path, COVARIANCE), scenario), 2000, 3)
    for frame, rho in ((independent, 0.0), (correlated, -0.8)):
        logs = np.log(frame[frame["label"] == "draw"][[CAPACITY, "areas.core.defects_mean"]])
        assert np.corrcoef(logs.T)[0, 1] == pytest.approx(rho, abs=0.05)
        assert logs[CAPACITY].std() == pytest.approx(math.log(3.0 / 2.0) / 3.92, rel=0.06)
        assert logs["areas.core.defects_mean"].std() == pytest.approx(math.log(1.9 / 1.2) / 3.92, rel=0.06)


@pytest.mark.parametrize("text, message", [
    ("key,review.reviews_per_core_per_day\nareas.core.defects_mean,0.01\n", "square table"),
    ("key,review.nope\nreview.nope,0.01\n", "review.nope: not a fitted parameter"),
    (COVARIANCE.replace("-0.008\nareas", "0.002\nareas"), "symmetric"),
    (COVARIANCE.replace("-0.008", "-0.02"), "positive semi-definite"),
])
def test_a_bad_covariance_is_refused_naming_the_file(small_files, tmp_path, text, message) -> None:
    with pytest.raises(ScenarioError, match=rf"covariance\.csv: .*{message}"):
        load_spec(with_covariance(tmp_path, text), load_scenario(small_files[0]))


@pytest.mark.parametrize("share_negative, share_positive, expected", [
    (0.95, 0.05, "falls"), (0.9, 0.1, "falls"), (0.05, 0.95, "rises"), (0.85, 0.15, "depends"), (0.5, 0.5, "depends"),
])
def test_verdict_needs_ninety_percent_of_draws(share_negative, share_positive, expected) -> None:
    assert verdict(share_negative, share_positive) == expected


def test_robustness_names_what_a_sign_depends_on() -> None:
    rng = np.random.default_rng(1)
    n = 40
    parameters = pd.DataFrame({"draw": range(n + 2), "label": ["draw"] * n + ["capacity -10%", "capacity +10%"],
                               "a": [*rng.uniform(-1, 1, n), np.nan, np.nan], "b": [*rng.uniform(0, 1, n), np.nan, np.nan]})
    effect = 3.0 * parameters["a"].fillna(0.0) + rng.normal(0, 0.1, n + 2)
    robust = 5.0 + rng.normal(0, 0.1, n + 2)
    effects = pd.concat([
        pd.DataFrame({"draw": parameters["draw"], "scenario": "p", "area": "all", "metric": "m1", "diff": effect}),
        pd.DataFrame({"draw": parameters["draw"], "scenario": "p", "area": "all", "metric": "m2", "diff": robust}),
    ])
    table = robustness(effects, parameters).set_index("metric")
    assert table.loc["m1", "verdict"] == "depends" and table.loc["m1", "depends_most_on"] == "a"
    assert table.loc["m1", "spearman_rho"] > 0.9
    assert table.loc["m2", "verdict"] == "rises" and table.loc["m2", "share_positive"] == 1.0
    assert table.loc["m2", "draws"] == n, "the capacity steps are reported apart, not counted as draws"
    assert table.loc["m2", "at capacity -10%"] == pytest.approx(robust[n])
    assert table.loc["m2", "p05"] <= table.loc["m2", "median"] <= table.loc["m2", "p95"]


@pytest.mark.parametrize("assumptions, message", [
    ('"policy.split.interface_extra_defects" = { low = 2.0, high = 1.0, source = "x" }', r"low < high"),
    ('"policy.split.interface_extra_defects" = { low = 0.0, high = 40.0, source = "x" }', r"leaves the parameter's range"),
    ('"policy.split.no_such_thing" = { low = 0.0, high = 1.0, source = "x" }', r"not a scenario parameter"),
    ('"policy.split.interface_extra_defects" = { low = 0.0, high = 1.0 }', r"expected \{ low"),
])
def test_a_bad_spec_is_refused_naming_file_and_field(small_files, tmp_path, assumptions, message) -> None:
    path = write_spec(tmp_path, assumptions)
    with pytest.raises(ScenarioError, match=rf"ensemble\.toml: assumptions\.policy\.split\.\w+: .*{message}"):
        load_spec(path, load_scenario(small_files[0]))


def test_bad_fitted_intervals_are_refused(small_files, tmp_path) -> None:
    path = write_spec(tmp_path, GOOD)
    (tmp_path / "fitted.csv").write_text("key,value,low,high\nreview.reviews_per_core_per_day,2.5,2.6,3.0\n")
    with pytest.raises(ScenarioError, match=r"fitted\.csv: review\.reviews_per_core_per_day: expected 0 < low <= value"):
        load_spec(path, load_scenario(small_files[0]))


def test_the_shipped_spec_draws_real_parameters_of_the_policy_scenarios() -> None:
    spec = load_spec(DATA / "ensemble.toml", load_scenario(SCENARIOS / "monolith.toml"))
    keys = {r.key for r in spec.ranges}
    assert CAPACITY in keys and "policy.split.breakage_scale" in keys
    assert len(spec.fitted) >= 10
    row = draw_parameters(spec, 2, 1).iloc[0].to_dict()
    for name in ("monolith", "split", "runways"):
        load_scenario(SCENARIOS / f"{name}.toml", overrides(row, sorted(keys)))  # every drawn value is valid


def test_an_ensemble_run_is_reproducible_and_shares_random_numbers_within_a_draw(small_files, tmp_path) -> None:
    spec = load_spec(write_spec(tmp_path, GOOD), load_scenario(small_files[0]))
    parameters = draw_parameters(spec, 2, 3)
    metrics = [("all", "merged_per_week"), ("group:drivers", "time_to_merge_median_days")]
    first = run_ensemble(small_files, spec, parameters, 1, 3, metrics)
    again = run_ensemble(small_files, spec, parameters, 1, 3, metrics)
    pd.testing.assert_frame_equal(first, again)
    assert set(first["scenario"]) == {"small-split"} and len(first) == len(parameters) * len(metrics)
    assert first["draw"].nunique() == len(parameters)
    assert draw_seed(3, 0) != draw_seed(3, 1)


def test_the_scorecard_carries_the_share_of_draws_agreeing_with_each_cell() -> None:
    from sim.outputs.scorecard import Cell, Scorecard, markdown_table, with_ensemble

    cells = (Cell("split", "driver_ttm", 29.0, 18.0, 11.0, 9.0, 13.0, 10, 0.6, "worse", True),
             Cell("split", "core_load", 9.0, 10.0, -1.0, -2.0, 0.5, 10, -0.1, "within noise", False))
    card = Scorecard("monolith", ("split",), 10, "", cells)
    table = pd.DataFrame([
        {"scenario": "split", "area": "group:drivers", "metric": "time_to_merge_median_days",
         "share_negative": 0.02, "share_positive": 0.98},
        {"scenario": "split", "area": "all", "metric": "reviews_per_core_per_week",
         "share_negative": 0.7, "share_positive": 0.3},
    ])
    robust = with_ensemble(card, table)
    assert robust.cell("split", "driver_ttm").ensemble_share == 0.98
    assert robust.cell("split", "core_load").ensemble_share == 0.7, "the share agreeing with the cell's own sign"
    assert "98% of draws agree" in markdown_table(robust)
    assert "of draws agree" not in markdown_table(card)


def test_a_title_states_a_direction_only_when_the_draws_agree() -> None:
    from sim.outputs.findings import Effect, change_clause, who_moves

    robust = Effect("split", "monolith", 29.0, 18.0, 11.0, 9.0, 13.0, 10, agree=0.98, depends_on="")
    shaky = Effect("lieutenants", "monolith", 20.0, 18.0, 2.0, 1.0, 3.0, 10, agree=0.6,
                   depends_on="policy.lieutenants.reviews_per_day")
    plain = Effect("runways", "monolith", 17.0, 18.0, -1.0, -1.5, -0.5, 10)  # no ensemble: noise decides
    text = who_moves([robust, shaky, plain], "slower", "faster")
    assert "slower under split repos" in text and "faster under runways" in text
    assert "lieutenants" not in text.split(";")[0], "a sign the draws disagree on is not stated as a direction"
    assert "under lieutenants the sign depends on reviews per day" in text
    assert "rises" not in change_clause([shaky], "the median", "d") and "not robust" in change_clause([shaky], "the median", "d")


def test_figure_6_leads_with_a_policy_that_leaves_most_interface_changes_unusable() -> None:
    from sim.outputs.findings import Effect, interface_usable_finding

    effects = [Effect("split", "monolith", 30.0, 10.0, 20.0, -30.0, 70.0, 3)]  # few usable: within noise
    stuck = interface_usable_finding(effects, {}, {"monolith": (453, 91), "split": (453, 452)})
    assert str(stuck).startswith("Under split repos, 452 of 453 nova changes to the virt-driver interface were still not")
    assert "91 of 453 under the monolith" in str(stuck) and "beyond noise" not in str(stuck)
    usual = interface_usable_finding(effects, {}, {"monolith": (453, 91), "split": (453, 120)})
    assert "does not differ" in str(usual) and "still not usable when the run ended" in str(usual)


def test_a_parameter_is_named_only_when_its_correlation_survives_the_correction() -> None:
    rng = np.random.default_rng(2)
    n = 50
    noise = pd.DataFrame({f"p{i}": rng.uniform(size=n) for i in range(30)})
    parameters = pd.concat([pd.DataFrame({"draw": range(n), "label": "draw"}), noise], axis=1)
    effects = pd.DataFrame({"draw": range(n), "scenario": "p", "area": "all", "metric": "m",
                            "diff": rng.normal(0.0, 1.0, n)})
    row = robustness(effects, parameters).iloc[0]
    assert row["verdict"] == "depends" and row["depends_most_on"] == "", "pure noise names no parameter"

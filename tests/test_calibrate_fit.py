"""The calibration's fitting side: recovery of known parameters, determinism, the fit criteria,
the annotated TOML writer, the abandonment adjustment and ``python -m sim calibrate``.

The recovery test fits data the model itself generated: a small scenario (two areas, an 8-week
cycle, no CI or gate, no abandonment, ~20 ms a replication) is simulated with known values of
three hidden parameters; the mean over many replications of each target quantile is the
"observed" value and the replication spread of log(1 + quantile) is the noise of one observed
cycle (the role the bootstrap sd plays for the real data). The full calibration is a benchmark
(``python -m sim calibrate``), not a unit test; the end-to-end CLI test here runs it with a budget
of 3 and one replication per evaluation, only to check what it writes.
"""

from __future__ import annotations

import math
import re
import subprocess
import tomllib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from simtest import ROOT, SCENARIOS, frame_equal, run_cli

from sim.calibrate import DataError
from sim.calibrate.criteria import PUBLISHED, fit_criteria, major_areas, target_table
from sim.calibrate.fit import (
    Calibrator,
    FitResult,
    FitStage,
    Free,
    abandonment_adjusted_rates,
    area_parameters,
    fact_targets,
    forward_jacobian,
    set_values,
    shared_parameters,
    simulate_many,
    simulated_metrics,
)
from sim.calibrate.observe import PHASE_METRIC, CycleData, activity_profile
from sim.calibrate.pipeline import flat_activity
from sim.calibrate.writer import annotated_toml
from sim.runs.metrics import QUANTILE_NAMES
from sim.scenario import load_scenario, validate_scenario

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATE = ROOT / "data" / "calibration" / "nova_template.toml"
TARGET_COLUMNS = ["area", "phase", "q", "metric", "n", "observed", "low", "high", "log_sd"]

# ---------------------------------------------------------------------------- synthetic data

# Two areas, 10 cores at ~65 % utilisation: queueing matters (the final phase moves with the
# capacity) without saturation. No abandonment, so the arrival rates the fit re-derives from
# the "observed" rates are the true ones exactly (rate / (1 - 0)).
SMALL: dict = {
    "scenario": {"name": "small", "description": "two areas, for the calibration tests"},
    "run": {"cycle_weeks": 8, "warmup_days": 60},
    "areas": {
        "api": {"rate_per_day": 2.0, "defects_mean": 1.0},
        "libvirt": {"driver": True, "rate_per_day": 1.5, "defects_mean": 3.0, "expert_share": 0.5},
    },
    "review": {"cores": 10, "reviews_per_core_per_day": 2.0, "attractiveness_sigma": 0.5},
    "authors": {"response_median_days": 1.5, "stall_prob": 0.0, "abandonment": False},
    "check": {"enabled": False},
    "gate": {"enabled": False},
    "cycle": {"feature_freeze": False},
}
AREAS = ("api", "libvirt")
RATES = {"api": 2.0, "libvirt": 1.5}
CAPACITY, DEFECTS, RESPONSE = (
    "review.reviews_per_core_per_day", "areas.libvirt.defects_mean", "authors.response_median_days")
TRUTH = {CAPACITY: 2.0, DEFECTS: 3.0, RESPONSE: 1.5}
START = {CAPACITY: 3.0, DEFECTS: 1.8, RESPONSE: 2.25}  # x1.5, x0.6, x1.5
FREE = [Free(CAPACITY, 0.5, 8.0), Free(DEFECTS, 0.1, 20.0, area="libvirt"), Free(RESPONSE, 0.1, 10.0)]
OBSERVED_SEED, OBSERVED_REPLICATIONS = 777, 80
FIT_SEED, FIT_REPLICATIONS, FIT_BUDGET = 1, 12, 45


def quiet(_message: str) -> None:
    pass


def synthetic_targets(per_rep: pd.DataFrame, areas: tuple[str, ...], weeks: int) -> pd.DataFrame:
    """Targets in the format of ``observe.targets`` from simulated replications of one scenario.

    observed: mean over replications (the value the fit's mean over its replications estimates);
    log_sd: sd over replications of log(1 + quantile), the noise of one observed cycle;
    low/high: 5 % and 95 % of the replications; n: mean merged changes in the cycle.
    """
    rows = []
    for area in (*areas, "all"):
        sub = per_rep[per_rep["area"] == area]
        merged = sub[sub["metric"] == "merged_per_week"]["value"].mean() * weeks
        for phase, stem in PHASE_METRIC.items():
            for q, name in QUANTILE_NAMES.items():
                metric = f"{stem}_{name}_days"
                values = sub[sub["metric"] == metric]["value"].to_numpy()
                low, high = np.quantile(values, [0.05, 0.95])
                rows.append((area, phase, q, metric, round(merged), values.mean(), low, high,
                             np.log1p(values).std(ddof=1)))
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2) as executor:
        yield executor


@pytest.fixture(scope="module")
def observed(pool: ProcessPoolExecutor) -> pd.DataFrame:
    truth = validate_scenario(set_values(SMALL, TRUTH), "<truth>")
    per_rep = simulate_many(truth, range(OBSERVED_REPLICATIONS), OBSERVED_SEED, pool)
    return synthetic_targets(per_rep, AREAS, truth.run.cycle_weeks)


def test_synthetic_targets_have_the_observed_format(observed: pd.DataFrame) -> None:
    assert list(observed.columns) == TARGET_COLUMNS
    assert len(observed) == 3 * 3 * 3
    assert observed[["observed", "low", "high", "log_sd"]].notna().all().all()
    assert (observed["low"] <= observed["observed"]).all() and (observed["observed"] <= observed["high"]).all()
    assert (observed["log_sd"] > 0).all()
    # libvirt needs more rounds than api: its revision phase is longer
    p75 = observed[observed["metric"] == "revision_phase_p75_days"].set_index("area")["observed"]
    assert p75["libvirt"] > p75["api"]


def recovery_stages() -> list[FitStage]:
    """As in default_stages: the defects by moment matching first, then everything jointly."""
    return [FitStage("rounds", [FREE[1]], ["libvirt"], 3),
            FitStage("joint", FREE, [*AREAS, "all"], FIT_BUDGET)]


@pytest.fixture(scope="module")
def recovery(observed: pd.DataFrame, pool: ProcessPoolExecutor) -> tuple[Calibrator, FitResult]:
    calibrator = Calibrator(set_values(SMALL, START), observed, RATES, replications=range(FIT_REPLICATIONS),
                            seed=FIT_SEED, executor=pool, origin="<start>", log=quiet)
    return calibrator, calibrator.fit(recovery_stages())


def log_error(value: float, truth: float) -> float:
    return abs(math.log(value / truth))


@pytest.mark.slow
def test_fit_recovers_known_parameters(recovery: tuple[Calibrator, FitResult]) -> None:
    calibrator, fit = recovery
    intervals = fit.intervals.set_index("key")
    assert sorted(intervals.index) == sorted(TRUTH)
    for key, truth in TRUTH.items():
        value = fit.values[key]
        assert intervals.loc[key, "value"] == value
        assert intervals.loc[key, "low"] <= value <= intervals.loc[key, "high"], key
        assert bool(intervals.loc[key, "identified"]), f"{key}: the targets should pin it down"
        # every parameter moved close to the truth, removing at least 60 % of its start's (log) error
        assert log_error(value, truth) < 0.4 * log_error(START[key], truth), (
            f"{key}: fitted {value:.4g}, truth {truth}, start {START[key]}")
    # no abandonment: match_arrivals gives back the true arrival rates
    assert fit.values["areas.api.rate_per_day"] == RATES["api"]
    assert fit.values["areas.libvirt.rate_per_day"] == RATES["libvirt"]
    # the fitted scenario tables carry the fitted values
    assert validate_scenario(fit.raw).review.reviews_per_core_per_day == fit.values[CAPACITY]
    assert [s["stage"] for s in fit.stages] == ["rounds", "joint"]
    assert fit.stages[1]["evaluations"] <= FIT_BUDGET
    # the fit found parameters that match the targets far better than the start did
    start_cost = 0.5 * float(np.sum(calibrator.residuals(calibrator.simulate(START)) ** 2))
    assert fit.cost < 0.2 * start_cost


@pytest.mark.slow
def test_fit_intervals_contain_the_truth(recovery: tuple[Calibrator, FitResult]) -> None:
    """Seeds 1-6 of this setup all cover the truth (checked when the Jacobian's step became 10 % in
    every log parameter; with scipy's relative step the fit stopped 10-25 % short in half of them)."""
    _, fit = recovery
    intervals = fit.intervals.set_index("key")
    outside = {k: (round(intervals.loc[k, "low"], 3), round(intervals.loc[k, "high"], 3), v)
               for k, v in TRUTH.items() if not intervals.loc[k, "low"] <= v <= intervals.loc[k, "high"]}
    assert not outside, f"truth outside the reported 95 % interval (low, high, truth): {outside}"


# ---------------------------------------------------------------------------- determinism


def small_fit(targets: pd.DataFrame, seed: int, executor: ProcessPoolExecutor | None) -> FitResult:
    calibrator = Calibrator(set_values(SMALL, START), targets, RATES, replications=range(4), seed=seed,
                            executor=executor, log=quiet)
    return calibrator.fit([FitStage("joint", FREE[:2], [*AREAS, "all"], 8)])


def test_fit_is_deterministic_for_a_seed(observed: pd.DataFrame, pool: ProcessPoolExecutor) -> None:
    serial = small_fit(observed, 5, None)
    again = small_fit(observed, 5, pool)  # the executor changes where replications run, not what they give
    assert serial.values == again.values
    frame_equal(serial.intervals, again.intervals)
    assert serial.cost == again.cost and serial.evaluations == again.evaluations
    assert serial.stages == again.stages
    other = small_fit(observed, 6, None)
    assert other.values[CAPACITY] != serial.values[CAPACITY]
    assert other.values[DEFECTS] != serial.values[DEFECTS]


# ---------------------------------------------------------------------------- fit criteria


@pytest.fixture
def criteria_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    targets = pd.read_csv(FIXTURES / "criteria_targets.csv")
    simulated = pd.read_csv(FIXTURES / "criteria_simulated.csv", index_col=["area", "metric"])
    return targets, simulated


def criteria_of(targets: pd.DataFrame, simulated: pd.DataFrame, merged: tuple[float, float] = (100.0, 109.0)
                ) -> pd.DataFrame:
    return fit_criteria(target_table(targets, simulated), merged)


def test_target_table_widens_the_observed_interval(criteria_inputs: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table = target_table(*criteria_inputs).set_index(["area", "metric"])
    other = table.loc[("other", "time_to_merge_median_days")]  # 6.75 + 0.25: on the bound, inside
    assert (other["widened_low"], other["widened_high"], other["simulated"]) == (5.0, 7.0, 7.0)
    assert bool(other["inside"])
    libvirt = table.loc[("libvirt", "time_to_merge_median_days")]  # 17.5 + 1 < 19
    assert (libvirt["widened_high"], bool(libvirt["inside"])) == (18.5, False)
    assert libvirt["rel_error"] == pytest.approx(4 / 15)
    assert bool(table.loc[("compute", "time_to_merge_p90_days"), "inside"])  # 66 <= 70 + 4
    assert not bool(table.loc[("vmwareapi", "time_to_merge_median_days"), "inside"])  # 31 > 27 + 3


def test_fit_criteria_by_hand(criteria_inputs: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """The fixture's values and what each criterion must give, computed by hand.

    Areas with n >= 100 (largest first): api 400, other 300, libvirt 250, compute 150; vmwareapi
    (60) is off (median +55 %, outside) but minor, so it has no criterion row, yet it enters the
    revision-phase ordering. Time to merge, simulated vs observed:
      all       median 11 vs 10 (+10 %), p90 66 vs 60 (+10 %): pass; p90/median = 66 / 11 = 6
      api       median 8.4 vs 8 (+5 %), p90 45 vs 50 (-10 %): inside, pass
      other     median 7 vs 6 (+16.7 %) on the widened bound 6.75 + 0.25: pass; p90 exact: pass
      libvirt   median 19 vs 15 (+26.7 %) but above 17.5 + 1: fail; p90 +10 %: pass
      compute   median exact: pass; p90 66 vs 50 (+32 %) inside 70 + 4 but > 30 %: fail
    Median |error| over the 45 quantiles of the four areas and all: time to merge gives
    0 x7, 0.05, 0.1 x4, 1/6, 4/15, 0.32; revision and final phases 0.125 x19 and 0.25 x11; the
    23rd of 45 sorted is 0.125: pass. Revision p75 simulated: vmwareapi 40 > libvirt 28 <
    compute 30 > api 10 > other 9: 3 of 4 neighbour pairs in order: fail. Final-phase medians of
    the four areas: 2.5, 2.25, 5, 2.5: 5 / 2.25 = 2.22 <= 2.5: pass. Merged per week 109 vs 100.
    """
    criteria = criteria_of(*criteria_inputs)
    expected = [
        ("all areas: time-to-merge median error", 0.10, True),
        ("all areas: time-to-merge p90 error", 0.10, True),
        ("api: time-to-merge median error (inside widened interval: True)", 0.05, True),
        ("api: time-to-merge p90 error (inside widened interval: True)", -0.10, True),
        ("other: time-to-merge median error (inside widened interval: True)", 1 / 6, True),
        ("other: time-to-merge p90 error (inside widened interval: True)", 0.0, True),
        ("libvirt: time-to-merge median error (inside widened interval: False)", 4 / 15, False),
        ("libvirt: time-to-merge p90 error (inside widened interval: True)", 0.10, True),
        ("compute: time-to-merge median error (inside widened interval: True)", 0.0, True),
        ("compute: time-to-merge p90 error (inside widened interval: True)", 0.32, False),
        ("median |error| over 45 quantiles", 0.125, True),
        ("revision-phase p75 order vmwareapi > libvirt > compute > api > other: share of neighbours in order",
         0.75, False),
        ("final-phase medians: largest / smallest", 5 / 2.25, True),
        ("all areas: time-to-merge p90 / median", 6.0, True),
        ("merged per week error", 0.09, True),
    ]
    assert list(criteria["criterion"]) == [c for c, _, _ in expected]
    assert list(criteria["passed"]) == [p for _, _, p in expected]
    assert criteria["value"].to_numpy() == pytest.approx([v for _, v, _ in expected], abs=1e-12)
    assert major_areas(target_table(*criteria_inputs), 100) == ["api", "other", "libvirt", "compute"]


def set_simulated(simulated: pd.DataFrame, area: str, metric: str, value: float) -> pd.DataFrame:
    out = simulated.copy()
    out.loc[(area, metric), "mean"] = value
    return out


def criterion(criteria: pd.DataFrame, prefix: str) -> tuple[float, bool]:
    row = criteria[criteria["criterion"].str.startswith(prefix)]
    assert len(row) == 1, prefix
    return float(row["value"].iloc[0]), bool(row["passed"].iloc[0])


def test_revision_order_passes_once_the_swapped_pair_is_restored(
        criteria_inputs: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    targets, simulated = criteria_inputs
    fixed = set_simulated(simulated, "libvirt", "revision_phase_p75_days", 35.0)  # 40 > 35 > 30 > 10 > 9
    assert criterion(criteria_of(targets, fixed), "revision-phase p75 order") == (1.0, True)
    tied = set_simulated(simulated, "libvirt", "revision_phase_p75_days", 30.0)  # a tie is not "in order"
    assert criterion(criteria_of(targets, tied), "revision-phase p75 order") == (0.75, False)
    swapped_end = set_simulated(fixed, "other", "revision_phase_p75_days", 11.0)  # api 10 < other 11
    assert criterion(criteria_of(targets, swapped_end), "revision-phase p75 order") == (0.75, False)


@pytest.mark.parametrize(("p90", "passed"), [(49.5, True), (49.0, False), (77.0, True), (78.0, False)])
def test_p90_over_median_bounds(criteria_inputs: tuple[pd.DataFrame, pd.DataFrame], p90: float,
                                passed: bool) -> None:
    """Simulated all-area median 11: 49.5 / 11 = 4.5 and 77 / 11 = 7 are inside; 49 and 78 are not."""
    targets, simulated = criteria_inputs
    changed = set_simulated(simulated, "all", "time_to_merge_p90_days", p90)
    value, ok = criterion(criteria_of(targets, changed), "all areas: time-to-merge p90 / median")
    assert (value, ok) == (pytest.approx(p90 / 11), passed)


def test_final_phase_spread(criteria_inputs: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    targets, simulated = criteria_inputs
    wide = set_simulated(simulated, "libvirt", "final_phase_median_days", 6.0)  # 6 / 2.25 = 2.67
    assert criterion(criteria_of(targets, wide), "final-phase medians") == (pytest.approx(6 / 2.25), False)
    # vmwareapi is minor: its final-phase median does not count
    minor = set_simulated(simulated, "vmwareapi", "final_phase_median_days", 100.0)
    assert criterion(criteria_of(targets, minor), "final-phase medians") == (pytest.approx(5 / 2.25), True)


@pytest.mark.parametrize(("simulated_rate", "passed"), [(109.0, True), (91.0, True), (111.0, False), (89.0, False)])
def test_merged_per_week_within_ten_percent(criteria_inputs: tuple[pd.DataFrame, pd.DataFrame],
                                            simulated_rate: float, passed: bool) -> None:
    value, ok = criterion(criteria_of(*criteria_inputs, merged=(100.0, simulated_rate)), "merged per week")
    assert (value, ok) == (pytest.approx(simulated_rate / 100 - 1), passed)


# ---------------------------------------------------------------------------- annotated TOML

SCENARIO_FILES = sorted(SCENARIOS.glob("*.toml")) + [TEMPLATE]
VALUE_LINE = re.compile(r"^(\w+) = (.+?)  # (\S.*)$")


def value_lines(text: str) -> dict[tuple[str, str], str]:
    """(table, key) -> the source comment of every value line; asserts every value line has one."""
    table, out = "", {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            table = line.strip("[]")
            continue
        match = VALUE_LINE.match(line)
        assert match, f"value line without a '# source' comment: {line!r}"
        out[(table, match.group(1))] = match.group(3)
    return out


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_annotated_toml_round_trips(path: Path) -> None:
    scenario = load_scenario(path)
    text = annotated_toml(scenario, {}, header="first line\nsecond line")
    assert text.startswith("# first line\n# second line\n")
    assert validate_scenario(tomllib.loads(text), str(path)) == scenario
    lines = value_lines(text)
    assert len(lines) > 20
    assert lines[("review", "cores")] == "fact §1.1: 20 in Sept 2014"  # the schema's source


def test_annotated_toml_puts_a_given_source_on_its_key_line() -> None:
    scenario = load_scenario(TEMPLATE)
    sources = {"areas.libvirt.defects_mean": "fitted: juno, 95 % interval [3.1, 5.2]",
               "review.reviews_per_core_per_day": "fitted: # with a hash",
               "arrivals.weekly_profile": "data: juno"}
    text = annotated_toml(scenario, sources)
    lines = value_lines(text)
    assert lines[("areas.libvirt", "defects_mean")] == sources["areas.libvirt.defects_mean"]
    assert lines[("review", "reviews_per_core_per_day")] == sources["review.reviews_per_core_per_day"]
    assert lines[("arrivals", "weekly_profile")] == "data: juno"
    assert lines[("areas.api", "defects_mean")] != sources["areas.libvirt.defects_mean"]  # only its own key
    assert validate_scenario(tomllib.loads(text)) == scenario


def test_annotated_toml_writes_awkward_strings() -> None:
    scenario = load_scenario(SCENARIOS / "mmc.toml")
    text = 'quote " hash # backslash \\ tab \t newline \n accents é ✓ emoji 😀'
    awkward = scenario.model_copy(update={"scenario": scenario.scenario.model_copy(update={"description": text})})
    assert validate_scenario(tomllib.loads(annotated_toml(awkward, {}))) == awkward


def test_annotated_toml_escapes_delete() -> None:
    scenario = load_scenario(SCENARIOS / "mmc.toml")
    odd = scenario.model_copy(update={"scenario": scenario.scenario.model_copy(update={"name": "del \x7f"})})
    assert validate_scenario(tomllib.loads(annotated_toml(odd, {}))) == odd


def test_annotated_toml_keeps_a_multiline_source_on_its_line() -> None:
    scenario = load_scenario(SCENARIOS / "mmc.toml")
    text = annotated_toml(scenario, {"review.cores": "first\nsecond"})
    assert validate_scenario(tomllib.loads(text)) == scenario
    assert "cores = 5  # first second" in text


# ---------------------------------------------------------------------------- abandonment, facts


def test_abandonment_adjusted_rates_divide_by_the_share_that_merges() -> None:
    index = pd.MultiIndex.from_tuples(
        [("api", "abandoned_fraction"), ("libvirt", "abandoned_fraction"), ("compute", "abandoned_fraction"),
         ("all", "abandoned_fraction"), ("other", "merged_per_week")], names=["area", "metric"])
    summary = pd.DataFrame({"mean": [0.1, 0.25, 1 / 3, 0.5, 99.0], "sd": 0.0, "n": 4}, index=index)
    rates = abandonment_adjusted_rates(summary, {"api": 1.8, "libvirt": 3.0, "compute": 1.0, "other": 0.7})
    assert rates == {
        "areas.api.rate_per_day": 2.0,  # 1.8 / 0.9
        "areas.libvirt.rate_per_day": 4.0,  # 3 / 0.75
        "areas.compute.rate_per_day": 1.5,  # 1 / (2/3) = 1.4999999999999998, rounded to 5 decimals
        "areas.other.rate_per_day": 0.7,  # no abandoned share simulated: unchanged
    }
    assert abandonment_adjusted_rates(summary, {}) == {}


def test_an_undefined_abandoned_share_leaves_the_rate_as_observed() -> None:
    """NaN (nothing closed in any replication) is no abandonment to correct for, not the 95 % cap."""
    index = pd.MultiIndex.from_tuples([("api", "abandoned_fraction")], names=["area", "metric"])
    summary = pd.DataFrame({"mean": [math.nan], "sd": math.nan, "n": 0}, index=index)
    assert abandonment_adjusted_rates(summary, {"api": 1.8}) == {"areas.api.rate_per_day": 1.8}


def test_fact_targets() -> None:
    facts = fact_targets()
    assert list(facts.columns) == TARGET_COLUMNS
    assert list(facts["metric"]) == ["abandoned_fraction", "time_to_approval_median_days",
                                     "virt_time_to_approval_median_days"]
    approval = facts.set_index("metric")
    # facts §1.3: 11 d all nova, 18 d virt, read with 90 % intervals of +-15 % and +-25 %
    assert approval.loc["time_to_approval_median_days", ["observed", "low", "high"]].tolist() == pytest.approx(
        [11.0, 9.35, 12.65])
    assert approval.loc["virt_time_to_approval_median_days", ["observed", "low", "high"]].tolist() == pytest.approx(
        [18.0, 13.5, 22.5])
    row = facts.iloc[0]
    assert (row["area"], row["phase"], row["metric"], row["n"]) == ("all", "fact", "abandoned_fraction", 0)
    assert math.isnan(row["q"])
    assert (row["observed"], row["low"], row["high"]) == (0.15, 0.05, 0.30)
    # the 90 % interval read as +-1.645 sd of log(1 + share)
    assert row["log_sd"] == pytest.approx((math.log(1.30) - math.log(1.05)) / (2 * 1.6448536269514722), rel=1e-12)


def test_every_fact_target_is_a_simulated_metric() -> None:
    scenario = validate_scenario({**SMALL, "authors": {"response_median_days": 1.5}})  # abandonment on
    metrics = simulated_metrics(scenario, 0, 3)
    keys = set(zip(metrics["area"], metrics["metric"]))
    facts = fact_targets()
    assert set(zip(facts["area"], facts["metric"])) <= keys
    calibrator = Calibrator(SMALL, facts, RATES, replications=range(2), seed=3, log=quiet)
    assert np.isfinite(calibrator.residuals(calibrator.simulate())).all()


def test_default_parameters_are_inside_their_bounds() -> None:
    template = load_scenario(TEMPLATE)
    dumped = template.model_dump()
    for p in [*shared_parameters(), *area_parameters(template.area_names)]:
        node = dumped
        for part in p.key.split("."):
            node = node[part]
        assert p.lower < p.upper, p.key
        assert p.lower <= node <= p.upper, f"{p.key} = {node} outside [{p.lower}, {p.upper}]"


# ---------------------------------------------------------------------------- the CLI


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def out_args(tmp_path: Path) -> list[str]:
    return ["--out", str(tmp_path / "out.toml"), "--results", str(tmp_path / "res"),
            "--figures", str(tmp_path / "fig"), "--workers", "1"]


def test_calibrate_cli_missing_data_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    line = one_error_line(run_cli("calibrate", "--cycle", "juno", "--data", str(missing), *out_args(tmp_path)))
    assert str(missing) in line and "not found" in line
    assert not (tmp_path / "out.toml").exists() and not (tmp_path / "res").exists()


def test_calibrate_cli_unknown_cycle(tmp_path: Path) -> None:
    line = one_error_line(run_cli("calibrate", "--cycle", "nosuch", *out_args(tmp_path)))
    assert "'nosuch'" in line and "juno" in line  # names the releases that exist
    assert not (tmp_path / "out.toml").exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("[[change]\nkey = 1\n", "malformed TOML"),
    ('[[change]]\nkey = "review.cores"\nvalue = 15\n', "change[0]: missing reason"),
])
def test_calibrate_cli_bad_changes_file(tmp_path: Path, text: str, expected: str) -> None:
    changes = tmp_path / "changes.toml"
    changes.write_text(text, encoding="utf-8")
    line = one_error_line(run_cli("calibrate", "--cycle", "kilo", "--predict-from", str(SCENARIOS / "monolith.toml"),
                                  "--changes", str(changes), *out_args(tmp_path)))
    assert str(changes) in line and expected in line


@pytest.mark.slow
def test_calibrate_cli_end_to_end(tmp_path: Path) -> None:
    """A tiny calibration of Juno (budget 3, one replication per evaluation, 14-day warm-up): it
    runs in ~25 s and writes the annotated scenario, the report tables and the figure."""
    template = tmp_path / "template.toml"
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "\nwarmup_days = 182\n" in text
    template.write_text(text.replace("\nwarmup_days = 182\n", "\nwarmup_days = 14\n"), encoding="utf-8")
    out, results, figures = tmp_path / "juno.toml", tmp_path / "res", tmp_path / "fig"
    result = run_cli("calibrate", "--cycle", "juno", "--budget", "3", "--replications", "1",
                     "--check-replications", "2", "--workers", "1", "--template", str(template),
                     "--out", str(out), "--results", str(results), "--figures", str(figures), timeout=300)
    assert result.returncode in (0, 3), result.stderr[-3000:]
    assert f"wrote {out}" in result.stdout
    # The verdict: the last line counts the criteria met; exit 3 exactly when one is missed.
    verdict = result.stdout.strip().splitlines()[-1]
    met, total = (int(x) for x in re.match(r"(\d+) of (\d+) criteria met", verdict).groups())
    assert total >= 10 and (result.returncode == 3) == (met < total), verdict

    scenario = load_scenario(out)
    assert scenario.scenario.name == "nova-juno"
    assert scenario.run.cycle_weeks == 26 and scenario.run.warmup_days == 14
    assert scenario.area_names == load_scenario(template).area_names
    lines = value_lines(out.read_text(encoding="utf-8"))
    assert lines[("review", "reviews_per_core_per_day")].startswith("fitted: juno, 95 % interval [")
    assert lines[("areas.libvirt", "rate_per_day")].startswith("data + fitted: juno ")
    assert lines[("run", "cycle_weeks")].startswith("data: juno ")
    assert lines[("cycle", "weekend_activity")].startswith("data: juno ")

    fitted = pd.read_csv(results / "fitted.csv")
    assert list(fitted.columns) == ["key", "value", "low", "high", "identified"]
    expected_keys = [p.key for p in shared_parameters()] + [p.key for p in area_parameters(scenario.area_names)]
    assert sorted(fitted["key"]) == sorted(expected_keys)
    assert ((fitted["low"] <= fitted["value"]) & (fitted["value"] <= fitted["high"])).all()
    dumped = scenario.model_dump()
    for row in fitted.itertuples():
        node = dumped
        for part in row.key.split("."):
            node = node[part]
        assert node == pytest.approx(row.value, rel=1e-12), row.key

    criteria = pd.read_csv(results / "criteria.csv")
    assert list(criteria.columns) == ["criterion", "value", "target", "passed"]
    assert criteria["criterion"].iloc[-1] == "merged per week error"
    targets = pd.read_csv(results / "targets.csv")
    assert set(TARGET_COLUMNS) <= set(targets.columns)
    assert {"simulated", "sim_half", "rel_error", "inside"} <= set(targets.columns)
    assert set(targets["area"]) == {*scenario.area_names, "all", "kind:bug", "kind:blueprint", "kind:other"}
    published = pd.read_csv(results / "published_checks.csv")
    assert list(published["metric"]) == [m for m, _, _ in PUBLISHED]  # every published number has its simulated twin
    assert (published["simulated"] > 0).all() and np.allclose(published["ratio"], published["simulated"] / published["published"])
    report = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "## Checks against published numbers (time to approval: also fit targets; the rest not fitted)" in report
    assert "## Shrinkage of the per-area parameters" in report and "| lambda | fold |" in report
    covariance = pd.read_csv(tmp_path / "juno_covariance.csv", comment="#", index_col="key")
    assert list(covariance.index) == list(covariance.columns) == list(fitted["key"])
    assert np.allclose(covariance.to_numpy(), covariance.to_numpy().T) and (np.diag(covariance.to_numpy()) >= 0).all()
    assert (pd.read_csv(results / "shrinkage_cv.csv")["heldout_mse"] >= 0).all()
    activity = scenario.review.weekly_activity
    assert activity is not None and len(activity) == scenario.run.cycle_weeks
    assert sum(activity) / len(activity) == pytest.approx(1.0, abs=0.01)
    for name in ("calibration_juno.png", "calibration_juno.svg"):
        assert (figures / name).stat().st_size > 1000, name


# ------------------------------------------------------------------------------ activity and kinds


def cycle_of(merged_days: list[float], weeks: int) -> CycleData:
    """A CycleData with changes merged on the given days after the cycle's start."""
    start = pd.Timestamp("2020-01-01T00:00:00Z")
    merged = pd.DataFrame({"merged_at": [start + pd.Timedelta(days=d) for d in merged_days]})
    return CycleData("c", start, start + pd.Timedelta(weeks=weeks), merged, merged, ("all",), ())


def test_activity_profile_is_the_smoothed_merge_series_over_its_mean() -> None:
    # merges per week 1, 3, 2, 6: centred 3-week means 2, 2, 11/3, 4; their mean 35/12
    days = [0.5] + [7.5] * 3 + [14.5] * 2 + [21.5] * 6
    profile = activity_profile(cycle_of(days, 4))
    expected = np.array([2.0, 2.0, 11 / 3, 4.0]) / (35 / 12)
    assert profile == pytest.approx(expected.round(3).tolist())
    assert activity_profile(cycle_of(days, 4), smoothing_weeks=1) == pytest.approx(
        (np.array([1, 3, 2, 6]) / 3.0).round(3).tolist())
    with pytest.raises(DataError, match="without merges"):
        activity_profile(cycle_of([0.5, 1.0], 4), smoothing_weeks=1)


def test_every_target_kind_is_a_simulated_metric() -> None:
    scenario = validate_scenario(SMALL)
    metrics = simulated_metrics(scenario, 0, 3)
    kinds = metrics[metrics["area"].str.startswith("kind:")]
    assert set(kinds["area"]) <= {"kind:bug", "kind:blueprint", "kind:other"} and len(kinds) > 0
    assert set(kinds["metric"]) == {"time_to_merge_median_days", "time_to_merge_p75_days", "time_to_merge_p90_days"}
    for _, sub in kinds.groupby("area"):
        values = sub.set_index("metric")["value"]
        assert values["time_to_merge_median_days"] <= values["time_to_merge_p75_days"] <= values["time_to_merge_p90_days"]


def test_forward_jacobian_steps_ten_percent_in_every_log_parameter() -> None:
    """Regression: scipy's relative diff_step is x * 0.1, i.e. a machine-epsilon step for a
    parameter at 1 (log 0); such parameters (defects_cv, the kind factors) never moved."""
    a = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    calls: list[np.ndarray] = []

    def fun(x: np.ndarray) -> np.ndarray:
        calls.append(np.array(x))
        return a @ x + x[0] ** 2

    x = np.array([0.0, 1.0, np.log(3.0)])
    upper = np.array([1.0, 1.05, 5.0])  # the second parameter steps backwards, inside its bound
    jac = forward_jacobian(fun, x, fun(x), upper)
    steps = [c - x for c in calls[1:]]
    assert [float(np.abs(s).max()) for s in steps] == pytest.approx([0.1, 0.1, 0.1])
    assert steps[1][1] == pytest.approx(-0.1)
    expected = a.copy()
    expected[:, 0] += 0.1  # (x0 + h)^2 - x0^2 over h at x0 = 0
    assert jac == pytest.approx(expected)


def test_a_prediction_replaces_the_base_cycles_activity_rhythm_by_a_flat_one() -> None:
    assert flat_activity(validate_scenario(SMALL), "kilo") == []
    raw = {**SMALL, "review": {**SMALL["review"], "weekly_activity": [0.5, 1.5] * 4}}
    [(key, value, reason)] = flat_activity(validate_scenario(raw), "kilo")
    assert (key, value) == ("review.weekly_activity", None) and "kilo" in reason
    predicted = {**raw, "review": {**raw["review"], "weekly_activity": value}}
    assert validate_scenario(predicted).review.weekly_activity is None
    # the fitted cycle itself on fresh seeds keeps its own rhythm
    own = {**raw, "scenario": {**raw["scenario"], "name": "nova-kilo"}}
    assert flat_activity(validate_scenario(own), "kilo") == []


def test_a_trial_fit_never_writes_the_committed_calibration() -> None:
    """Without --write every output goes under results/calibrate/<cycle>/; --write names the committed
    files; an explicit --out, --results or --figures wins either way."""
    from sim.calibrate.cli import CALIBRATED, calibration_paths
    from sim.cli import build_parser

    def paths(*extra: str) -> tuple[Path, Path, Path]:
        return calibration_paths(build_parser().parse_args(["calibrate", "--cycle", "juno", *extra]))

    scratch = Path("results") / "calibrate" / "juno"
    assert paths() == (scratch / "juno.toml", scratch / "report", scratch / "figures")
    assert all(CALIBRATED not in p.parents and p.parts[0] == "results" for p in paths())
    assert paths("--write") == (CALIBRATED / "juno.toml", Path("results/calibration_juno"), Path("figures"))
    assert paths("--write", "--out", "x.toml", "--figures", "f") == (Path("x.toml"), Path("results/calibration_juno"),
                                                                    Path("f"))
    assert paths("--results", "r")[1] == Path("r")


def test_a_fit_logs_its_progress_with_counts(observed: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    """Each stage logs done/total evaluations on stderr (the last line at least), so a long fit in a
    log file is never silent for a whole stage."""
    small_fit(observed, 5, None)
    err = capsys.readouterr().err
    stages = [line for line in err.splitlines() if line.startswith("fit ") and " evaluations (" in line]
    assert stages, err
    assert all(re.match(r"fit \w+: \d+/\d+ evaluations \(\d+%\), ", line) for line in stages), stages

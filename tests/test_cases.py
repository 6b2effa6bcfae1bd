"""The natural-experiment registry (sim.cases, ``python -m sim validate cases``).

- the shipped cases (data/validation/: the Kilo core-team cut, Icehouse -> Juno, Kilo -> Liberty)
  load, state what the facts say changed, and run end to end; their cycle scenarios are predictions
  from the committed Juno fit (every fitted value is Juno's); the CSV has sim.cases.COLUMNS, every
  verdict follows the rule and the exit code follows the verdicts (a miss is reported, exit 3, not
  failed: the cases confront the model with what happened);
- the values they read off the data are those sim.calibrate.observe.targets computes for each
  case's two cycles (subset all and per kind, where the model's area mapping plays no part);
- a researcher's case with explicit numbers runs without code; bad case files and a foreign --out
  file are refused with exit 2 and one line;
- the rule itself, on a case whose before and after are one scenario: under common random numbers
  every replication predicts a ratio of exactly 1, so the verdict depends on the observed numbers
  and the factor alone (boundaries included).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from simtest import MMC, MONOLITH, run_cli, run_in_process
from test_policies import small

from sim import cases
from sim.calibrate.data import NOVA_CHANGES, load_changes
from sim.calibrate.observe import cycle_data, targets
from sim.errors import InputError
from sim.paths import CASES_DIR
from sim.runs.metrics import KIND_AREAS

KILO = CASES_DIR / "kilo_core_cut.toml"
SHIPPED = {"icehouse-juno-roster": ("icehouse", "juno"), "kilo-core-cut": ("juno", "kilo"),
           "liberty-gate-roster": ("kilo", "liberty")}  # case -> observed cycles (before, after)
JUNO = CASES_DIR.parent / "calibrated" / "juno.toml"
JUNO_FITTED = CASES_DIR.parent / "calibrated" / "juno_fitted.csv"


def holds_by_rule(row: pd.Series) -> bool:
    ratio, factor = row["observed_ratio"], row["factor"]
    return bool(math.isfinite(row["predicted_ratio"]) and ratio / factor <= row["predicted_ratio"] <= ratio * factor)


def check_table(table: pd.DataFrame, code: int) -> None:
    """The columns, the ratios, every verdict by the rule, and the exit code by the verdicts."""
    assert list(table.columns) == cases.COLUMNS
    assert len(table) > 0
    for _, row in table.iterrows():
        assert row["observed_ratio"] == pytest.approx(row["observed_after"] / row["observed_before"], rel=1e-12)
        assert row["predicted_low"] <= row["predicted_ratio"] <= row["predicted_high"]
        assert bool(row["holds"]) == holds_by_rule(row), row.to_dict()
    assert code == (0 if table["holds"].all() else 3)


# ------------------------------------------------------------------------------ the shipped case


def test_the_shipped_cases_load() -> None:
    loaded = {lc.case.name: lc for lc in cases.load_cases()}
    assert list(loaded) == sorted(SHIPPED)  # file name order
    for name, cycles in SHIPPED.items():
        case = loaded[name].case
        assert case.observed.cycles is not None
        assert (case.observed.cycles.before, case.observed.cycles.after) == cycles
        assert case.factor == 1.25 and len(case.outcome) == 6
        assert all(o.metric in cases.DATA_METRICS for o in case.outcome)
        assert loaded[name].before.scenario.name != loaded[name].after.scenario.name
    kilo = loaded["kilo-core-cut"]
    assert kilo.path == KILO
    assert kilo.before.review.cores == 20 and kilo.after.review.cores == 15 and kilo.after.review.reference_cores == 20
    icehouse = loaded["icehouse-juno-roster"]
    assert icehouse.before.review.cores == 19 and icehouse.before.review.reference_cores == 20
    assert icehouse.after.review.cores == 20
    liberty = loaded["liberty-gate-roster"]
    assert liberty.before.review.cores == 15 and liberty.after.review.cores == 14
    jobs = {name: {j.name: j.count for j in lc.gate.jobs} for name, lc in
            (("kilo", liberty.before), ("liberty", liberty.after))}
    assert jobs == {"kilo": {"dsvm": 9, "unit": 4}, "liberty": {"dsvm": 11, "unit": 6}}


def _value(scenario: object, key: str) -> object:
    for part in key.split("."):
        scenario = scenario[part] if isinstance(scenario, dict) else getattr(scenario, part)
    return scenario


@pytest.mark.parametrize("cycle", ["icehouse", "kilo", "liberty"])
def test_the_cycle_scenarios_are_predictions_from_the_committed_juno_fit(cycle: str) -> None:
    """Every value the Juno calibration fitted is the same in the cycle's scenario: after a refit
    (make calibrate) the cases' scenarios must be predicted again, not left on the old fit."""
    from sim.scenario import load_scenario

    fitted = pd.read_csv(JUNO_FITTED, comment="#")["key"].tolist()
    assert len(fitted) >= 10
    juno, other = load_scenario(JUNO), load_scenario(CASES_DIR.parent / "calibrated" / f"{cycle}.toml")
    for key in fitted:
        assert _value(other, key) == _value(juno, key), key
    assert other.scenario.name == f"nova-{cycle}-predicted"


@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, pd.DataFrame]:
    """`python -m sim validate cases --replications 2` on the shipped registry."""
    out = tmp_path_factory.mktemp("cases") / "cases.csv"
    proc = run_cli("validate", "cases", "--replications", "2", "--workers", "1", "--out", str(out), timeout=300)
    assert proc.returncode in (0, 3), proc.stderr
    return proc.returncode, proc.stdout, pd.read_csv(out)


def test_validate_cases_writes_the_table_and_exits_by_its_verdicts(shipped_run: tuple[int, str, pd.DataFrame]) -> None:
    code, stdout, table = shipped_run
    check_table(table, code)
    expected = [(lc.case.name, o.subset, o.metric) for lc in cases.load_cases() for o in lc.case.outcome]
    assert [(r.case, r.subset, r.metric) for r in table.itertuples()] == expected
    assert (table["replications"] == 2).all() and (table["factor"] == 1.25).all()
    assert f"{int(table['holds'].sum())} of {len(table)} outcomes" in stdout
    # the data's 90 % bootstrap interval of the ratio is an interval around a ratio near 1
    assert (table["observed_low"] < table["observed_high"]).all()


@pytest.fixture(scope="module")
def cycle_targets() -> dict[str, pd.DataFrame]:
    """targets() of Juno and Kilo, every change in one model area (the mapping cannot matter for
    ``all`` and the kinds)."""
    table = load_changes(NOVA_CHANGES)
    cycles = sorted({c for pair in SHIPPED.values() for c in pair})
    return {cycle: targets(cycle_data(table, cycle, {"nova": ["other"]}, ()), n_boot=10) for cycle in cycles}


def test_observed_values_are_the_calibration_targets(shipped_run: tuple[int, str, pd.DataFrame],
                                                     cycle_targets: dict[str, pd.DataFrame]) -> None:
    _, _, table = shipped_run
    checked = 0
    for row in table.itertuples():
        if row.subset != "all" and row.subset not in KIND_AREAS:
            continue
        for side, cycle in zip(("before", "after"), SHIPPED[row.case]):
            t = cycle_targets[cycle]
            hit = t[(t["area"] == row.subset) & (t["metric"] == row.metric)]
            assert len(hit) == 1, (row.subset, row.metric)
            assert getattr(row, f"observed_{side}") == pytest.approx(hit["observed"].iloc[0], rel=1e-12)
            assert getattr(row, f"n_{side}") == hit["n"].iloc[0]
        checked += 1
    assert checked == 4 * len(SHIPPED)  # per case: all (median, p75), kind:blueprint, kind:bug


def test_observed_from_data_pure_call_matches_the_csv(shipped_run: tuple[int, str, pd.DataFrame]) -> None:
    """The same reading without the command line, group subsets included."""
    _, _, csv = shipped_run
    table = load_changes(NOVA_CHANGES)
    pairs = [(lc, o) for lc in cases.load_cases() for o in lc.case.outcome]
    assert len(pairs) == len(csv)
    for (loaded, outcome), row in zip(pairs, csv.itertuples()):
        observed = cases.observed_from_data(loaded, outcome, table)
        for key in ("observed_before", "observed_after", "n_before", "n_after", "observed_ratio"):
            assert observed[key] == pytest.approx(getattr(row, key), rel=1e-12), key


# ------------------------------------------------------------------------------ a researcher's case


def write_case(directory: Path, text: str, name: str = "case.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


NUMBERS_CASE = f"""
[case]
name = "fewer-cores"
description = "a researcher's what-if with published numbers"
source = "a test"
before = "{MONOLITH}"
set = ["review.cores=15"]
factor = 10.0

[[outcome]]
subset = "all"
metric = "time_to_merge_median_days"
before = 10.0
after = 12.0
n_before = 100
source = "a made-up table"

[[outcome]]
subset = "group:drivers"
metric = "merged_per_week"
before = 40.0
after = 30.0
source = "another made-up table"
"""


def test_a_researchers_case_runs_without_code(tmp_path: Path) -> None:
    directory = write_case(tmp_path / "cases", NUMBERS_CASE).parent
    loaded = cases.load_case(directory / "case.toml")
    assert loaded.before.review.cores == 20 and loaded.after.review.cores == 15
    assert loaded.after.scenario.name == f"{loaded.before.scenario.name}-after"
    out = tmp_path / "out" / "cases.csv"
    proc = run_cli("validate", "cases", "--cases", str(directory), "--replications", "2", "--workers", "1",
                   "--out", str(out), timeout=300)
    assert proc.returncode in (0, 3), proc.stderr
    table = pd.read_csv(out)
    check_table(table, proc.returncode)
    first, second = table.iloc[0], table.iloc[1]
    assert (first["observed_before"], first["observed_after"], first["observed_ratio"]) == (10.0, 12.0, 1.2)
    assert first["n_before"] == 100 and math.isnan(first["n_after"]) and math.isnan(first["observed_low"])
    assert first["source"] == "a made-up table" and second["source"] == "another made-up table"
    assert second["observed_ratio"] == pytest.approx(0.75)
    assert (table["factor"] == 10.0).all()


# ------------------------------------------------------------------------------ bad case files

CASE_HEAD = f"""
[case]
name = "bad"
source = "a test"
before = "{MMC}"
set = ["review.cores=6"]
"""
NUMBERS = 'before = 10.0\nafter = 12.0\nsource = "x"\n'
CYCLES = '[observed]\ncycles = { before = "juno", after = "kilo" }\n'

BAD_CASES = {
    "missing_outcome": (CASE_HEAD, ["outcome"]),
    "unknown_data_metric": (CASE_HEAD + CYCLES + '[[outcome]]\nmetric = "sim_events"\n',
                            ["outcome[0].metric", "'sim_events'", "cannot be read off the data"]),
    "numbers_without_source": (CASE_HEAD + '[[outcome]]\nmetric = "time_to_merge_median_days"\nbefore = 1.0\nafter = 2.0\n',
                               ["outcome[0]", "source"]),
    "numbers_and_cycles": (CASE_HEAD + CYCLES + f'[[outcome]]\nmetric = "time_to_merge_median_days"\n{NUMBERS}',
                           ["outcome[0]", "exclude each other"]),
    "factor_one": (CASE_HEAD.replace('name = "bad"', 'name = "bad"\nfactor = 1.0') +
                   f'[[outcome]]\nmetric = "time_to_merge_median_days"\n{NUMBERS}', ["factor", "greater than 1"]),
    "unknown_table": (CASE_HEAD + f'[[outcome]]\nmetric = "time_to_merge_median_days"\n{NUMBERS}[results]\nx = 1\n',
                      ["unknown tables", "'results'"]),
    "unknown_case_key": (CASE_HEAD.replace('name = "bad"', 'name = "bad"\ncolour = "red"') +
                         f'[[outcome]]\nmetric = "time_to_merge_median_days"\n{NUMBERS}', ["colour"]),
    "no_change": (CASE_HEAD.replace('set = ["review.cores=6"]', "") +
                  f'[[outcome]]\nmetric = "time_to_merge_median_days"\n{NUMBERS}', ["after", "set"]),
    "missing_scenario": (CASE_HEAD.replace(str(MMC), "nope.toml") +
                         f'[[outcome]]\nmetric = "time_to_merge_median_days"\n{NUMBERS}', ["nope.toml", "not found"]),
    "negative_number": (CASE_HEAD + '[[outcome]]\nmetric = "time_to_merge_median_days"\nbefore = -1.0\nafter = 2.0\n'
                        'source = "x"\n', ["outcome.0.before", "greater than 0"]),
    "bad_set": (CASE_HEAD.replace("review.cores=6", "review.corez=6") +
                f'[[outcome]]\nmetric = "time_to_merge_median_days"\n{NUMBERS}', ["review.corez"]),
    "malformed": ("[case\nname = 1\n", ["not valid TOML"]),
}


def assert_refused(code: int, stderr: str, out: Path, *fragments: str) -> str:
    assert code == 2, (code, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not out.exists()
    return lines[0]


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_a_bad_case_file_exits_2_naming_file_and_field(name: str, tmp_path: Path) -> None:
    text, fragments = BAD_CASES[name]
    path = write_case(tmp_path / "cases", text, f"{name}.toml")
    out = tmp_path / "cases.csv"
    code, _, stderr = run_in_process(["validate", "cases", "--cases", str(path.parent), "--replications", "2",
                                      "--workers", "1", "--out", str(out)])
    assert_refused(code, stderr, out, str(path), *fragments)
    # the same refusal without the command line
    with pytest.raises(InputError) as exc:
        cases.load_case(path)
    assert str(exc.value) in stderr


@pytest.mark.parametrize("observed", ["numbers", "data"])
def test_a_subset_that_does_not_exist_exits_2(observed: str, tmp_path: Path) -> None:
    """A subset neither the model nor the data has (for a data case: the area mapping of the before
    scenario, here the shipped Kilo case's): exit 2, one line naming the file and the subset."""
    if observed == "numbers":
        text = CASE_HEAD + f'[[outcome]]\nsubset = "nowhere"\nmetric = "time_to_merge_median_days"\n{NUMBERS}'
    else:
        text = KILO.read_text(encoding="utf-8").replace("../calibrated/", f"{KILO.parent.parent}/calibrated/")
        text = text.replace('subset = "kind:bug"', 'subset = "nowhere"')
    path = write_case(tmp_path / "cases", text, "subset.toml")
    out = tmp_path / "cases.csv"
    code, _, stderr = run_in_process(["validate", "cases", "--cases", str(path.parent), "--replications", "2",
                                      "--workers", "1", "--out", str(out)], seconds=120)
    assert_refused(code, stderr, out, str(path), "'nowhere'")


def test_an_empty_registry_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "cases.csv"
    code, _, stderr = run_in_process(["validate", "cases", "--cases", str(tmp_path / "empty"), "--out", str(out)])
    assert_refused(code, stderr, out, str(tmp_path / "empty"), "no *.toml")


# ------------------------------------------------------------------------------ --out


QUICK_CASE = CASE_HEAD + f'[[outcome]]\nmetric = "time_to_merge_median_days"\n{NUMBERS}'


def test_a_foreign_out_file_is_refused_unless_forced(tmp_path: Path) -> None:
    directory = write_case(tmp_path / "cases", QUICK_CASE).parent
    out = tmp_path / "cases.csv"
    out.write_text("my notes\n", encoding="utf-8")
    argv = ["validate", "cases", "--cases", str(directory), "--replications", "2", "--workers", "1", "--out", str(out)]
    code, _, stderr = run_in_process(argv)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and "--force" in lines[0], stderr
    assert out.read_text(encoding="utf-8") == "my notes\n"
    code, _, stderr = run_in_process([*argv, "--force"], seconds=120)
    assert code in (0, 3), stderr
    check_table(pd.read_csv(out), code)
    # a file of ours is replaced without --force
    code, _, stderr = run_in_process(argv, seconds=120)
    assert code in (0, 3), stderr
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(cases.COLUMNS)


# ------------------------------------------------------------------------------ the rule


OBSERVED = [  # (before, after, factor, holds) against a predicted ratio of exactly 1
    (10.0, 10.0, 1.25, True),
    (10.0, 20.0, 1.25, False),  # observed 2: 1 < 2 / 1.25
    (10.0, 12.5, 1.25, True),  # observed 1.25: 1.25 / 1.25 = 1, the bound is inclusive
    (10.0, 12.6, 1.25, False),
    (20.0, 10.0, 1.25, False),  # observed 0.5: 1 > 0.5 x 1.25
    (20.0, 10.0, 2.0, True),  # 0.5 x 2 = 1, inclusive
    (10.0, 30.0, 2.0, False),
    (10.0, 30.0, 3.5, True),
]


def test_holds_is_the_factor_rule_on_a_case_predicting_exactly_one(tmp_path: Path) -> None:
    """before and after are one small scenario (renamed): under common random numbers every
    replication's after / before is exactly 1, so the predicted ratio is 1 with a zero-width CI, and
    an outcome holds exactly when observed / factor <= 1 <= observed x factor."""
    sc = small("run.cycle_weeks=4", "run.warmup_days=7", name="same")
    after = sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"name": "same-after"})})
    rows = []
    for factor in sorted({f for *_, f, _ in OBSERVED}):
        outcomes = [{"subset": "all", "metric": "time_to_merge_median_days", "before": b, "after": a, "source": "x"}
                    for b, a, f, _ in OBSERVED if f == factor]
        case = cases.Case.model_validate({"name": f"same-{factor}", "source": "a test", "before": "same.toml",
                                          "set": ["review.cores=8"], "factor": factor, "outcome": outcomes})
        rows += cases.predict(cases.LoadedCase(tmp_path / "same.toml", case, sc, after), 2, 1)
    table = pd.DataFrame(rows, columns=cases.COLUMNS)
    expected = [h for f in sorted({f for *_, f, _ in OBSERVED}) for b, a, ff, h in OBSERVED if ff == f]
    assert (table["predicted_ratio"] == 1.0).all() and (table["predicted_low"] == 1.0).all()
    assert (table["predicted_high"] == 1.0).all() and (table["replications"] == 2).all()
    assert (table["predicted_before"] == table["predicted_after"]).all() and (table["predicted_before"] > 0).all()
    assert table["holds"].tolist() == expected
    text = cases.format_cases(table)
    assert text.count("holds (within") == sum(expected) and text.count("FAILS (beyond") == len(expected) - sum(expected)
    assert f"{sum(expected)} of {len(expected)} outcomes" in text

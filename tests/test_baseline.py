"""The CI regression check (``sim check-baseline``): tiny baselines of small scenarios in tmp dirs.

The test itself is explained in ``sim/baseline/check.py``. A baseline recorded and re-checked with the same code passes (bit-identical); a model change
(monkeypatched reviewer capacity) or a scenario edit (review capacity cut 30 %) fails and the
table names the metric; a scenario edit is a hash warning; an independent rerun (another seed)
passes, as the test's false-alarm budget says it should; writes are atomic; exit codes 0/1/2.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simtest import MMC, MONOLITH, frame_equal, run_cli

from sim import baseline as bl
from sim import simulate
from sim.model.world import World
from sim.runs.compare import compare
from sim.runs.stats import mean_ci, se_from_ci
from sim.scenario import load_scenario

SMALL = ["run.warmup_days=30", "run.cycles=1"]
REPLICATIONS = 8


def write_scenario(path: Path, extends: Path, name: str, extra: str = "") -> Path:
    path.write_text(f'extends = "{extends.as_posix()}"\n\n[scenario]\nname = "{name}"\n{extra}', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline of the monolith and the M/M/5 scenario (shortened), 8 replications, written to disk."""
    root = tmp_path_factory.mktemp("baseline")
    files = [write_scenario(root / "mono.toml", MONOLITH, "mono"), write_scenario(root / "mmc.toml", MMC, "mmc")]
    made = bl.build_baseline(files, overrides=SMALL, replications=REPLICATIONS, seed=5)
    return bl.write_baseline(made, root / "base")


def root_dir(baseline_dir: Path) -> Path:
    """The directory holding the recorded fixture's scenario files."""
    return baseline_dir.parent


def mmc_baseline(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    """A baseline of a copy of the M/M/5 scenario; returns (scenario file, baseline dir)."""
    scenario = write_scenario(tmp_path / "queue.toml", MMC, "queue", extra)
    made = bl.build_baseline([scenario], overrides=SMALL, replications=6, seed=2)
    return scenario, bl.write_baseline(made, tmp_path / "base")


# ------------------------------------------------------------------------ recording


def test_recorded_files_and_round_trip(recorded: Path) -> None:
    assert sorted(p.name for p in recorded.iterdir()) == ["README.md", "baseline.json", "summary.csv"]
    manifest = json.loads((recorded / "baseline.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == REPLICATIONS and manifest["overrides"] == SMALL
    assert [e["name"] for e in manifest["scenarios"]] == ["mono", "mmc"]
    assert all(len(e["sha256"]) == 64 for e in manifest["scenarios"])
    # Content hashes of each scenario file and of every file it extends, and of the model source.
    assert [list(e["inputs"])[-2:] for e in manifest["scenarios"]] == [
        ["data/scenarios/monolith.toml", "data/calibrated/juno.toml"], [bl.record_path(root_dir(recorded) / "mmc.toml"),
                                                                        "data/scenarios/mmc.toml"]]
    assert "sim/simulate.py" in manifest["model_sources"]
    assert manifest["metrics"] == list(bl.CHECKED_METRICS) and manifest["areas"] == list(bl.CHECKED_AREAS)
    assert manifest["family_wise_error_rate"] == bl.DEFAULT_FWER and "driversplit" in manifest["versions"]
    loaded = bl.load_baseline(recorded)
    summary = pd.read_csv(recorded / "summary.csv")
    assert list(summary.columns) == bl.SUMMARY_COLUMNS
    assert set(summary["area"]) == set(bl.CHECKED_AREAS)  # mono has driver groups; mmc only "all"
    frame_equal(loaded.summary, summary)


def test_rewriting_a_loaded_baseline_gives_the_same_bytes(recorded: Path, tmp_path: Path) -> None:
    again = bl.write_baseline(bl.load_baseline(recorded), tmp_path / "again")
    for name in ("README.md", "baseline.json", "summary.csv"):
        assert (again / name).read_bytes() == (recorded / name).read_bytes(), name


def test_summary_is_the_comparison_summary() -> None:
    """run_summary gives exactly the numbers of sim.runs.compare (common random numbers, one seed)."""
    scenarios = [load_scenario(MMC, SMALL), load_scenario(MMC, [*SMALL, 'scenario.name="mmc2"',
                                                                 "review.cores=6"])]
    ours = bl.run_summary(scenarios, 3, 9, workers=2)
    theirs = compare(scenarios, 3, 9).summary
    frame_equal(ours, theirs)


def test_stored_se_is_recovered_from_the_ci() -> None:
    x = np.random.default_rng(0).normal(3.0, 2.0, 17)
    _, low, high, n = mean_ci(x)
    se = se_from_ci(pd.Series([low]), pd.Series([high]), pd.Series([n]), 0.95)[0]
    assert se == pytest.approx(x.std(ddof=1) / math.sqrt(17), rel=1e-12)


# ------------------------------------------------------------------------ the check


def test_unchanged_passes_bit_identical(recorded: Path) -> None:
    result = bl.check_baseline(recorded)
    assert result.passed and not result.warnings
    assert set(result.checked["status"]) == {"identical"}
    # The family: every metric defined in at least two replications of the baseline.
    assert len(result.checked) == int((result.baseline.summary.query("metric in @bl.CHECKED_METRICS")["n"] >= 2).sum())
    assert "PASS" in result.report()


def test_model_change_fails_and_names_the_metric(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A code change with the same scenario files: every core reviews 30 % slower."""
    build_world = simulate.build_world

    def slower_cores(*args: Any, **kwargs: Any) -> World:
        world = build_world(*args, **kwargs)
        for board in world.boards.values():
            for reviewer in board.reviewers:
                reviewer.rate *= 0.7
        return world

    # Patched where the composition root builds each world (a Python module in either build).
    monkeypatch.setattr(simulate, "build_world", slower_cores)
    result = bl.check_baseline(recorded, workers=1)  # in-process: the patch applies
    assert not result.passed and not result.warnings  # the scenarios did not change
    assert result.cause("mono").startswith("no recorded input changed")  # patched in memory, not in a file
    moved = result.moved
    assert set(moved["status"]) == {"moved"}
    keys = set(zip(moved["scenario"], moved["area"], moved["metric"], strict=True))
    # The calibrated monolith's cores are busy nearly all the time already: slower cores show in
    # its time to merge; the unsaturated M/M/c queue shows them in the utilization too.
    assert ("mono", "all", "time_to_merge_median_days") in keys and ("mmc", "all", "core_utilization") in keys
    for scenario, metric in (("mono", "time_to_merge_median_days"), ("mmc", "core_utilization")):
        row = moved[(moved["scenario"] == scenario) & (moved["metric"] == metric)].iloc[0]
        assert row["new_mean"] > row["old_ci_high"] and abs(row["t"]) > row["limit"]
    report = result.report()
    assert "FAIL" in report and "core_utilization" in report and "stored [95% CI]" in report
    assert "check-baseline --update" in report


def test_scenario_edit_fails_and_warns(tmp_path: Path) -> None:
    """Review capacity cut 30 % in the scenario file: the hash changes (warning) and metrics move."""
    scenario, base = mmc_baseline(tmp_path)
    write_scenario(scenario, MMC, "queue", "\n[review]\nreviews_per_core_per_day = 0.7\n")
    result = bl.check_baseline(base)
    assert not result.passed
    assert len(result.warnings) == 1 and str(scenario) in result.warnings[0] and "changed" in result.warnings[0]
    assert "time_to_first_review_median_days" in set(result.moved["metric"])
    assert result.cause("queue").startswith(f"{scenario} changed since the baseline was recorded")
    assert f"cause (queue): {scenario} changed" in result.report()


def test_cosmetic_scenario_edit_only_warns(tmp_path: Path) -> None:
    scenario, base = mmc_baseline(tmp_path)
    write_scenario(scenario, MMC, "queue", 'description = "same queue, new words"\n')
    result = bl.check_baseline(base)
    assert result.passed and set(result.checked["status"]) == {"identical"}
    assert len(result.warnings) == 1 and "sha256" in result.warnings[0]


def test_independent_rerun_passes(recorded: Path) -> None:
    """Another seed is the null hypothesis at its most pessimistic (independent replications)."""
    old = bl.load_baseline(recorded)
    files = [e.path for e in old.scenarios]
    new = bl.build_baseline(files, overrides=SMALL, replications=REPLICATIONS, seed=6, workers=2)
    table = bl.compare_summaries(old.summary, new.summary)
    assert (table["status"] != "moved").all(), bl.format_table(table[table["status"] == "moved"])
    assert (table["status"] == "ok").sum() > len(table) / 2  # really different numbers, within noise


def summary_row(scenario: str, metric: str, values: np.ndarray | list[float], area: str = "all") -> tuple:
    mean, low, high, n = mean_ci(values)
    return (scenario, "p", area, metric, mean, low, high, n)


def test_limit_is_welch_t_with_bonferroni() -> None:
    """|diff| just inside / just outside t(alpha / 2m, Welch df) x sqrt(SE1^2 + SE2^2)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(10, 1, 20), rng.normal(0, 2, 20)
    se = math.sqrt(a.var(ddof=1) / 20 + b.var(ddof=1) / 20)
    df = se ** 4 / ((a.var(ddof=1) / 20) ** 2 / 19 + (b.var(ddof=1) / 20) ** 2 / 19)
    m, fwer = 4, 0.05
    limit = stats.t.isf(fwer / m / 2, df)
    metrics_ = list(bl.CHECKED_METRICS[:4])
    old = pd.DataFrame([summary_row("s", metric, a) for metric in metrics_], columns=bl.SUMMARY_COLUMNS)
    # The new runs have b's spread; metric 0 moves by 0.999 x limit x SE (ok), metric 1 by -1.001 x
    # (moved), metric 2 is a again (identical), metric 3 is b (far off: moved).
    centred = b - b.mean() + a.mean()
    new_values = {metrics_[0]: centred + 0.999 * limit * se, metrics_[1]: centred - 1.001 * limit * se,
                  metrics_[2]: a, metrics_[3]: b}
    new = pd.DataFrame([summary_row("s", k, v) for k, v in new_values.items()], columns=bl.SUMMARY_COLUMNS)
    table = bl.compare_summaries(old, new, metrics_, ["all"], fwer).set_index("metric")
    assert list(table["status"]) == ["ok", "moved", "identical", "moved"]
    assert table.loc[metrics_[0], "limit"] == pytest.approx(limit, rel=1e-9)
    assert table.loc[metrics_[0], "se_diff"] == pytest.approx(se, rel=1e-9)
    assert table.loc[metrics_[1], "t"] == pytest.approx(-1.001 * limit, rel=1e-6)


def test_undefined_missing_skipped_and_constant() -> None:
    rows = [
        summary_row("s", "merged_per_week", [1.0, 2.0, 3.0]),  # becomes undefined
        summary_row("s", "abandoned_fraction", [0.1, 0.2, 0.3]),  # disappears from the new run
        summary_row("s", "held_days_mean", [np.nan, np.nan]),  # undefined in the baseline: skipped
        summary_row("s", "core_utilization", [0.5, 0.5, 0.5]),  # constant: moves on any difference
        summary_row("s", "gate_resets_per_week", [0.0, 0.0, 0.0]),  # constant and unchanged
    ]
    old = pd.DataFrame(rows, columns=bl.SUMMARY_COLUMNS)
    new = pd.DataFrame([
        summary_row("s", "merged_per_week", [np.nan] * 3),
        summary_row("s", "held_days_mean", [1.0, 2.0]),
        summary_row("s", "core_utilization", [0.6, 0.6, 0.6]),
        summary_row("s", "gate_resets_per_week", [0.0, 0.0, 0.0]),
    ], columns=bl.SUMMARY_COLUMNS)
    table = bl.compare_summaries(old, new).set_index("metric")["status"].to_dict()
    assert table == {"merged_per_week": "undefined", "abandoned_fraction": "missing", "held_days_mean": "skipped",
                     "core_utilization": "moved", "gate_resets_per_week": "identical"}


# ------------------------------------------------------------------------ updating


def test_update_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario, base = mmc_baseline(tmp_path)
    before = {p.name: p.read_bytes() for p in base.iterdir()}

    def broken(self: bl.Baseline) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(bl.Baseline, "to_json", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        bl.update_baseline(base, replications=3)
    assert {p.name: p.read_bytes() for p in base.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    monkeypatch.undo()
    updated = bl.update_baseline(base, replications=3)  # the other settings are the recorded ones
    assert (updated.replications, updated.seed, updated.overrides) == (3, 2, SMALL)
    assert [e.file for e in updated.scenarios] == [bl.record_path(scenario)]
    assert json.loads((base / "baseline.json").read_text())["replications"] == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_record_path_is_repository_relative() -> None:
    assert bl.record_path(MONOLITH) == "data/scenarios/monolith.toml"
    assert bl.resolve_path("data/scenarios/monolith.toml") == MONOLITH
    assert [bl.record_path(p) for p in bl.DEFAULT_SCENARIOS] == [
        f"data/scenarios/{name}.toml" for name in bl.SCENARIO_NAMES]


@pytest.mark.parametrize("case", ["no_dir", "no_manifest", "bad_json", "not_object", "missing_key", "bad_value",
                                  "no_scenarios", "bad_format", "bad_csv_columns"])
def test_bad_baseline_is_one_line_error(case: str, tmp_path: Path, recorded: Path) -> None:
    base = tmp_path / "base"
    if case != "no_dir":
        base.mkdir()
        for p in recorded.iterdir():
            (base / p.name).write_bytes(p.read_bytes())
    manifest = base / "baseline.json"
    if case == "no_manifest":
        manifest.unlink()
    elif case == "bad_json":
        manifest.write_text("{not json")
    elif case == "not_object":
        manifest.write_text("[1, 2]")
    elif case in ("missing_key", "bad_value", "no_scenarios", "bad_format"):
        data = json.loads(manifest.read_text())
        if case == "missing_key":
            del data["seed"]
        elif case == "bad_value":
            data["family_wise_error_rate"] = 1.5
        elif case == "no_scenarios":
            data["scenarios"] = []
        else:
            data["format"] = 2
        manifest.write_text(json.dumps(data))
    elif case == "bad_csv_columns":
        (base / "summary.csv").write_text("scenario,mean\nmono,1\n")
    with pytest.raises(bl.BaselineError) as err:
        bl.load_baseline(base)
    message = str(err.value)
    assert "\n" not in message and str(base) in message
    expected = {"not_object": "expected a JSON object", "missing_key": "missing key 'seed'",
                "bad_value": "family_wise_error_rate: Input should be less than 1",
                "no_scenarios": "scenarios: List should have at least 1 item", "bad_format": "format: "}
    assert expected.get(case, "") in message
    if case not in ("no_dir", "bad_json"):
        return  # the command line's handling is the same for every BaselineError
    proc = run_cli("check-baseline", "--baseline", str(base))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(base) in lines[0]


# ------------------------------------------------------------------------ command line


def test_cli_update_check_and_move(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "queue.toml", MMC, "queue")
    base = tmp_path / "base"
    args = ["check-baseline", "--baseline", str(base)]
    proc = run_cli(*args, "--update", "--scenario", str(scenario), "--set", SMALL[0], "--set", SMALL[1],
                   "--replications", "5", "--seed", "4", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "recorded 1 scenarios (queue) x 5 replications, seed 4" in proc.stdout
    assert sorted(p.name for p in base.iterdir()) == ["README.md", "baseline.json", "summary.csv"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout and "warning" not in proc.stdout
    assert all(line.startswith("check-baseline: ") for line in proc.stderr.splitlines())  # progress lines only

    write_scenario(scenario, MMC, "queue", "\n[review]\nreviews_per_core_per_day = 0.7\n")
    report, junit = tmp_path / "check.json", tmp_path / "check.xml"
    proc = run_cli(*args, "--workers", "1", "--json", str(report), "--junit", str(junit))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"warning: {scenario} changed since the baseline was recorded" in proc.stdout
    assert "FAIL" in proc.stdout and "stored [95% CI]" in proc.stdout and "minimum detectable change" in proc.stdout
    assert "core_utilization" in proc.stdout and "moved" in proc.stdout and "Traceback" not in proc.stderr
    assert f"cause (queue): {scenario} changed since the baseline was recorded" in proc.stdout
    # The reports are written when the check fails, and say what the text says.
    data = json.loads(report.read_text())
    assert data["verdict"] == "fail" and data["counts"]["moved_total"] >= 1
    moved = {r["metric"] for r in data["rows"] if r["status"] == "moved"}
    assert "core_utilization" in moved
    cases = ET.parse(junit).getroot().findall("./testsuite/testcase")
    assert len(cases) == len(data["rows"])
    assert {c.get("name").split("/")[1] for c in cases if c.find("failure") is not None} == moved
    assert f"wrote {report}" in proc.stdout and f"wrote {junit}" in proc.stdout


def test_cli_update_only_options_need_update(recorded: Path) -> None:
    proc = run_cli("check-baseline", "--baseline", str(recorded), "--replications", "3")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--replications" in lines[0] and "--update" in lines[0]


def test_cli_missing_scenario_file_is_exit_2(tmp_path: Path) -> None:
    scenario, base = mmc_baseline(tmp_path)
    scenario.unlink()
    proc = run_cli("check-baseline", "--baseline", str(base))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(scenario) in lines[0] and "not found" in lines[0]

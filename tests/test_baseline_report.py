"""check-baseline's report without simulations: synthetic recorded baselines and synthetic reruns.

Missing apart from moved; each metric's minimum detectable change (a shift just beyond it is
flagged, one well within is not, and a shift of exactly the MDC is flagged with 80 % power); the
changed input named once (and the old manifest format still read); the JSON and JUnit reports.
The check with real reruns is tested in test_baseline.py.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simtest import MMC, run_cli

from sim import baseline as bl
from sim.baseline.manifest import scenario_entry
from sim.baseline.power import noncentrality
from sim.baseline.text import mdc_cell
from sim.errors import OutputError
from sim.runs.stats import mean_ci
from sim.scenario import load_scenario

METRICS = list(bl.CHECKED_METRICS[:5])
FAMILY_WISE = 0.05


def row(scenario: str, metric: str, values: np.ndarray | list[float], area: str = "all") -> tuple:
    """A summary row (SUMMARY_COLUMNS) of ``values`` over replications."""
    mean, low, high, n = mean_ci(values)
    return (scenario, "p", area, metric, mean, low, high, n)


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=bl.SUMMARY_COLUMNS)


def fake_baseline(summary: pd.DataFrame, replications: int = 20) -> bl.Baseline:
    """A baseline record of ``summary``'s scenarios (no files behind it)."""
    entries = [bl.ScenarioEntry(file=f"{s}.toml", name=s, policy="p", sha256="0" * 64)
               for s in dict.fromkeys(summary["scenario"])]
    return bl.Baseline(seed=1, replications=replications, scenarios=entries, metrics=METRICS, areas=["all"],
                       confidence=0.95, family_wise_error_rate=FAMILY_WISE, summary=summary)


def result_of(old: pd.DataFrame, new: pd.DataFrame, causes: dict[str, str] | None = None) -> bl.CheckResult:
    table = bl.compare_summaries(old, new, METRICS, ["all"], FAMILY_WISE)
    return bl.CheckResult(fake_baseline(old), table, FAMILY_WISE, ["w1"], ["n1"], 1.0, causes or {})


@pytest.fixture
def failing() -> bl.CheckResult:
    """One metric moved, one missing (no row), one undefined now, one produced but not recorded."""
    rng = np.random.default_rng(3)
    a = rng.normal(10, 1, 20)
    old = frame([row("s", METRICS[0], a), row("s", METRICS[1], a), row("s", METRICS[2], a),
                 row("s", METRICS[3], a)])
    new = frame([row("s", METRICS[0], a + 5), row("s", METRICS[2], [np.nan] * 20), row("s", METRICS[3], a),
                 row("s", METRICS[4], a)])
    return result_of(old, new, {"s": "data/x.toml changed since the baseline was recorded"})


# ------------------------------------------------------------------------ missing vs moved


def test_missing_is_counted_and_listed_apart_from_moved(failing: bl.CheckResult) -> None:
    status = failing.table.set_index("metric")["status"].to_dict()
    assert status == {METRICS[0]: "moved", METRICS[1]: "missing", METRICS[2]: "undefined",
                      METRICS[3]: "identical", METRICS[4]: "unrecorded"}
    assert not failing.passed
    assert list(failing.moved["metric"]) == [METRICS[0]]
    assert list(failing.missing["metric"]) == METRICS[1:3] + [METRICS[4]]
    assert len(failing.checked) == 4  # the unrecorded row is not in the Bonferroni family
    report = failing.report()
    assert "checked 4: 1 identical, 1 moved, 1 missing, 1 undefined; 1 unrecorded (produced now" in report
    assert "FAIL: 1 moved, 3 missing" in report and "detectable (80%)" in report
    moved_at, missing_at = report.index("moved beyond noise (1):"), report.index("missing (3: 2 recorded but no "
                                                                                 "longer produced, 1 produced but "
                                                                                 "not recorded):")
    moved_block, missing_block = report[moved_at:missing_at], report[missing_at:]
    assert METRICS[0] in moved_block and not any(m in moved_block for m in (METRICS[1], METRICS[2], METRICS[4]))
    assert all(m in missing_block for m in (METRICS[1], METRICS[2], METRICS[4])) and METRICS[0] not in missing_block
    assert "cause (s): data/x.toml changed since the baseline was recorded" in report


def test_only_missing_fails_too() -> None:
    a = np.random.default_rng(4).normal(5, 1, 20)
    old = frame([row("s", METRICS[0], a)])
    new = frame([row("s", METRICS[0], a), row("s", METRICS[1], a)])
    result = result_of(old, new)
    assert not result.passed and result.moved.empty and list(result.missing["status"]) == ["unrecorded"]
    assert "FAIL: 0 moved, 1 missing" in result.report()
    assert result_of(old, frame([row("s", METRICS[0], a)])).passed


# ------------------------------------------------------------------------ minimum detectable change


def exact_sample(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    """n values whose sample mean and sd are exactly ``mean`` and ``sd``."""
    z = rng.normal(size=n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def test_mdc_is_the_power_of_the_same_test() -> None:
    """The MDC from the recorded SE: power 80 % under scipy's non-central t, about t_c + t_0.8 SEs."""
    n, se, level = 30, 0.4, 0.01 / 20
    mdc = bl.minimum_detectable_change(se, n, level)
    df, se_diff = 2 * (n - 1), math.sqrt(2) * se
    t_c = stats.t.isf(level / 2, df)
    power = stats.nct.sf(t_c, df, mdc / se_diff) + stats.nct.cdf(-t_c, df, mdc / se_diff)
    assert power == pytest.approx(0.8, abs=1e-6)
    assert mdc / se_diff == pytest.approx(t_c + stats.t.isf(0.2, df), rel=0.02)  # the textbook approximation
    assert bl.minimum_detectable_change(0.0, n, level) == 0.0  # constant: any change is flagged
    assert math.isnan(bl.minimum_detectable_change(se, 1, level))


def test_shift_just_beyond_the_mdc_is_flagged_and_well_within_is_not() -> None:
    rng = np.random.default_rng(5)
    n = 20
    values = {m: exact_sample(rng, 10.0 + i, 1.0 + i / 4, n) for i, m in enumerate(METRICS[:3])}
    old = frame([row("s", m, v) for m, v in values.items()])
    mdc = bl.compare_summaries(old, old, METRICS, ["all"], FAMILY_WISE).set_index("metric")["mdc"]
    # Same spread, mean shifted: just beyond the MDC (+/-), well within (a third of it).
    shifts = {METRICS[0]: 1.01 * mdc[METRICS[0]], METRICS[1]: -1.01 * mdc[METRICS[1]],
              METRICS[2]: mdc[METRICS[2]] / 3}
    new = frame([row("s", m, v + shifts[m]) for m, v in values.items()])
    table = bl.compare_summaries(old, new, METRICS, ["all"], FAMILY_WISE).set_index("metric")
    assert list(table["status"]) == ["moved", "moved", "ok"]
    assert (table["mdc"] == mdc).all()  # from the recorded spread only
    pct = 100 * mdc / table["old_mean"].abs()
    assert np.allclose(table["mdc_percent"], pct)
    report = bl.CheckResult(fake_baseline(old), table.reset_index()[bl.CHECK_COLUMNS], FAMILY_WISE, [], [], 0.0)
    text = report.report()
    assert "minimum detectable change" in text
    assert mdc_cell(mdc[METRICS[0]], pct[METRICS[0]]) in text and "%)" in text


def test_a_shift_of_exactly_the_mdc_is_flagged_with_80_percent_power() -> None:
    """2000 synthetic metrics, stored and rerun with fresh noise of a known spread, the rerun's mean
    shifted by the MDC of that spread: 80 % flagged (the power the MDC promises)."""
    rng = np.random.default_rng(6)
    k, n, sd, level = 2000, 25, 2.0, 0.002
    metric = METRICS[0]
    old = frame([row(f"s{i}", metric, rng.normal(50.0, sd, n)) for i in range(k)])
    mdc = bl.minimum_detectable_change(sd / math.sqrt(n), n, level)
    new = frame([row(f"s{i}", metric, rng.normal(50.0 + mdc, sd, n)) for i in range(k)])
    # fwer = level x k: the Bonferroni level of each row is then `level`.
    table = bl.compare_summaries(old, new, [metric], ["all"], level * k)
    assert table["mdc"].mean() == pytest.approx(mdc, rel=0.01)  # each row's MDC is from its recorded spread
    flagged = (table["status"] == "moved").mean()
    assert abs(flagged - 0.8) < 3 * math.sqrt(0.8 * 0.2 / k) + 0.01, flagged  # + Welch's df vs 2(n - 1)
    null = frame([row(f"s{i}", metric, rng.normal(50.0, sd, n)) for i in range(k)])
    false_alarms = (bl.compare_summaries(old, null, [metric], ["all"], level * k)["status"] == "moved").sum()
    assert false_alarms <= stats.binom.isf(1e-4, k, level)  # the test's own level, not the MDC's power


# ------------------------------------------------------------------------ the changed input


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """a and b extend common (which extends the M/M/c scenario); c extends the M/M/c scenario."""
    common = write(tmp_path / "common.toml", f'extends = "{MMC.as_posix()}"\n\n[review]\ncores = 5\n')
    return {
        "common": common,
        "a": write(tmp_path / "a.toml", 'extends = "common.toml"\n\n[scenario]\nname = "a"\n'),
        "b": write(tmp_path / "b.toml", 'extends = "common.toml"\n\n[scenario]\nname = "b"\n'),
        "c": write(tmp_path / "c.toml", f'extends = "{MMC.as_posix()}"\n\n[scenario]\nname = "c"\n'),
    }


def recorded_baseline(files: dict[str, Path], with_hashes: bool = True) -> bl.Baseline:
    """The record of scenarios a, b, c as they are now (no run: only the manifest matters here)."""
    entries = [scenario_entry(files[s], load_scenario(files[s])) for s in "abc"]
    if not with_hashes:
        entries = [e.model_copy(update={"inputs": None}) for e in entries]
    return bl.Baseline(seed=1, replications=2, scenarios=entries, metrics=METRICS, areas=["all"], confidence=0.95,
                       family_wise_error_rate=0.01, summary=frame([]),
                       model_sources=bl.model_source_hashes() if with_hashes else None)


def diagnose_now(baseline: bl.Baseline) -> bl.Diagnosis:
    return bl.diagnose(baseline, baseline.load_scenarios())


def test_records_every_file_of_the_extends_chain(files: dict[str, Path]) -> None:
    entry = recorded_baseline(files).scenarios[0]
    assert list(entry.inputs or {}) == [bl.record_path(files["a"]), bl.record_path(files["common"]),
                                        "data/scenarios/mmc.toml"]
    model = bl.model_source_hashes()
    assert "sim/simulate.py" in model and any(k.startswith("sim/model/") for k in model)
    assert not any(k.startswith(("sim/baseline/", "sim/outputs/")) for k in model)


def test_unchanged_inputs_say_nothing(files: dict[str, Path]) -> None:
    d = diagnose_now(recorded_baseline(files))
    assert d.recorded and (d.warnings, d.notes, d.inputs, d.model, d.resolved) == ([], [], [], [], {})


def test_changed_extended_file_is_named_once(files: dict[str, Path]) -> None:
    baseline = recorded_baseline(files)
    write(files["common"], f'extends = "{MMC.as_posix()}"\n\n[review]\ncores = 6\n')
    d = diagnose_now(baseline)
    common = bl.record_path(files["common"])
    assert len(d.warnings) == 1, d.warnings  # not one per scenario
    assert d.warnings[0].startswith(f"{common} changed since the baseline was recorded (sha256 ")
    assert "scenarios it feeds: a, b" in d.warnings[0]
    assert set(d.resolved) == {"a", "b"}
    assert d.cause("a") == d.cause("b") and d.cause("a").startswith(f"{common} changed since")
    assert d.cause("c").startswith("no recorded input changed")


def test_comment_only_change_and_model_source_change(files: dict[str, Path]) -> None:
    baseline = recorded_baseline(files)
    write(files["c"], files["c"].read_text() + "# a comment\n")
    key = "sim/simulate.py"
    baseline = baseline.model_copy(update={"model_sources": {**(baseline.model_sources or {}), key: "0" * 64}})
    d = diagnose_now(baseline)
    assert len(d.warnings) == 1 and "comments or layout only: c resolve as recorded" in d.warnings[0]
    assert d.notes == [f"model source changed since the baseline was recorded: {key}"]
    assert d.cause("a") == d.notes[0]  # no file of a changed: the model source did


def test_old_manifest_without_hashes_names_the_likely_file_in_one_line(files: dict[str, Path]) -> None:
    baseline = recorded_baseline(files, with_hashes=False)
    write(files["common"], f'extends = "{MMC.as_posix()}"\n\n[review]\ncores = 6\n')
    d = diagnose_now(baseline)
    assert not d.recorded and len(d.warnings) == 1
    assert d.warnings[0].startswith("2 of 3 scenarios changed since the baseline was recorded")
    assert "records no file hashes" in d.warnings[0]
    assert f"likely {bl.record_path(files['common'])} (every changed scenario uses it" in d.warnings[0]


def test_committed_baseline_is_read_and_rewritten_unchanged(tmp_path: Path) -> None:
    """data/baseline/ loads (with or without the file hashes, recorded since issue 16) and rewrites
    to the same bytes."""
    committed = bl.load_baseline()
    assert (committed.model_sources is None) == all(e.inputs is None for e in committed.scenarios)
    again = bl.write_baseline(committed, tmp_path / "again")
    for name in ("baseline.json", "summary.csv", "README.md"):
        assert (again / name).read_bytes() == (bl.BASELINE_DIR / name).read_bytes(), name


def test_manifest_round_trips_the_hashes(files: dict[str, Path]) -> None:
    baseline = recorded_baseline(files)
    back = bl.Manifest.model_validate_json(baseline.to_json())
    assert back.model_sources == baseline.model_sources
    assert [e.inputs for e in back.scenarios] == [e.inputs for e in baseline.scenarios]


# ------------------------------------------------------------------------ JSON and JUnit


def test_json_report(failing: bl.CheckResult, tmp_path: Path) -> None:
    path = bl.write_json(failing, tmp_path / "check.json")
    data = json.loads(path.read_text())
    assert data["tool"] == "driversplit check-baseline" and data["verdict"] == "fail" and data["passed"] is False
    assert data["counts"]["moved_total"] == 1 and data["counts"]["missing_total"] == 3
    assert data["counts"]["unrecorded"] == 1 and data["checked"] == 4
    assert data["causes"] == {"s": "data/x.toml changed since the baseline was recorded"}
    assert data["warnings"] == ["w1"] and data["notes"] == ["n1"]
    rows = {r["metric"]: r for r in data["rows"]}
    assert [r["status"] for r in data["rows"]] == list(failing.table["status"])
    moved = rows[METRICS[0]]
    assert moved["mdc"] == pytest.approx(failing.table.loc[0, "mdc"]) and moved["unit"] == "days"
    assert rows[METRICS[1]]["new_mean"] is None  # NaN as null: strict JSON
    assert data["level"] == pytest.approx(FAMILY_WISE / 4)


def test_junit_report(failing: bl.CheckResult, tmp_path: Path) -> None:
    path = bl.write_junit(failing, tmp_path / "check.xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "5" and root.get("failures") == "4"
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [f"all/{m}" for m in failing.table["metric"]]
    assert {c.get("classname") for c in cases} == {"check-baseline.s"}
    failures = {c.get("name").split("/")[1]: c.find("failure") for c in cases}
    assert failures[METRICS[3]] is None  # identical: passes
    assert {m: f.get("type") for m, f in failures.items() if f is not None} == {
        METRICS[0]: "moved", METRICS[1]: "missing", METRICS[2]: "undefined", METRICS[4]: "unrecorded"}
    assert failures[METRICS[0]].get("message").startswith("moved: stored")
    assert "minimum detectable change" in failures[METRICS[0]].get("message")
    assert failures[METRICS[4]].get("message").startswith("missing: produced")
    assert all("likely cause: data/x.toml changed" in f.get("message") for f in failures.values() if f is not None)
    assert "warning: w1" in (root.find("./testsuite/system-out").text or "")


def test_reports_replace_only_their_own_files(failing: bl.CheckResult, tmp_path: Path) -> None:
    json_path, xml_path = tmp_path / "check.json", tmp_path / "check.xml"
    bl.write_json(failing, json_path)
    bl.write_junit(failing, xml_path)
    bl.write_json(failing, json_path)  # a previous report: replaced
    bl.write_junit(failing, xml_path)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    foreign = write(tmp_path / "notes.json", '{"mine": 1}\n')
    with pytest.raises(OutputError, match="--json .*notes.json.*not written by driversplit"):
        bl.write_json(failing, foreign)
    assert foreign.read_text() == '{"mine": 1}\n'
    with pytest.raises(OutputError, match="--junit"):
        bl.junit_target(write(tmp_path / "other.xml", "<testsuites name='pytest'/>")).check()


def test_cli_report_options_are_for_a_check_only(tmp_path: Path) -> None:
    proc = run_cli("check-baseline", "--baseline", str(tmp_path / "b"), "--update", "--json", str(tmp_path / "x"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "--json" in lines[0] and "--update" in lines[0]


def test_cli_refuses_a_foreign_report_file_before_the_rerun(tmp_path: Path) -> None:
    foreign = write(tmp_path / "ci.xml", "<testsuites name='pytest'/>")
    proc = run_cli("check-baseline", "--junit", str(foreign), timeout=60)  # the committed baseline: would take minutes
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and str(foreign) in lines[0] and "--junit" in lines[0]
    assert foreign.read_text() == "<testsuites name='pytest'/>"


def test_readme_quotes_the_committed_baselines_mdc() -> None:
    """The README's example MDCs are the committed baseline's (computed from summary.csv, no run)."""
    committed = bl.load_baseline()
    table = bl.compare_summaries(committed.summary, committed.summary, committed.metrics, committed.areas,
                                 committed.fwer, committed.confidence).set_index(["scenario", "area", "metric"])
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for key in (("monolith", "all", "time_to_merge_median_days"), ("split", "group:drivers", "time_to_merge_p90_days")):
        r = table.loc[key]
        quoted = f"about {r['mdc_percent']:.0f} % in"
        assert quoted in readme and f"({r['mdc']:.2g} d of {r['old_mean']:.3g} d)" in readme, (key, quoted)
    n, level = committed.replications, committed.fwer / len(table[table["status"] != "skipped"])
    excess = noncentrality(level, 2.0 * (n - 1)) - stats.t.isf(level / 2, 2 * (n - 1))
    assert f"(lambda* ~ t_c + {excess:.2f} at n = {n})" in readme


def test_old_manifest_in_a_git_checkout_names_the_changed_file(files: dict[str, Path], tmp_path: Path) -> None:
    """Without recorded file hashes, git tells which file differs from the baseline's commit."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    bl.write_baseline(recorded_baseline(files, with_hashes=False), tmp_path / "base")
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline")
    write(files["common"], f'extends = "{MMC.as_posix()}"\n\n[review]\ncores = 6\n')
    d = diagnose_now(bl.load_baseline(tmp_path / "base"))
    assert len(d.warnings) == 1, d.warnings
    assert d.warnings[0].startswith(f"{bl.record_path(files['common'])} changed since the baseline was recorded "
                                    "(git: differs from commit ")
    assert "scenarios it feeds: a, b" in d.warnings[0]
    assert d.cause("a").startswith(f"{bl.record_path(files['common'])} changed")


def test_old_manifest_in_git_without_a_changed_file_says_so(files: dict[str, Path], tmp_path: Path) -> None:
    """Scenarios resolve differently though git sees no file change: no file is blamed."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    baseline = recorded_baseline(files, with_hashes=False)
    entries = [e.model_copy(update={"sha256": "f" * 64}) if e.name in "ab" else e for e in baseline.scenarios]
    bl.write_baseline(baseline.model_copy(update={"scenarios": entries}), tmp_path / "base")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "b"]):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)
    d = diagnose_now(bl.load_baseline(tmp_path / "base"))
    assert d.inputs == [] and len(d.warnings) == 1 and d.git_commit
    assert d.warnings[0].startswith("2 of 3 scenarios changed") and "none of their files differs from commit" in d.warnings[0]
    assert "likely" not in d.warnings[0]

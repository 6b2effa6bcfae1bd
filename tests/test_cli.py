"""The command line, end to end in a fresh interpreter: bad input, the happy path, params, validate."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from simtest import MMC, MONOLITH, run_cli

import sim
from sim.runs.records_io import read_changes
from sim.runs.metrics import METRICS, WHOLE_RUN_METRICS
from sim.runs.runner import run_replications
from sim.scenario import load_scenario

AREA = "[areas.x]\nrate_per_day = 1.0\n"
SUMMARY_COLUMNS = ["scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n"]


# ------------------------------------------------------------------------------ bad input


def assert_clean_error(proc, out: Path, *fragments: str) -> str:
    """Exit 2, exactly one line on stderr containing every fragment, no traceback, no output dir."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not out.exists()
    assert not any(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir()), "temporary output left behind"
    return lines[0]


BAD_FILES = {
    "unknown_key": (AREA + "[review]\ncorez = 3\n", ["review.corez", "unknown key"]),
    "negative_rate": ("[areas.x]\nrate_per_day = -1\n", ["areas.x.rate_per_day", "-1", "0 <= x"]),
    "probability_above_one": (AREA + "[review]\ndetect_prob = 1.5\n", ["review.detect_prob", "1.5", "0 <= x <= 1"]),
    "wrong_type": (AREA + "[run]\ncycles = 'two'\n", ["run.cycles", "'two'", "1 <= x <= 10"]),
    "bad_job_probability": (AREA + "[[gate.jobs]]\nname = 'a'\ncount = 1\nfalse_failure_prob = 1.0\n",
                            ["gate.jobs.0.false_failure_prob", "0 <= x < 1"]),
    "profile_length": (AREA + "[arrivals]\nweekly_profile = [1.0, 2.0]\n", ["weekly_profile", "cycle_weeks"]),
    "empty": ("", ["file is empty"]),
    "malformed": ("[areas.x\nrate_per_day = 1\n", ["malformed TOML", "line 1"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_scenario_file_exits_2_with_one_line(case: str, tmp_path: Path) -> None:
    text, fragments = BAD_FILES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    proc = run_cli("run", str(path), "--replications", "1", "--out", str(out))
    assert_clean_error(proc, out, str(path), *fragments)


def test_missing_file_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = tmp_path / "nope.toml"
    assert_clean_error(run_cli("run", str(path), "--out", str(out)), out, str(path), "not found")


@pytest.mark.parametrize("setting, fragments", [
    ("areas.all.rate_per_day=-1", ["areas.all.rate_per_day = -1", "0 <= x"]),
    ("review.detect_prob=1.5", ["review.detect_prob = 1.5", "0 <= x <= 1"]),
    ("review.corez=3", ["unknown key 'review.corez'"]),
    ("review.cores", ["--set", "expected section.key=value"]),
    ("review.cores=lots", ["review.cores", "'lots'"]),
])
def test_bad_set_exits_2(setting: str, fragments: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("run", str(MMC), "--replications", "1", "--out", str(out), "--set", setting)
    assert_clean_error(proc, out, str(MMC), *fragments)


def test_non_utf8_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[areas.x]\nrate_per_day = 1.0\n# r\xe9sum\xe9\n")
    out = tmp_path / "out"
    assert_clean_error(run_cli("run", str(path), "--out", str(out)), out, str(path))


@pytest.mark.parametrize("args", [
    ["run", str(MMC), "--replications", "0"],
    ["run", str(MMC), "--replications", "two"],
    ["run", str(MMC), "--workers", "0"],
    ["run", str(MMC), "--seed", "-1"],
    ["run"],
    ["frobnicate"],
    [],
])
def test_argument_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli(*args, "--out", str(out)) if args[:1] == ["run"] else run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "error" in proc.stderr
    assert not out.exists()


def test_existing_output_survives_a_failed_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous results")
    proc = run_cli("run", str(MMC), "--out", str(out), "--set", "review.cores=-1")
    assert proc.returncode == 2
    assert (out / "keep.txt").read_text() == "previous results"


# ------------------------------------------------------------------------------ happy path


@pytest.fixture(scope="module")
def mmc_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("cli") / "mmc"
    proc = run_cli("run", str(MMC), "--replications", "2", "--out", str(out))
    return out, proc


def test_run_succeeds_and_reports(mmc_out) -> None:
    out, proc = mmc_out
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "2 replications, seed 1" in proc.stdout and f"wrote {out}" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["changes.parquet", "run.json", "summary.csv"]
    assert not any(p.name.startswith(".mmc.") for p in out.parent.iterdir())


def test_summary_csv_columns_and_metrics(mmc_out) -> None:
    out, _ = mmc_out
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert set(summary["scenario"]) == {"mmc"} and set(summary["policy"]) == {"monolith"}
    everywhere = set(summary.loc[summary["area"] == "all", "metric"])
    # defined in every run of mmc (the gate is off, so its false-failure fraction is undefined)
    assert set(METRICS) - {"gate_false_failure_fraction"} <= everywhere
    defined = summary[summary["n"] > 0]
    assert (defined["ci_low"] <= defined["mean"]).all() and (defined["mean"] <= defined["ci_high"]).all()
    assert summary.loc[summary["n"] == 0, "mean"].isna().all()
    assert (summary["n"] <= 2).all()


def test_summary_csv_has_every_metric_for_area_all(mmc_out) -> None:
    """Regression: metrics undefined in every replication (no gate: the false-failure fraction)
    were dropped; they are written with n = 0 and an empty mean."""
    out, _ = mmc_out
    summary = pd.read_csv(out / "summary.csv")
    rows = summary[summary["area"] == "all"]
    assert set(METRICS) <= set(rows["metric"])
    assert not rows.duplicated("metric").any()
    undefined = rows[rows["metric"] == "gate_false_failure_fraction"].iloc[0]
    assert undefined["n"] == 0 and pd.isna(undefined["mean"])
    assert (rows.loc[rows["metric"] == "time_to_merge_median_days", "n"] == 2).all()


def test_summary_csv_of_a_gated_scenario_has_every_metric(tmp_path: Path) -> None:
    out = tmp_path / "mono"
    proc = run_cli("run", str(MONOLITH), "--replications", "2", "--seed", "5", "--out", str(out),
                   "--set", "run.warmup_days=30")
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(out / "summary.csv")
    for area in ("all", "libvirt", "api"):
        rows = summary[summary["area"] == area]
        assert set(METRICS) - WHOLE_RUN_METRICS <= set(rows["metric"])
        assert area == "all" or not WHOLE_RUN_METRICS & set(rows["metric"])
    everything = summary[summary["area"] == "all"]
    assert set(METRICS) <= set(everything["metric"])
    # Every metric defined in both replications, but the follow-ups' time to merge: the monolith has none.
    undefined = everything["metric"] == "followup_time_to_merge_median_days"
    assert (everything.loc[~undefined, "n"] == 2).all() and (everything.loc[undefined, "n"] == 0).all()
    assert (summary["n"] <= 2).all()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["seed"] == 5 and manifest["scenario"]["run"]["warmup_days"] == 30


def test_changes_file_has_one_row_per_change_per_replication(mmc_out) -> None:
    out, _ = mmc_out
    changes = read_changes(out / "changes.parquet")
    assert set(changes["replication"]) == {0, 1}
    assert not changes.duplicated(["replication", "change"]).any()
    for _rep, group in changes.groupby("replication"):
        assert sorted(group["change"]) == list(range(len(group)))
    # the same rows as the Python API produces for this scenario and seed
    api = run_replications(load_scenario(MMC), 2, 1).changes
    assert len(changes) == len(api)
    assert list(changes.columns) == list(api.columns)
    pd.testing.assert_series_equal(changes["arrived"], api["arrived"], check_exact=False, rtol=1e-15)
    pd.testing.assert_series_equal(changes["merged"], api["merged"], check_exact=False, rtol=1e-15)


def test_run_json_has_resolved_scenario_seed_replications_versions(mmc_out) -> None:
    out, _ = mmc_out
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["seed"] == 1 and manifest["replications"] == 2
    assert manifest["scenario"] == json.loads(json.dumps(load_scenario(MMC).to_toml_dict()))
    assert manifest["scenario"]["review"]["cores"] == 5  # resolved, defaults included
    assert "gate" in manifest["scenario"] and "jobs" in manifest["scenario"]["gate"]
    versions = manifest["versions"]
    for package in ("python", "driversplit", "simpy", "numpy", "pandas", "pydantic"):
        assert versions.get(package) and versions[package] != "not installed", package
    assert versions["driversplit"] == sim.__version__


def test_run_replaces_its_previous_result_and_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_cli("run", str(MMC), "--replications", "1", "--out", str(out), "--set", "run.cycles=1")
    assert first.returncode == 0, first.stderr
    (out / "notes.txt").write_text("mine")
    proc = run_cli("run", str(MMC), "--replications", "1", "--out", str(out), "--set", "run.cycles=1",
                   "--set", "review.cores=6")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["changes.parquet", "notes.txt", "run.json", "summary.csv"]
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "run.json").read_text())["scenario"]["review"]["cores"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "temporary output left behind"


# ------------------------------------------------------------------------------ other commands


def test_params_prints_the_markdown_table() -> None:
    proc = run_cli("params")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "| parameter | unit | default | range | source | meaning |"
    assert lines[1].startswith("|---|")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert "0 <= x <= 1000" in rows["review.cores"] and "| 20 |" in rows["review.cores"]
    for name in ("areas.<name>.rate_per_day", "review.detect_prob", "gate.window", "run.seed"):
        assert name in rows, name
    assert all(line.count(" | ") == 5 for line in lines[:1] + lines[2:])


def test_validate_passes() -> None:
    proc = run_cli("validate", "--replications", "10", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAILED" not in proc.stdout
    assert proc.stdout.count(" ok") == 6


def test_bench_reports_events() -> None:
    proc = run_cli("bench", str(MMC), "--repeat", "1")
    assert proc.returncode == 0, proc.stderr
    assert "engine events" in proc.stdout and "events/s" in proc.stdout


def test_package_docstring_api_exists() -> None:
    """Regression: the docstring showed ``sim.run(...)``, which the package did not export."""
    import re

    called = set(re.findall(r"\bsim\.(\w+)\(", sim.__doc__ or ""))
    assert called, "the package docstring shows the API"
    for name in called:
        assert callable(getattr(sim, name, None)), f"sim.{name} shown in the docstring does not exist"

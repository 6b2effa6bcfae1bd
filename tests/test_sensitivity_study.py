"""The sensitivity study (python -m sim sensitivity, sim.sensitivity_study): tables, reproducibility
with 1 and 2 workers, resuming a killed study, the committed results, bad options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from simtest import ROOT, kill_mid_study, run_cli

from sim import paths
from sim.runs.runner import METRICS_ONLY
from sim.runs.study import DONE_DIR
from sim.scenario import load_scenario
from sim.scenario.schema import field_at
from sim.sensitivity_study import MORRIS_COLUMNS, OUTCOMES, SOBOL_COLUMNS

pytest.importorskip("SALib")

TABLES = ("morris.csv", "sobol.csv", "morris_points.csv", "sobol_points.csv")
POLICIES = list(paths.POLICY_SCENARIOS[1:])
# A small study: 3 factors, 2 trajectories (8 points), Sobol N = 2 on 2 factors (8 points), one
# replication of 5 scenarios, no warm-up: 80 replications.
SMALL = ["--trajectories", "2", "--sobol-n", "2", "--sobol-factors", "2", "--replications", "1", "--seed", "5",
         "--set", "run.warmup_days=0"]


def _sim(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", "sensitivity", *args]


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    """Two fitted parameters (from the calibration's intervals) and one policy assumption."""
    root = tmp_path_factory.mktemp("spec")
    fitted = pd.read_csv(paths.DATA / "calibrated" / "juno_fitted.csv", comment="#")
    fitted[fitted["key"].isin(["review.reviews_per_core_per_day", "authors.response_median_days"])].to_csv(
        root / "fitted.csv", index=False)
    (root / "ensemble.toml").write_text(
        'fitted = "fitted.csv"\n[assumptions]\n'
        '"policy.split.breakage_scale" = { low = 0.0, high = 1.0, source = "test" }\n', encoding="utf-8")
    return root / "ensemble.toml"


def _run(spec: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_sim(*SMALL, "--spec", str(spec), "--out", str(out), *extra), check=False, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def one_worker(spec, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one") / "study"
    result = _run(spec, out, "--workers", "1", "--figures", str(out.parent / "figures"))
    assert result.returncode == 0, result.stderr
    return out


def test_a_small_study_writes_every_table_without_nan(one_worker):
    morris, sobol = pd.read_csv(one_worker / "morris.csv"), pd.read_csv(one_worker / "sobol.csv")
    assert list(morris.columns) == MORRIS_COLUMNS and list(sobol.columns) == SOBOL_COLUMNS
    for table, factors in ((morris, 3), (sobol, 2)):
        assert len(table) == len(POLICIES) * len(OUTCOMES) * factors
        assert not table.isna().any().any()
        assert set(table["policy"]) == set(POLICIES) and set(table["outcome"]) == {o[0] for o in OUTCOMES}
    assert (morris["mu_star"] >= morris["mu"].abs() - 1e-9).all()
    settings = json.loads((one_worker / "sensitivity.json").read_text())
    assert settings["morris"]["design_points"] == 2 * (3 + 1) and settings["sobol"]["N"] == 2
    assert settings["sobol"]["calc_second_order"] is False and len(settings["sobol"]["factors"]) == 2
    assert settings["cost"]["replications"] == (8 + 2 * (2 + 2)) * 5
    assert {"data/ensemble.toml", "data/scenarios/monolith.toml"} - set(settings["inputs_sha256"]) == {
        "data/ensemble.toml"}  # the spec given, not the default
    points = pd.read_csv(one_worker / "morris_points.csv")
    low, high = (float(points["review.reviews_per_core_per_day"].agg(f)) for f in ("min", "max"))
    interval = pd.read_csv(paths.DATA / "calibrated" / "juno_fitted.csv", comment="#").set_index("key").loc[
        "review.reviews_per_core_per_day"]
    assert interval["low"] - 1e-9 <= low < high <= interval["high"] + 1e-9  # the fitted 95 % interval
    assert (one_worker.parent / "figures" / "sensitivity.png").stat().st_size > 10_000
    markdown = (one_worker.parent / "figures" / "sensitivity.md").read_text()
    assert "## Sensitivity study" in markdown
    finding = next(line for line in markdown.splitlines() if line.startswith("**"))
    assert "reviews_per_core" not in finding and "response_median" not in finding  # words, not keys


def test_two_workers_give_the_same_bytes(spec, one_worker, tmp_path):
    result = _run(spec, tmp_path / "two", "--workers", "2")
    assert result.returncode == 0, result.stderr
    for name in TABLES:
        assert (tmp_path / "two" / name).read_bytes() == (one_worker / name).read_bytes(), name


def test_a_killed_study_resumes_to_the_same_bytes_and_a_repeat_costs_nothing(spec, one_worker, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "resumed"
    done = cache / METRICS_ONLY.name / DONE_DIR
    proc = subprocess.Popen(_sim(*SMALL, "--spec", str(spec), "--out", str(out), "--cache", str(cache),
                                 "--workers", "2"),
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    at_kill = kill_mid_study(proc, done, 5, 80, 300)
    assert not out.exists()

    for attempt in ("resume", "repeat"):
        result = _run(spec, out, "--cache", str(cache), "--workers", "2")
        assert result.returncode == 0, result.stderr
        for name in TABLES:
            assert (out / name).read_bytes() == (one_worker / name).read_bytes(), (attempt, name)
        cost = json.loads((out / "sensitivity.json").read_text())["cost"]
        if attempt == "resume":
            assert cost["replications_from_cache"] >= at_kill
        else:
            assert cost["replications_computed"] == 0 and cost["replications_from_cache"] == 80


@pytest.mark.parametrize("args, message", [
    (["--sobol-n", "100"], "'100' is not a power of 2"),
    (["--trajectories", "1"], "'1' is not a whole number from 2"),
    (["--sobol-factors", "100"], "--sobol-factors 100: the spec"),
    (["--set", "run.warmup_days=-3"], "run.warmup_days"),
])
def test_bad_options_are_one_clear_line(args, message, tmp_path):
    result = run_cli("sensitivity", *args, "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ the committed results

COMMITTED = paths.DATA / "sensitivity"


def test_the_committed_study_covers_every_policy_and_outcome():
    morris, sobol = pd.read_csv(COMMITTED / "morris.csv"), pd.read_csv(COMMITTED / "sobol.csv")
    settings = json.loads((COMMITTED / "sensitivity.json").read_text())
    cells = {(p, o[0]) for p in POLICIES for o in OUTCOMES}
    for table in (morris, sobol):
        assert set(zip(table["policy"], table["outcome"])) == cells
        assert not table.isna().any().any()
    assert set(sobol["factor"]) == set(settings["sobol"]["factors"])
    assert len(morris) == len(cells) * settings["morris"]["factors"]


def test_the_committed_settings_name_the_inputs_factors():
    settings = json.loads((COMMITTED / "sensitivity.json").read_text())
    from sim.runs.ensemble import load_spec

    spec = load_spec(paths.DATA / "ensemble.toml", load_scenario(paths.SCENARIOS / "monolith.toml"))
    assert [f["key"] for f in settings["factors"]] == [r.key for r in spec.ranges]
    for factor in settings["factors"]:
        assert field_at(tuple(factor["key"].split("."))) is not None, factor["key"]
    assert settings["policies"] == POLICIES and settings["reference"] == "monolith"
    assert {"cost", "package_version", "inputs_sha256", "seed"} <= set(settings)
    assert all(len(h) == 64 for h in settings["inputs_sha256"].values())

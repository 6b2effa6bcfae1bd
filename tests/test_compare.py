"""Comparing scenarios: common random numbers, paired differences, comparison.csv and the
``python -m sim compare`` command.

The scenario pair is mmc.toml (M/M/5, one measured cycle) and the same queue with reviewers 10 %
faster: small enough to run ten replications of each in well under a second.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simtest import MMC, frame_equal, per_replication, run_cli

from sim.runs.compare import COMPARISON_COLUMNS, Comparison, compare
from sim.runs.runner import run_replications
from sim.runs.stats import mean_ci
from sim.scenario import Scenario, ScenarioError, load_scenario

REPS, SEED = 10, 1
METRIC = "time_to_merge_mean_days"
COLUMNS = ["scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n",
           "reference", "diff", "diff_ci_low", "diff_ci_high", "diff_n"]


def reference() -> Scenario:
    return load_scenario(MMC, ["run.cycles=1"])


def faster() -> Scenario:
    return load_scenario(MMC, ["run.cycles=1", "review.reviews_per_core_per_day=1.1", "scenario.name=fast"])


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    return compare([reference(), faster()], REPS, SEED, workers=2)


def row(table: pd.DataFrame, scenario: str, metric: str = METRIC, area: str = "all") -> pd.Series:
    hit = table[(table["scenario"] == scenario) & (table["area"] == area) & (table["metric"] == metric)]
    assert len(hit) == 1, (scenario, area, metric)
    return hit.iloc[0]


def test_comparison_table_columns_and_rows(comparison: Comparison) -> None:
    table = comparison.comparison
    assert list(table.columns) == COLUMNS == COMPARISON_COLUMNS
    assert comparison.names == ["mmc", "fast"] and comparison.seed == SEED and comparison.replications == REPS
    assert (table["reference"] == "mmc").all()
    assert not table.duplicated(["scenario", "area", "metric"]).any()
    # one row per summary row of each run, in the same order
    for run in comparison.runs:
        mine = table[table["scenario"] == run.scenario.scenario.name]
        frame_equal(mine[COLUMNS[:8]], run.summary)
    frame_equal(comparison.summary, pd.concat([run.summary for run in comparison.runs]))
    assert table["diff_n"].dtype.kind == "i" and (table["diff_n"] <= REPS).all()


def test_the_reference_differs_from_itself_by_zero(comparison: Comparison) -> None:
    ref = comparison.comparison[comparison.comparison["scenario"] == "mmc"]
    defined = ref[ref["n"] > 0]
    assert len(defined) > 20
    assert (defined["diff"] == 0).all() and (defined["diff_ci_low"] == 0).all() and (defined["diff_ci_high"] == 0).all()
    assert (defined["diff_n"] == defined["n"]).all()
    assert ref.loc[ref["n"] == 0, "diff"].isna().all() and (ref.loc[ref["n"] == 0, "diff_n"] == 0).all()


def test_differences_are_paired_by_replication(comparison: Comparison) -> None:
    """diff and its CI are the mean and t-interval of the per-replication differences (same seed)."""
    ref, fast = comparison.runs
    diffs = per_replication(fast, METRIC) - per_replication(ref, METRIC)
    mean, low, high, n = mean_ci(diffs)
    r = row(comparison.comparison, "fast")
    assert (r["diff"], r["diff_ci_low"], r["diff_ci_high"], r["diff_n"]) == pytest.approx((mean, low, high, n), rel=1e-12)
    assert r["diff"] == pytest.approx(r["mean"] - row(comparison.comparison, "mmc")["mean"], rel=1e-12)
    assert r["diff_ci_high"] < 0, "10 % faster reviewers merge sooner"
    # each scenario's runs are exactly what run_replications gives under the same seed
    alone = run_replications(faster(), REPS, SEED)
    frame_equal(fast.summary, alone.summary)
    frame_equal(fast.per_replication, alone.per_replication)


def test_common_random_numbers_narrow_the_interval_of_a_difference(comparison: Comparison) -> None:
    """The same difference estimated from independent seeds (the second scenario run under another
    seed, the CI of a difference of two means from the two summaries) has a wider 95 % interval than
    the paired one: common random numbers make the replications of the two scenarios correlate."""
    other = run_replications(faster(), REPS, SEED + 1000, workers=2)
    a = row(comparison.runs[0].summary.assign(scenario="mmc"), "mmc")
    b = row(other.summary, "fast")
    t = stats.t.ppf(0.975, REPS - 1)
    se = math.hypot((a["ci_high"] - a["mean"]) / t, (b["ci_high"] - b["mean"]) / t)
    unpaired = stats.t.ppf(0.975, 2 * REPS - 2) * se
    r = row(comparison.comparison, "fast")
    paired = r["diff_ci_high"] - r["diff"]
    assert 0 < paired < unpaired, f"paired half-width {paired:.4g} vs independent {unpaired:.4g}"
    # and the cause: the two scenarios' replications are positively correlated under one seed
    ref, fast = comparison.runs
    assert np.corrcoef(per_replication(ref, METRIC), per_replication(fast, METRIC))[0, 1] > 0.5


def test_compare_rejects_duplicate_names_and_nothing() -> None:
    with pytest.raises(ScenarioError, match=r"scenario\.name: \['mmc'\]"):
        compare([reference(), reference()], 1, 1)
    with pytest.raises(ValueError, match="at least one"):
        compare([], 1, 1)


# ------------------------------------------------------------------------------ the command


def test_cli_compare_writes_comparison_summary_and_manifest(tmp_path: Path) -> None:
    fast = tmp_path / "fast.toml"
    fast.write_text(f'extends = "{MMC}"\n[scenario]\nname = "fast"\n[review]\nreviews_per_core_per_day = 1.1\n',
                    encoding="utf-8")
    out = tmp_path / "out"
    proc = run_cli("compare", str(MMC), str(fast), "--replications", "2", "--seed", "3", "--out", str(out),
                   "--set", "run.cycles=1")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "2 scenarios x 2 replications, seed 3" in proc.stdout and f"wrote {out}/comparison.csv" in proc.stdout
    assert {"comparison.csv", "run.json", "summary.csv"} <= {p.name for p in out.iterdir()}  # (figures may join them)
    assert not any(p.name.startswith(".out.") for p in tmp_path.iterdir()), "temporary output left behind"
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns) == COLUMNS
    assert set(table["scenario"]) == {"mmc", "fast"} and set(table["reference"]) == {"mmc"}
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == COLUMNS[:8] and set(summary["scenario"]) == {"mmc", "fast"}
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["seed"] == 3 and manifest["replications"] == 2 and manifest["reference"] == "mmc"
    assert set(manifest["scenarios"]) == {"mmc", "fast"}
    assert manifest["scenarios"]["fast"]["review"]["reviews_per_core_per_day"] == 1.1
    assert all(sc["run"]["cycles"] == 1 for sc in manifest["scenarios"].values())  # --set applies to every scenario
    assert manifest["versions"]["driversplit"] not in ("", "not installed")
    # the same numbers as the Python API under the same seed
    api = compare([reference(), load_scenario(fast, ["run.cycles=1"])], 2, 3).comparison
    r_cli, r_api = row(table, "fast"), row(api, "fast")
    assert r_cli["diff"] == pytest.approx(r_api["diff"], rel=1e-12) and r_cli["mean"] == pytest.approx(r_api["mean"], rel=1e-12)


def test_cli_compare_rejects_duplicate_scenario_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("compare", str(MMC), str(MMC), "--replications", "1", "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "scenario.name" in lines[0] and "mmc" in lines[0]
    assert not out.exists()

"""Figures: every file written, findings computed from the numbers, the gate theory curve, atomic output."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from simtest import MMC, MONOLITH, SCENARIOS, run_cli

from sim.model.ci import nova_gate_job_probs, per_area_pass
from sim.outputs import figures, findings, plots
from sim.runs import sweeps
from sim.runs.compare import Comparison, compare, comparison_table
from sim.runs.metrics import DRIVERS, NON_DRIVERS
from sim.scenario import load_scenario

SHORT = ["run.warmup_days=30"]
STEMS = [stem for stem, _ in figures.HEADINGS.values()]
COMPARISON_STEMS = [figures.HEADINGS[i][0] for i in (1, 2, 3, 7)]


def title_of(fig) -> str:
    return fig.get_suptitle().replace("\n", " ")


def assert_files(out: Path, stems: list[str]) -> None:
    expected = {f"{stem}.{ext}" for stem in stems for ext in figures.FORMATS} | {"README.md"}
    present = {p.name for p in out.iterdir()}
    assert expected <= present, sorted(expected - present)
    for name in expected:
        assert (out / name).stat().st_size > 1000, name
    assert (out / f"{stems[0]}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / f"{stems[0]}.svg").read_text()[:200].lstrip().startswith("<?xml")


def assert_no_temporaries(parent: Path, name: str) -> None:
    assert not any(p.name.startswith(f".{name}.") for p in parent.iterdir()), "temporary output left behind"


@pytest.fixture(scope="module")
def small() -> Comparison:
    """Monolith vs split, three short replications: enough for every comparison figure."""
    scenarios = [load_scenario(MONOLITH, SHORT), load_scenario(SCENARIOS / "split.toml", SHORT)]
    return compare(scenarios, 3, 5, workers=2)


# ------------------------------------------------------------------------------ the command


def test_figures_command_writes_every_figure_and_readme(tmp_path: Path) -> None:
    out = tmp_path / "figs"
    proc = run_cli("figures", "--out", str(out), "--replications", "2", "--sweep-replications", "2",
                   "--ensemble-draws", "2", "--ensemble-replications", "1",
                   "--workers", "2", "--seed", "3", *[a for o in SHORT for a in ("--set", o)], timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert_files(out, STEMS)
    assert_no_temporaries(tmp_path, "figs")
    readme = (out / "README.md").read_text()
    for name in figures.SCENARIO_NAMES:
        assert f"data/scenarios/{name}.toml" in readme
    assert "Seed: 3" in readme and "2 per scenario" in readme and "run.warmup_days=30" in readme
    for _, added in sweeps.STAFFING_PAIRS:  # figure 8's added-people variants
        assert f"`{added}.toml`" in readme
    manifest = json.loads((out / "figures.json").read_text())
    assert [f["number"] for f in manifest["figures"]] == sorted(figures.HEADINGS) == list(range(1, 9))
    for f in manifest["figures"]:
        assert re.search(r"\d", f["finding"]), f["finding"]  # a finding states numbers
        assert f["finding"] in readme
        assert f["finding"] in proc.stdout
        assert sorted(f["files"]) == sorted(f"{f['name']}.{ext}" for ext in figures.FORMATS)
    ensemble = manifest["ensemble"]  # 2 draws + the two capacity steps, 1 replication each
    assert ensemble["draws"] == 2 and ensemble["replications"] == 1
    rows = ensemble["robustness"]
    assert {r["scenario"] for r in rows} == set(figures.SCENARIO_NAMES[1:])
    assert all(0 <= r["draws"] <= 2 for r in rows) and any(r["draws"] == 2 for r in rows)  # NaN draws dropped
    assert "## Robustness over the parameter ensemble" in readme
    shares = [c["ensemble_share"] for c in manifest["scorecard"]["cells"]]
    assert any(s is not None for s in shares) and all(s is None or 0.0 <= s <= 1.0 for s in shares)


def test_compare_writes_comparison_figures(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    proc = run_cli("compare", str(MMC), "--replications", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert {"comparison.csv", "summary.csv", "run.json", "figures"} <= {p.name for p in out.iterdir()}
    assert_files(out / "figures", COMPARISON_STEMS)


def test_comparison_figures_titles_are_the_findings(small: Comparison, tmp_path: Path) -> None:
    outputs = figures.comparison_figures(small, tmp_path / "f")
    assert [o.number for o in outputs] == [1, 2, 3, 7]
    assert_files(tmp_path / "f", COMPARISON_STEMS)
    readme = (tmp_path / "f" / "README.md").read_text()
    for o in outputs:
        assert re.search(r"\d", o.finding) and o.finding in readme


# ------------------------------------------------------------------------------ findings follow the data


def with_effect(comparison: Comparison, metric: str, area: str, diff: float, low: float, high: float) -> Comparison:
    """The comparison with split's paired difference on (metric, area) replaced by a synthetic one."""
    t = comparison.comparison.copy()
    ref = t[(t["metric"] == metric) & (t["area"] == area) & (t["scenario"] == "monolith")]["mean"].iloc[0]
    rows = (t["metric"] == metric) & (t["area"] == area) & (t["scenario"] == "split")
    t.loc[rows, ["mean", "diff", "diff_ci_low", "diff_ci_high"]] = [ref + diff, diff, low, high]
    t.loc[rows, "diff_n"] = 3
    return dataclasses.replace(comparison, comparison=t)


@pytest.mark.parametrize("area", [DRIVERS, NON_DRIVERS])
def test_time_to_merge_finding_follows_the_paired_difference(small: Comparison, area: str) -> None:
    metric = "time_to_merge_median_days"
    faster, f_faster = plots.plot_time_to_merge(with_effect(small, metric, area, -2.0, -3.0, -1.0))
    slower, f_slower = plots.plot_time_to_merge(with_effect(small, metric, area, 2.0, 1.0, 3.0))
    noise, f_noise = plots.plot_time_to_merge(with_effect(small, metric, area, 0.5, -1.0, 2.0))
    group = r"(^|, |; )driver changes merge" if area == DRIVERS else r"non-driver changes merge"
    assert re.search(group + " faster under split repos", f_faster.lower()) and "-3.0 to -1.0" in f_faster.details
    assert re.search(group + " slower under split repos", f_slower.lower()) and "+1.0 to +3.0" in f_slower.details
    assert not re.search(group, f_noise.lower()) and "-1.0 to +2.0, within noise" in f_noise.details
    for finding in (f_faster, f_slower, f_noise):  # the statistics stay out of the headline
        assert "CI" not in finding and "paired" not in finding
    assert len({f_faster, f_slower, f_noise}) == 3
    for fig, finding in ((faster, f_faster), (slower, f_slower), (noise, f_noise)):
        assert title_of(fig) == finding


def test_backlog_and_load_findings_change_with_the_data(small: Comparison) -> None:
    runs = small.runs[::-1]  # split as the reference: every difference changes sign
    swapped = Comparison(small.seed, small.replications, runs, comparison_table(runs))
    for plot in (plots.plot_backlog, plots.plot_reviewer_load, plots.plot_time_buckets, plots.plot_interface_usable):
        _, a = plot(small)
        _, b = plot(swapped)
        assert a != b, plot.__name__
        assert re.search(r"\d", a) and re.search(r"\d", b)


def test_change_clause_states_effects_only_beyond_noise() -> None:
    e = findings.Effect("split", "monolith", 12.0, 10.0, 2.0, 1.0, 3.0, 5)
    assert findings.change_clause([e], "x", "d") == "under split repos, x rises 20% (10.0 → 12.0 d; paired 95% CI +1.0 to +3.0)"
    within = dataclasses.replace(e, low=-0.5)
    assert "does not change beyond noise" in findings.change_clause([within], "x", "d")
    assert findings.change_clause([within, dataclasses.replace(within, scenario="runways", value=11.0)], "x", "d") == (
        "no policy changes x beyond noise (10.0 d under the monolith; 11.0 to 12.0 d under the others)")
    one_rep = dataclasses.replace(e, n=1)
    assert not one_rep.significant
    fold = dataclasses.replace(e, value=35.0, diff=25.0, low=20.0, high=30.0)
    assert "rises 3.5-fold" in findings.change_clause([fold], "x", "d")


@pytest.mark.parametrize(("low", "high", "n", "beyond"), [
    (1.0, 3.0, 5, True), (-3.0, -1.0, 2, True),  # wholly on one side of 0
    (-0.5, 3.0, 5, False), (0.0, 3.0, 5, False),  # touches or straddles 0
    (1.0, 3.0, 1, False),  # one replication: no interval
    (math.nan, 3.0, 5, False), (1.0, math.inf, 5, False),  # undefined interval
])
def test_excludes_zero_is_the_one_test_of_beyond_noise(low: float, high: float, n: int, beyond: bool) -> None:
    assert findings.excludes_zero(low, high, n) is beyond
    assert findings.Effect("split", "monolith", 1.0, 1.0, (low + high) / 2, low, high, n).significant is beyond


def gate_sweep(monolith: list[float], split: list[float]) -> pd.DataFrame:
    rows = []
    noise = [-0.01, 0.0, 0.01]
    for name, values in (("monolith", monolith), ("split", split)):
        for jobs, v in zip((16, 41, 116), values):
            rows += [(name, jobs, 13 if name == "split" else jobs, r, v + d) for r, d in enumerate(noise)]
    return pd.DataFrame(rows, columns=["scenario", "jobs", "own_jobs", "replication", "value"])


def test_gate_finding_follows_the_data() -> None:
    theory = pd.DataFrame({"scenario": ["monolith", "monolith"], "jobs": [16, 116], "expected": [0.5, 3.0]})
    fig, grows = plots.plot_gate_sweep(gate_sweep([0.5, 1.0, 3.0], [0.15, 0.15, 0.15]), theory)
    _, flat = plots.plot_gate_sweep(gate_sweep([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]), theory)
    assert "In the monolith, false rejections per merged nova change rise from 0.50 at 16 gating jobs to 3.00 at 116" in grows
    assert "3.3x fewer at 16 jobs, 20.0x fewer at 116 jobs" in grows  # each ratio where it holds
    assert "q/(1-q)): 3.00" in grows.details and "q/(1-q)" not in grows
    assert "do not grow beyond noise" in flat and "within noise of the monolith at 116 jobs" in flat
    assert title_of(fig) == grows


def runways_sweep(exclusive_at_3: float) -> pd.DataFrame:
    """Figure-5 data: the monolith at slots 0, both readings at 1, 3 and 10 slots, three replications;
    as practised every value equals the monolith's, the exclusive hold's throughput at 3 slots is given."""
    rows = []
    points = [("none", 0)] + [(reading, s) for reading in ("as practised", "exclusive hold") for s in (1, 3, 10)]
    for reading, slots in points:
        exclusive = reading == "exclusive hold"
        base = {"merged_per_week": exclusive_at_3 if exclusive and slots == 3 else 13.0,
                "time_to_merge_median_days": 20.0,
                "abandoned_fraction": 0.6 if exclusive and slots == 3 else 0.1}
        for metric, value in base.items():
            rows += [(reading, slots, metric, r, value + d) for r, d in enumerate((-0.2, 0.0, 0.2))]
    return pd.DataFrame(rows, columns=["reading", "slots", "metric", "replication", "value"])


def test_runways_finding_follows_the_data() -> None:
    fig, costly = plots.plot_runways_sweep(runways_sweep(3.0))
    _, free = plots.plot_runways_sweep(runways_sweep(13.0))
    assert costly == ("Blueprint changes, Nova's 3 runway slots vs none — as practised: throughput within noise, "
                      "abandonment within noise; exclusive hold: throughput -77%, 60% abandoned (10% without)")
    assert "3.0 vs 13.0 blueprint changes merged a week" in costly.details
    assert "throughput -" not in free and free.count("throughput within noise") == 2
    assert title_of(fig) == costly


# ------------------------------------------------------------------------------ the theory curve

TINY = """
[scenario]
name = "tiny"
[areas.core]
rate_per_day = 1.0
[areas.drv]
driver = true
rate_per_day = 1.0
[gate]
jobs = [{ name = "a", count = 3, false_failure_prob = 0.1 }, { name = "b", count = 2, false_failure_prob = 0.02 }]
extra_config_jobs = 1
extra_job_false_failure_prob = 0.04
config_job_false_failure_prob = 0.03
third_party_gating = true
third_party = { drv = { jobs = 2, false_failure_prob = 0.05 } }
"""


def test_theory_curve_is_q_over_one_minus_q(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    mono = load_scenario(path)
    split = load_scenario(path, ["policy.mechanisms=['split']"])
    curve = sweeps.gate_theory({"mono": mono, "split": split}, "mono", range(6))
    for _, row in curve.iterrows():
        k = row["config_jobs_per_driver"]
        own = 0.9**3 * 0.98**2 * 0.96  # nova's own jobs: they stay in nova's gate under a split
        # ... and so do the driver's configuration jobs, which test nova code (policy.split.config_jobs_in_nova);
        # its third-party CI leaves
        passes = own * 0.97**k * (0.95**2 if row["scenario"] == "mono" else 1.0)
        q = 1.0 - passes
        assert row["q"] == pytest.approx(q, rel=1e-12)
        assert row["expected"] == pytest.approx(q / (1.0 - q), rel=1e-12)
        assert row["jobs"] == 3 + 2 + 1 + k + 2  # x: the monolith's job count
        assert row["own_jobs"] == (8 + k if row["scenario"] == "mono" else 6 + k)
    moved = load_scenario(path, ["policy.mechanisms=['split']", "policy.split.config_jobs_in_nova=false"])
    curve = sweeps.gate_theory({"mono": mono, "split": moved}, "mono", range(6))
    for _, row in curve[curve["scenario"] == "split"].iterrows():  # the reading where they leave with the driver
        assert row["q"] == pytest.approx(1.0 - 0.9**3 * 0.98**2 * 0.96, rel=1e-12) and row["own_jobs"] == 6
    # the same job set as the simulation's pipeline (job_tables), on the shipped monolith
    shipped = load_scenario(MONOLITH, ["gate.third_party_gating=true", "gate.config_jobs_per_driver=7"])
    g = shipped.gate
    p, n = per_area_pass(shipped, g.jobs, extra_jobs=g.extra_config_jobs, extra_fail=g.extra_job_false_failure_prob,
                         drivers=shipped.driver_areas, third_party_voting=True)
    core = next(i for i, a in enumerate(shipped.area_names) if a not in shipped.driver_areas)
    probs = nova_gate_job_probs(shipped)
    assert len(probs) == n[core] == sweeps.nova_gate_jobs(shipped)
    assert sweeps.expected_false_rejections(probs) == pytest.approx(1.0 / p[core] - 1.0, rel=1e-12)
    assert math.prod(1 - x for x in probs) == pytest.approx(p[core], rel=1e-12)


# ------------------------------------------------------------------------------ atomic output


def test_failed_figure_leaves_no_output(small: Comparison, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(plots, "plot_reviewer_load", broken)  # drawn last: earlier figures were already written
    out = tmp_path / "f"
    with pytest.raises(RuntimeError, match="plot failed"):
        figures.comparison_figures(small, out)
    assert not out.exists()
    assert_no_temporaries(tmp_path, "f")


def test_failed_make_figures_leaves_no_output(small: Comparison, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_compare(scenarios, replications, seed, executor, progress, cache):
        return small  # skip the simulations: any comparison serves until the sweep frames need their names

    monkeypatch.setattr(figures, "_compare", fake_compare)
    monkeypatch.setattr(Comparison, "subset", lambda self, names: self)
    monkeypatch.setattr(figures, "gate_sweep_frame", lambda points, cmp: pd.DataFrame())
    monkeypatch.setattr(figures, "runways_sweep_frame", lambda points, cmp: pd.DataFrame())
    monkeypatch.setattr(plots, "plot_gate_sweep", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("plot failed")))
    out = tmp_path / "figures"
    out.mkdir()
    (out / "old.txt").write_text("previous figures")
    with pytest.raises(RuntimeError, match="plot failed"):
        figures.make_figures(out, replications=1, workers=1, progress=False)
    assert [p.name for p in out.iterdir()] == ["old.txt"]  # the previous output is untouched
    assert_no_temporaries(tmp_path, "figures")

"""Reproducibility and common random numbers: same scenario and seed give the same changes
whatever the number of workers; each random source has its own stream, so changing the gate or
the core team never changes the arrivals drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from simtest import MMC, MONOLITH, SHORT_MONOLITH, frame_equal, run_cli, started_world

from sim.runs.runner import replicate, run_replications
from sim.scenario import load_scenario

# What a change is when it arrives: drawn from the arrivals/attributes/defects streams only.
ARRIVAL_COLUMNS = ["replication", "change", "area", "kind", "size_lines", "touches_interface", "defects_initial", "arrived"]


@pytest.fixture(scope="module")
def small() -> object:
    """The monolith, shortened further so a few replications take a fraction of a second."""
    flat = "[" + ", ".join(["1.0"] * 13) + "]"
    return load_scenario(MONOLITH, ["run.warmup_days=30", "run.cycle_weeks=13", "cycle.feature_freeze_week=10",
                                    "cycle.reopen_week=12",
                                    f"arrivals.weekly_profile={flat}", f"arrivals.blueprint_weekly_profile={flat}",
                                    "review.weekly_activity=[" + ", ".join(["0.7", "1.3"] * 6 + ["1.0"]) + "]"])


def test_same_seed_same_results_with_one_or_two_workers(small) -> None:
    one = run_replications(small, 3, 42, workers=1)
    two = run_replications(small, 3, 42, workers=2)
    frame_equal(one.changes, two.changes)
    frame_equal(one.per_replication, two.per_replication)
    frame_equal(one.summary, two.summary)
    frame_equal(one.littles_law, two.littles_law)
    again = run_replications(small, 3, 42)
    frame_equal(one.changes, again.changes)


def test_different_seed_gives_different_results(small) -> None:
    a = run_replications(small, 1, 1).changes
    b = run_replications(small, 1, 2).changes
    assert len(a) != len(b) or not np.array_equal(a["arrived"].to_numpy(), b["arrived"].to_numpy())
    # replications of one run differ from each other too
    two = run_replications(small, 2, 1).changes
    r0, r1 = (two[two["replication"] == r]["arrived"].to_numpy() for r in (0, 1))
    assert len(r0) != len(r1) or not np.array_equal(r0, r1)


def test_a_replication_does_not_depend_on_how_many_run(small) -> None:
    many = run_replications(small, 3, 7).changes
    alone = replicate(small, 2, 7).changes
    frame_equal(many[many["replication"] == 2], alone)


def test_cli_output_is_byte_identical_with_one_or_two_workers(tmp_path: Path) -> None:
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        proc = run_cli("run", str(MMC), "--replications", "3", "--seed", "9", "--workers", workers, "--out", str(out),
                       "--set", "run.cycles=1")
        assert proc.returncode == 0, proc.stderr
        outs.append(out)
    a, b = outs
    assert (a / "changes.parquet").read_bytes() == (b / "changes.parquet").read_bytes()
    assert (a / "summary.csv").read_bytes() == (b / "summary.csv").read_bytes()
    other = tmp_path / "seed10"
    assert run_cli("run", str(MMC), "--replications", "3", "--seed", "10", "--out", str(other),
                   "--set", "run.cycles=1").returncode == 0
    assert (other / "changes.parquet").read_bytes() != (a / "changes.parquet").read_bytes()


# ------------------------------------------------------------------------------ common random numbers


def arrivals_of(overrides: list[str], reps: int = 2, seed: int = 3) -> pd.DataFrame:
    sc = load_scenario(MONOLITH, [*SHORT_MONOLITH, *overrides])
    return run_replications(sc, reps, seed).changes[ARRIVAL_COLUMNS]


@pytest.fixture(scope="module")
def base_arrivals() -> pd.DataFrame:
    return arrivals_of([])


@pytest.mark.parametrize("overrides", [
    ["gate.jobs=[{name='dsvm', count=9, false_failure_prob=0.05}]"],
    ["gate.extra_config_jobs=50"],
    ["gate.enabled=false"],
    ["gate.background_rate_per_day=0", "gate.window=40"],
    ["check.enabled=false"],
    ["review.cores=10", "review.detect_prob=0.5"],
    ["authors.stall_prob=0.3", "noncore.catch_prob=0.0"],
])
def test_other_parameters_do_not_change_the_arrivals(overrides: list[str], base_arrivals: pd.DataFrame) -> None:
    changed = arrivals_of(overrides)
    frame_equal(changed, base_arrivals)


def test_outcomes_do_change_when_the_gate_changes(base_arrivals: pd.DataFrame) -> None:
    """The comparison above is not vacuous: the same changes fare differently."""
    sc = load_scenario(MONOLITH, [*SHORT_MONOLITH, "gate.extra_config_jobs=50"])
    base = run_replications(load_scenario(MONOLITH, SHORT_MONOLITH), 2, 3).changes
    more = run_replications(sc, 2, 3).changes
    assert not np.array_equal(base["merged"].to_numpy(), more["merged"].to_numpy(), equal_nan=True)
    assert more["rechecks"].sum() > base["rechecks"].sum()


def test_patience_attractiveness_and_roster_are_common_random_numbers() -> None:
    base = load_scenario(MONOLITH, SHORT_MONOLITH)
    other = load_scenario(MONOLITH, [*SHORT_MONOLITH, "gate.enabled=false", "check.enabled=false"])
    worlds = []
    for sc in (base, other):
        world = started_world(sc, 1, 5)
        world.run()
        worlds.append(world)
    a, b = worlds
    assert len(a.changes) == len(b.changes) > 1000
    assert [c.patience for c in a.changes] == [c.patience for c in b.changes]
    assert [c.attractiveness for c in a.changes] == [c.attractiveness for c in b.changes]
    assert [r.weights for r in a.boards["nova"].reviewers] == [r.weights for r in b.boards["nova"].reviewers]
    assert [c.merged for c in a.changes] != [c.merged for c in b.changes]

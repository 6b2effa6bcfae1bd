"""``sim bench``: the counts it reports are the model's (no stale gate run ends, one engine event
per real completion), and ``--costs`` prints the README's table with the machine stated. Times are
printed, never asserted."""

from __future__ import annotations

import pytest
from simtest import MMC, MONOLITH, SHORT_MONOLITH

from sim.bench import NO_BACKGROUND, machine, main, replication_cost
from sim.scenario import load_scenario
from sim.simulate import simulate


def test_replication_cost_counts_the_model_work() -> None:
    scenario = load_scenario(MONOLITH, SHORT_MONOLITH)
    cost = replication_cost(scenario, records=("parquet",))
    records = simulate(scenario, 0)
    assert cost.events == records.sim_events > 0
    assert cost.gate_completions == sum(len(log.runs) for log in records.gates.values()) > 1000
    assert cost.stale_run_ends == 0  # every gate run end the engine processed was a real completion
    assert cost.gate_runs_started > cost.gate_completions  # the monolith's gate resets: runs are cancelled
    background = sum(run[1] == -1 for log in records.gates.values() for run in log.runs)
    assert cost.background_completions == background > 0
    assert cost.days == records.window[1]
    assert cost.parquet_s > 0 and cost.csv_s != cost.csv_s  # CSV not timed when not asked (NaN)


def test_bench_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(str(MMC), repeat=1) == 0
    out = capsys.readouterr().out
    for label in ("engine events", "real run completions", "stale run ends", "engine events per real completion",
                  "metrics / engine", "changes.parquet", "changes.csv.gz", "of bare SimPy speed", "started for",
                  "with no other projects' changes"):
        assert label in out, label


def test_costs_is_a_markdown_table_with_the_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(str(MMC), repeat=1, costs=True) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert "bench --costs" in out[0] and "cores" in out[0] and "load average" in out[0]
    assert out[2] == "| cost | pure Python | compiled |" and out[3] == "|---|---|---|"
    rows = out[4:]
    assert len(rows) == 11 and all(row.startswith("| ") and row.count(" | ") == 2 for row in rows)
    assert all(" s |" in rows[i] for i in range(4)) and " ms |" in rows[4]


def test_machine_names_cores_and_load() -> None:
    text = machine()
    assert "cores" in text and "load average" in text


def test_the_counterfactual_takes_only_other_projects_changes_out() -> None:
    """The engine time ``sim bench`` compares with: the same scenario, no background changes in the gate."""
    alone = replication_cost(load_scenario(MONOLITH, [*SHORT_MONOLITH, NO_BACKGROUND]), records=())
    full = replication_cost(load_scenario(MONOLITH, SHORT_MONOLITH), records=())
    assert alone.background_completions == 0 < full.background_completions
    assert 0 < alone.gate_completions < full.gate_completions  # nova's own changes still run the gate
    assert alone.gate_runs_started < full.gate_runs_started

"""Benchmark: what one replication costs, where it goes, and the model's engine events per second
against a bare SimPy loop with as many events.

``sim bench`` prints, from one run: engine events and real gate completions (every gate run end on
the engine is a real completion: no stale ones left by resets), the engine's and the metrics' time
per replication, the time to write its records, and the model's speed as a share of a bare SimPy
loop's. ``sim bench --costs`` prints the README's cost table (Markdown) with the machine and its
load. Times are CPU seconds of this process (``time.process_time``), best of ``repeat``: on a shared,
busy machine wall time measures the other users as much as the model (on an idle machine the two
agree). Nothing here asserts a time, only counts.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import simpy

from sim._compiled import PURE_ENV, compiled, extensions
from sim.runs.records_io import CSV, PARQUET, write_changes
from sim.paths import BASELINE_SCENARIO, ROOT
from sim.runs.runner import measure_replication
from sim.scenario import Scenario, load_scenario
from sim.simulate import build_world

cpu_seconds = time.process_time  # CPU seconds of this process (see the module docstring)


def bare_loop(n_events: int) -> float:
    """CPU seconds a single SimPy process takes to yield ``n_events`` timeouts."""
    env = simpy.Environment()

    def ticker(env: simpy.Environment):
        for _ in range(n_events):
            yield env.timeout(1.0)

    env.process(ticker(env))
    start = cpu_seconds()
    env.run()
    elapsed = cpu_seconds() - start
    assert env.now == n_events  # every timeout (1 day each) was processed
    return elapsed


@dataclass
class ReplicationCost:
    """What replication 0 of a scenario did and cost (CPU seconds; counts per replication)."""

    build_s: float  # building the world (roster, boards, gates)
    run_s: float  # the engine: simulated time from 0 to the horizon, and the records
    metrics_s: float  # the standard measure: change rows, metrics, reviewer load, Little's law
    parquet_s: float  # writing its change records as changes.parquet
    csv_s: float  # ... as changes.csv.gz (``sim run --records csv``)
    events: int  # engine events processed
    gate_completions: int  # gate runs that completed (every gate)
    gate_runs_started: int  # gate runs started (every gate): the completed ones and those a reset cancelled
    background_completions: int  # completed gate runs of other projects' changes
    stale_run_ends: int  # engine events for runs a reset had cancelled
    days: float  # simulated days, warm-up included

    @property
    def engine_s(self) -> float:
        return self.build_s + self.run_s

    @property
    def replication_s(self) -> float:
        """One replication as a worker runs it: engine and metrics."""
        return self.engine_s + self.metrics_s


def replication_cost(scenario: Scenario, records: tuple[str, ...] = (PARQUET, CSV)) -> ReplicationCost:
    """Run replication 0 of ``scenario`` once and time each step (``records``: formats to time writing)."""
    start = cpu_seconds()
    world = build_world(scenario, 0)
    world.start_arrivals()
    built = cpu_seconds()
    result = world.run()
    ran = cpu_seconds()
    measured = measure_replication(result)
    done = cpu_seconds()
    writes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in records:
            t = cpu_seconds()
            write_changes(measured.changes, Path(tmp), fmt)
            writes[fmt] = cpu_seconds() - t
    return ReplicationCost(
        build_s=built - start, run_s=ran - built, metrics_s=done - ran,
        parquet_s=writes.get(PARQUET, float("nan")), csv_s=writes.get(CSV, float("nan")),
        events=world.clock.processed(),
        gate_completions=sum(len(gate.log.run_values) // 4 for gate in world.gates.values()),
        gate_runs_started=sum(gate.runs_started for gate in world.gates.values()),
        background_completions=sum(area < 0 for gate in world.gates.values() for area in gate.log.run_values[1::4]),
        stale_run_ends=sum(gate.stale_run_ends for gate in world.gates.values()),
        days=world.window[1],
    )


def best_cost(scenario: Scenario, repeat: int) -> ReplicationCost:
    """The least time of each step over ``repeat`` runs (the counts are the same every time)."""
    costs = [replication_cost(scenario) for _ in range(repeat)]
    first = costs[0]
    counts = ("events", "gate_completions", "gate_runs_started", "background_completions", "stale_run_ends")
    assert all(all(getattr(c, name) == getattr(first, name) for name in counts) for c in costs)
    times = {name: min(getattr(c, name) for c in costs) for name in ("build_s", "run_s", "metrics_s", "parquet_s", "csv_s")}
    return ReplicationCost(**{**asdict(first), **times})


# The override that takes other projects' changes out of the shared gate queue (the counterfactual
# ``sim bench`` measures to show what their traffic costs; the records it gives are another model's).
NO_BACKGROUND: Final = "gate.background_rate_per_day=0"


def engine_without_background(path: Path, repeat: int) -> float:
    """CPU seconds of replication 0's engine (build and run) with no other projects' gate traffic, best of
    ``repeat``: beside the engine's cost with it, what simulating their changes one by one costs."""
    scenario = load_scenario(path, [NO_BACKGROUND])
    return min(replication_cost(scenario, records=()).engine_s for _ in range(repeat))


def build_name() -> str:
    return "compiled (mypyc, make fast)" if compiled() else "pure Python (make fast compiles it)"


def main(scenario: str | None = None, repeat: int = 3, costs: bool = False) -> int:
    path = Path(scenario) if scenario else BASELINE_SCENARIO
    if costs:
        print(cost_table(path, repeat))
        return 0
    cost = best_cost(load_scenario(path), repeat)
    bare_s = min(bare_loop(cost.events) for _ in range(repeat))
    model_rate, bare_rate = cost.events / cost.run_s, cost.events / bare_s
    run_ends = cost.gate_completions + cost.stale_run_ends  # every run end the engine processed
    print(f"scenario        {path}")
    print(f"model build     {build_name()}")
    print(f"engine events   {cost.events:,} per replication ({cost.days:.0f} simulated days incl. warm-up)")
    print(f"gate            {cost.gate_completions:,} real run completions, {cost.stale_run_ends:,} stale run ends; "
          f"{run_ends / max(cost.gate_completions, 1):.3f} engine events per real completion; "
          f"{cost.events / max(cost.gate_completions, 1):.2f} engine events in all per completion")
    print(f"gate runs       {cost.gate_runs_started:,} started for {cost.gate_completions:,} completed (the rest "
          f"cancelled by resets); {cost.background_completions / max(cost.gate_completions, 1):.0%} of the completions "
          "are other projects' changes")
    print(f"replication     {cost.replication_s:.3f} s CPU = engine {cost.engine_s:.3f} s (build {cost.build_s:.3f} s) "
          f"+ metrics {cost.metrics_s:.3f} s  (metrics / engine {cost.metrics_s / cost.engine_s:.0%}; best of {repeat})")
    alone = engine_without_background(path, repeat)
    print(f"other projects  engine {alone:.3f} s with no other projects' changes in the gate ({NO_BACKGROUND}): "
          f"simulating theirs costs {1 - alone / cost.engine_s:.0%} of the engine")
    print(f"records write   changes.parquet {cost.parquet_s * 1000:.1f} ms, changes.csv.gz {cost.csv_s * 1000:.1f} ms "
          f"per replication")
    print(f"model           {cost.run_s:.3f} s  {model_rate:,.0f} events/s")
    print(f"bare SimPy loop {bare_s:.3f} s  {bare_rate:,.0f} events/s")
    print(f"ratio           {model_rate / bare_rate:.0%} of bare SimPy speed")
    return 0


# ------------------------------------------------------------------------------ the README's cost table


def machine() -> str:
    """Cores, CPU model (from /proc/cpuinfo where there is one) and the load average now."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return f"{os.cpu_count()} cores, {model}; load average (1, 5, 15 min) at start {load}"


def _cost_in_build(path: Path, repeat: int, pure: bool) -> dict[str, float] | None:
    """The best cost and bare-loop share of replication 0 in the pure or the compiled build, measured
    in this process when it runs that build, else in a fresh one; None when that build is absent."""
    if pure == (not compiled()):
        cost = best_cost(load_scenario(path), repeat)
        bare_s = min(bare_loop(cost.events) for _ in range(repeat))
        return {**asdict(cost), "engine_s": cost.engine_s, "replication_s": cost.replication_s,
                "bare_share": (cost.events / cost.run_s) / (cost.events / bare_s),
                "engine_without_background_s": engine_without_background(path, repeat)}
    if not pure and not extensions():
        return None
    env = {k: v for k, v in os.environ.items() if k != PURE_ENV}
    if pure:
        env[PURE_ENV] = "1"
    code = ("import json, sys; from pathlib import Path; from sim.bench import _cost_in_build; "
            f"print(json.dumps(_cost_in_build(Path(sys.argv[1]), {repeat}, {pure})))")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    return json.loads(proc.stdout)


def cost_table(path: Path, repeat: int = 3) -> str:
    """The README's cost table (Markdown): one replication of ``path`` and its parts, in each build present."""
    where = machine()
    pure, fast = _cost_in_build(path, repeat, True), _cost_in_build(path, repeat, False)

    def cell(cost: dict[str, float] | None, key: str, unit: str = "s") -> str:
        if cost is None:
            return "not built (`make fast`)"
        value = cost[key]
        return {"s": f"{value:.3f} s", "ms": f"{value * 1000:.1f} ms", "%": f"{value:.0%}", "n": f"{value:,.0f}"}[unit]

    rows = [
        ("one replication, engine + metrics (one core)", "replication_s", "s"),
        ("… engine (building the world, simulating, records)", "engine_s", "s"),
        ("… metrics (change rows, metrics, reviewer load, Little's law)", "metrics_s", "s"),
        (f"engine with no other projects' changes in the gate (`--set {NO_BACKGROUND}`: another model)",
         "engine_without_background_s", "s"),
        ("writing its records as `changes.parquet` (`sim run`, default)", "parquet_s", "ms"),
        ("writing its records as `changes.csv.gz` (`sim run --records csv`)", "csv_s", "ms"),
        ("engine events per replication", "events", "n"),
        ("stale gate run ends per replication", "stale_run_ends", "n"),
        ("gate runs started per replication (completed ones and those a reset cancelled)", "gate_runs_started", "n"),
        ("gate runs completed per replication", "gate_completions", "n"),
        ("`sim bench`: model speed as a share of a bare SimPy loop's", "bare_share", "%"),
    ]
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    lines = [
        (f"Measured by `python -m sim bench --costs` (scenario `{shown}`, "
         f"replication 0, CPU seconds, best of {repeat}) on: {where}."),
        "",
        "| cost | pure Python | compiled |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {cell(pure, key, unit)} | {cell(fast, key, unit)} |" for label, key, unit in rows]
    return "\n".join(lines)

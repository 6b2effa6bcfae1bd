"""Benchmark: the model's engine events per second against a bare SimPy loop with as many events.

Prints figures; asserts only the work done (event counts), never wall time.
"""

from __future__ import annotations

import time
from pathlib import Path

import simpy

from sim._compiled import compiled
from sim.engine.clock import Clock
from sim.paths import BASELINE_SCENARIO
from sim.scenario import load_scenario
from sim.simulate import build_world


def bare_loop(n_events: int) -> float:
    """Seconds a single SimPy process takes to yield ``n_events`` timeouts."""
    env = simpy.Environment()

    def ticker(env: simpy.Environment):
        for _ in range(n_events):
            yield env.timeout(1.0)

    env.process(ticker(env))
    start = time.perf_counter()
    env.run()
    elapsed = time.perf_counter() - start
    assert Clock(env).processed() >= n_events
    return elapsed


def model_run(scenario_path: Path) -> tuple[float, int, float]:
    """(seconds to simulate, engine events, simulated days) of replication 0."""
    scenario = load_scenario(scenario_path)
    world = build_world(scenario, 0)
    world.start_arrivals()
    start = time.perf_counter()
    world.clock.run(world.window[1])
    elapsed = time.perf_counter() - start
    return elapsed, world.clock.processed(), world.window[1]


def main(scenario: str | None = None, repeat: int = 3) -> int:
    path = Path(scenario) if scenario else BASELINE_SCENARIO
    model_times, events, days = [], 0, 0.0
    for _ in range(repeat):
        seconds, events, days = model_run(path)
        model_times.append(seconds)
    bare_times = [bare_loop(events) for _ in range(repeat)]
    model_s, bare_s = min(model_times), min(bare_times)
    model_rate, bare_rate = events / model_s, events / bare_s
    print(f"scenario        {path}")
    print(f"model build     {'compiled (mypyc, make fast)' if compiled() else 'pure Python (make fast compiles it)'}")
    print(f"engine events   {events:,} per replication ({days:.0f} simulated days incl. warm-up)")
    print(f"model           {model_s:.3f} s  {model_rate:,.0f} events/s  (best of {repeat})")
    print(f"bare SimPy loop {bare_s:.3f} s  {bare_rate:,.0f} events/s")
    print(f"ratio           {model_rate / bare_rate:.0%} of bare SimPy speed")
    return 0

"""Benchmark (not a test): a study's throughput on 1 and 2 dask workers, projected to 64.

``python -m sim.runs.scaling_bench [--replications 16] [--workers 1 2]`` starts, for each worker
count, a local dask cluster of that many single-threaded worker processes (started before the
clock runs), runs one study of ``--replications`` replications through the study runner and prints
the wall time, replications per second and the speed-up over the first count. From the speed-up S
at 2 workers it fits Amdahl's law (serial share f = 2/S - 1) and projects the speed-up at 64
workers; the parent's own cost per replication (receiving and aggregating a result) caps the rate
whatever the number of workers, and is printed too.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence

from sim import paths
from sim.runs.executors import study_executor
from sim.runs.runner import REPLICATION, Task, run_tasks
from sim.scenario import load_scenario

DEFAULT_OVERRIDES = ("run.cycles=1", "run.warmup_days=30")


def timed_study(scenario_path: str, overrides: Sequence[str], replications: int, workers: int) -> tuple[float, float]:
    """(wall seconds of the study, the parent's CPU seconds in it) on ``workers`` local dask workers."""
    scenario = load_scenario(scenario_path, overrides)
    with study_executor(dask_local=workers) as executor:
        assert executor is not None
        list(run_tasks(REPLICATION, [Task(scenario, 0, 99)], executor=executor))  # workers warm (imports)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in run_tasks(REPLICATION, (Task(scenario, r, 1) for r in range(replications)), executor=executor):
            pass
        return time.perf_counter() - wall, time.process_time() - cpu


def amdahl(speedup_at_2: float, n: int) -> float:
    """Speed-up at ``n`` workers of Amdahl's law fitted to the speed-up at 2."""
    serial = min(1.0, max(0.0, 2.0 / speedup_at_2 - 1.0))
    return 1.0 / (serial + (1.0 - serial) / n)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.runs.scaling_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scenario", default=str(paths.SCENARIOS / "monolith.toml"))
    parser.add_argument("--set", action="append", default=None, metavar="SECTION.KEY=VALUE")
    args = parser.parse_args(argv)
    overrides = list(DEFAULT_OVERRIDES) if args.set is None else args.set
    print(f"{platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
          f"{args.scenario} with {overrides}, {args.replications} replications per worker count")
    walls: dict[int, float] = {}
    parent_cpu = 0.0
    for n in args.workers:
        wall, cpu = timed_study(args.scenario, overrides, args.replications, n)
        walls[n] = wall
        parent_cpu = max(parent_cpu, cpu / args.replications)
        base = walls[args.workers[0]]
        print(f"{n:>3} dask worker(s): {wall:6.1f} s, {args.replications / wall:.3f} replications/s, "
              f"speed-up {base / wall:.2f}", flush=True)
    if 1 in walls and 2 in walls:
        s2 = walls[1] / walls[2]
        print(f"Amdahl fit to the speed-up at 2 ({s2:.2f}): projected speed-up at 64 workers {amdahl(s2, 64):.1f}; "
              f"parent CPU {parent_cpu * 1000:.0f} ms per replication caps the rate at "
              f"{1 / parent_cpu if parent_cpu > 0 else float('inf'):.0f} replications/s")
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

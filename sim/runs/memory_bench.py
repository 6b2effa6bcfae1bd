"""Benchmark (not a test): peak memory of a study against its number of replications.

``python -m sim.runs.memory_bench [--replications 20 200] [--mode summary|run]`` runs, for each
count, one study in a fresh process and prints the peak resident set size (``ru_maxrss``) of
that process (the parent, which receives and aggregates the results) and of its worker
processes, then the ratio of the largest count's parent peak to the smallest's. The peak of the
parent's Arrow memory pool (``pyarrow.default_memory_pool().max_memory()``) is printed too: the
Parquet writer's buffers live there, not in the heap ``ru_maxrss`` mostly measures.

Modes: ``summary`` is the path of ``check-baseline`` (each replication's metrics aggregated online
into the summary rows: :func:`sim.runs.online.summarize_study`); ``run`` is ``sim run`` (each
replication's change rows streamed to ``changes.parquet`` by a
:class:`sim.runs.records_io.ChangesWriter` as it arrives and its metrics aggregated online: the
parent keeps no replication's frames).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sim import paths
from sim.runs.online import summarize_study
from sim.runs.records_io import ChangesWriter
from sim.runs.runner import run_replications
from sim.scenario import load_scenario

DEFAULT_OVERRIDES = ("run.cycles=1", "run.warmup_days=30")  # one cycle: ~1 s a replication pure Python


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def child(replications: int, mode: str, scenario_path: str, overrides: Sequence[str], workers: int) -> dict:
    """Run one study here and report its peaks (MiB) and wall time (s)."""
    scenario = load_scenario(scenario_path, overrides)
    start = time.perf_counter()
    if mode == "summary":
        rows = len(summarize_study([scenario], replications, 1, workers=workers))
    else:
        with tempfile.TemporaryDirectory() as tmp, ChangesWriter(Path(tmp)) as changes:
            run_replications(scenario, replications, 1, workers=workers, changes_to=changes.write)
            rows = changes.rows
    return {"replications": replications, "mode": mode, "rows": rows, "seconds": time.perf_counter() - start,
            "parent_peak_mib": _peak_mib(resource.RUSAGE_SELF),
            "workers_peak_mib": _peak_mib(resource.RUSAGE_CHILDREN),
            "arrow_pool_peak_mib": _arrow_pool_peak_mib()}


def _arrow_pool_peak_mib() -> float:
    """The most this process held at once in Arrow's memory pool (MiB); 0 when Arrow was never loaded."""
    if "pyarrow" not in sys.modules:
        return 0.0
    import pyarrow as pa

    return pa.default_memory_pool().max_memory() / 2**20


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.runs.memory_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--mode", choices=("summary", "run"), default="summary")
    parser.add_argument("--scenario", default=str(paths.SCENARIOS / "monolith.toml"))
    parser.add_argument("--set", action="append", default=None, metavar="SECTION.KEY=VALUE")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    overrides = list(DEFAULT_OVERRIDES) if args.set is None else args.set
    if args.child:
        print(json.dumps(child(args.replications[0], args.mode, args.scenario, overrides, args.workers)))
        return 0
    print(f"{platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
          f"{args.scenario} with {overrides}, {args.workers} workers, mode {args.mode}")
    peaks = []
    for n in args.replications:
        command = [sys.executable, "-m", "sim.runs.memory_bench", "--child", "--replications", str(n),
                   "--mode", args.mode, "--scenario", args.scenario, "--workers", str(args.workers)]
        command += [f"--set={o}" for o in overrides]
        out = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        peaks.append(out["parent_peak_mib"])
        print(f"{n:>6} replications: parent peak {out['parent_peak_mib']:7.1f} MiB, workers peak "
              f"{out['workers_peak_mib']:7.1f} MiB, {out['seconds']:.0f} s ({out['rows']} result rows), parent's "
              f"Arrow pool peak {out['arrow_pool_peak_mib']:.1f} MiB", flush=True)
    print(f"parent peak ratio {args.replications[-1]} / {args.replications[0]} replications: "
          f"{peaks[-1] / peaks[0]:.2f}; load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Summaries aggregated online: a study's summary rows without keeping its replications' frames.

:class:`OnlineSummary` keeps, per (area, metric), one float array of the replications' values
(8 bytes a value: ~4 KB a replication of the standard metrics), and gives the same rows, bit for
bit, as :func:`sim.runs.metrics.summarize` over the concatenated frames (same groups in the same
order, same values in the same order, the same :func:`sim.runs.stats.mean_ci`).
:func:`summarize_study` runs scenarios x replications through the study runner and aggregates
each replication's metrics as it arrives, so the parent's memory does not grow with the
replications' frames (``check-baseline``'s path; benchmark: :mod:`sim.runs.memory_bench`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from sim.runs.runner import METRICS_ONLY, Task, TaskCache, run_tasks
from sim.runs.stats import mean_ci
from sim.scenario import Scenario

SUMMARY_COLUMNS = ["scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n"]


class OnlineSummary:
    """Per (area, metric), the values of every replication added so far, in the order added."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], array[float]] = {}

    def add(self, per_replication: pd.DataFrame) -> None:
        """Add one replication's metrics (columns area, metric, value)."""
        areas, names = per_replication["area"].tolist(), per_replication["metric"].tolist()
        for area, metric, value in zip(areas, names, per_replication["value"].tolist(), strict=True):
            self._values.setdefault((area, metric), array("d")).append(value)

    def summary(self, scenario: str, policy: str) -> pd.DataFrame:
        """``summary.csv`` rows, as :func:`sim.runs.metrics.summarize` gives them."""
        rows = [(scenario, policy, area, metric, *mean_ci(np.frombuffer(values, dtype=float)))
                for (area, metric), values in self._values.items()]
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def summarize_study(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int], Any] | None = None,
    cache: TaskCache | None = None,
) -> pd.DataFrame:
    """Summary rows of every scenario over ``replications`` replications under ``seed`` (common
    random numbers), all through one runner, each replication's metrics aggregated as it arrives."""
    tasks: Iterable[Task] = (Task(sc, r, seed) for sc in scenarios for r in range(replications))
    results = run_tasks(METRICS_ONLY, tasks, workers=workers, executor=executor, count=replications * len(scenarios),
                        progress=progress, cache=cache)
    frames = []
    for sc in scenarios:
        online = OnlineSummary()
        for _ in range(replications):
            online.add(next(results))
        frames.append(online.summary(sc.scenario.name, sc.policy.name))
    return pd.concat(frames, ignore_index=True)

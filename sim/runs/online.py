"""Summaries aggregated online: a study's summary rows without keeping its replications' frames.

:func:`summarize_study` runs scenarios x replications through the study runner and aggregates
each replication's metrics as it arrives, so the parent's memory does not grow with the
replications' frames (``check-baseline``'s path; benchmark: :mod:`sim.runs.memory_bench`), through
:class:`sim.runs.online_summary.OnlineSummary`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any

import pandas as pd

from sim.runs.online_summary import SUMMARY_COLUMNS, OnlineSummary
from sim.runs.runner import METRICS_ONLY, Task, TaskCache, run_tasks
from sim.scenario import Scenario

__all__ = ["SUMMARY_COLUMNS", "OnlineSummary", "summarize_study"]


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

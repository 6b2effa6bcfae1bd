"""The one replication runner: run scenarios many times, in parallel, with common random numbers.

A *task* is one replication of one scenario under one root seed; a *measure* turns its records
into what the caller keeps (the standard metrics and change rows of :func:`replicate`, a
baseline's metrics only, a calibration's quantiles). :func:`run_tasks` runs any tasks with any
measure through the study runner (:func:`sim.runs.study.run_study`: a bounded window, in task
order, optionally resumable from a task cache); :func:`run_replications` is the common case of
one scenario.

Replication r of any scenario draws its random numbers from ``SeedSequence(seed, (r, stream))``,
so every scenario compared under one seed sees the same arrivals, sizes, defects and patience,
and results do not depend on the number of workers or the order in which they finish.
Any ``concurrent.futures``-style executor can run the replications (by default a process pool
whose workers die with their parent; ``dask.distributed.Client.get_executor()`` for clusters).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd

from sim.model.records import Records
from sim.runs import metrics
from sim.runs.online_summary import OnlineSummary
from sim.runs.study import Measure, StudyMeasure, Tables, Task, TaskCache, run_study
from sim.scenario import Scenario
from sim.simulate import simulate

T = TypeVar("T")

__all__ = [
    "METRICS_ONLY",
    "REPLICATION",
    "Measure",
    "ReplicationResult",
    "RunResult",
    "StudyMeasure",
    "Task",
    "TaskCache",
    "measure_replication",
    "replicate",
    "run_replications",
    "run_tasks",
]


def run_tasks(
    measure: Measure[T] | StudyMeasure[T],
    tasks: Iterable[Task],
    *,
    workers: int = 1,
    executor: Executor | None = None,
    count: int | None = None,
    progress: Callable[[int], Any] | None = None,
    cache: TaskCache | None = None,
) -> Iterator[T]:
    """``measure`` of each task's records, in task order (:func:`sim.runs.study.run_study`).

    ``executor`` runs them (any ``concurrent.futures`` executor), else a pool of ``workers``
    processes (capped at ``count`` tasks when given). ``cache`` (with a
    :class:`~sim.runs.study.StudyMeasure`) reads back finished tasks and stores new ones.
    ``progress(1)`` follows each result.
    """
    yield from run_study(measure, tasks, workers=workers, executor=executor, count=count, progress=progress,
                         cache=cache)


@dataclass
class ReplicationResult:
    """What one replication returns to the parent process (compact, picklable)."""

    replication: int
    changes: pd.DataFrame
    metrics: pd.DataFrame
    reviewers: pd.DataFrame
    littles_law: dict[str, float]
    records: Records | None = None


@dataclass
class RunResult:
    """All replications of one scenario."""

    scenario: Scenario
    seed: int
    replications: int
    summary: pd.DataFrame  # scenario, policy, area, metric, mean, ci_low, ci_high, n
    per_replication: pd.DataFrame  # replication, area, metric, value
    changes: pd.DataFrame  # one row per change per replication
    reviewers: pd.DataFrame  # one row per reviewer per replication (load inside the window)
    littles_law: pd.DataFrame  # one row per replication
    records: list[Records] | None = None

    @property
    def window(self) -> tuple[float, float]:
        """The measurement window [start, end) of every replication, in days."""
        return self.scenario.run.warmup_days, self.scenario.horizon_days


def measure_replication(records: Records, keep_records: bool = False) -> ReplicationResult:
    """The standard measure: change rows, metrics, reviewer load and Little's law of one replication."""
    df = metrics.changes_frame(records)
    per_rep = metrics.replication_metrics(records, df)
    little = metrics.littles_law(records, df)
    reviewers = metrics.reviewers_frame(records)
    return ReplicationResult(records.replication, df, per_rep, reviewers, little, records if keep_records else None)


def _encode_replication(result: ReplicationResult) -> Tables:
    little = pd.DataFrame([{"replication": result.replication, **result.littles_law}])
    return {"metrics": result.metrics, "changes": result.changes, "reviewers": result.reviewers, "littles_law": little}


def _decode_replication(tables: Tables) -> ReplicationResult:
    little = tables["littles_law"].iloc[0].to_dict()
    replication = int(little.pop("replication"))
    return ReplicationResult(replication, tables["changes"], tables["metrics"], tables["reviewers"],
                             {k: float(v) for k, v in little.items()})


def _encode_metrics(frame: pd.DataFrame) -> Tables:
    return {"metrics": frame}


def _decode_metrics(tables: Tables) -> pd.DataFrame:
    return tables["metrics"]


# The cacheable measures: the standard one (without records), and the metrics only (the baseline's).
REPLICATION: StudyMeasure[ReplicationResult] = StudyMeasure(
    "replication", measure_replication, _encode_replication, _decode_replication)
METRICS_ONLY: StudyMeasure[pd.DataFrame] = StudyMeasure(
    "metrics", metrics.replication_metrics, _encode_metrics, _decode_metrics)


def replicate(scenario: Scenario, replication: int, seed: int, keep_records: bool = False) -> ReplicationResult:
    """Run replication ``replication`` of ``scenario`` and compute its metrics."""
    return measure_replication(simulate(scenario, replication, seed), keep_records)


def run_replications(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    keep_records: bool = False,
    progress: Callable[[int], Any] | None = None,
    cache: TaskCache | None = None,
    changes_to: Callable[[pd.DataFrame], Any] | None = None,
) -> RunResult:
    """Run ``replications`` replications of ``scenario`` and summarise them.

    ``workers`` > 1 uses a process pool unless an ``executor`` is given. ``progress`` is called
    with 1 after each finished replication (e.g. ``tqdm.update``). ``cache`` reads back
    replications already run (not with ``keep_records``: records are not cached). ``changes_to``
    receives each replication's change rows in replication order, and the result then keeps no
    replication's frames: its summary is aggregated online as each replication arrives
    (:class:`sim.runs.online_summary.OnlineSummary`, the same rows bit for bit) and ``changes``,
    ``per_replication``, ``reviewers`` and ``littles_law`` have their columns only, so memory
    stays flat in the number of replications (``sim run`` streams the rows to disk with
    :class:`sim.runs.records_io.ChangesWriter`).
    """
    n = scenario.run.replications if replications is None else replications
    root = scenario.run.seed if seed is None else seed
    if n < 1:
        raise ValueError(f"replications must be >= 1, got {n}")
    measure: Measure[ReplicationResult] | StudyMeasure[ReplicationResult] = (
        functools.partial(measure_replication, keep_records=True) if keep_records else REPLICATION)
    tasks = (Task(scenario, r, root) for r in range(n))
    results = run_tasks(measure, tasks, workers=workers, executor=executor, count=n, progress=progress, cache=cache)
    if changes_to is not None:
        return _stream(scenario, root, results, changes_to)
    return _collect(scenario, root, list(results))


def _stream(scenario: Scenario, seed: int, results: Iterator[ReplicationResult],
            changes_to: Callable[[pd.DataFrame], Any]) -> RunResult:
    """Each replication's change rows handed to ``changes_to`` and its metrics added to an online
    summary as it arrives (in replication order); no replication's frames are kept (its records
    are, when the measure kept them)."""
    online = OnlineSummary()
    count = 0
    records: list[Records] = []
    columns: list[pd.DataFrame] = []  # changes, metrics, reviewers, Little's law: the columns, no rows
    for result in results:
        changes_to(result.changes)
        online.add(result.metrics)
        count += 1
        if result.records is not None:
            records.append(result.records)
        if not columns:
            little = pd.DataFrame([{"replication": result.replication, **result.littles_law}])
            columns = [_empty_like(frame) for frame in (result.changes, result.metrics, result.reviewers, little)]
    changes, per_rep, reviewers, little = columns
    summary = online.summary(scenario.scenario.name, scenario.policy.name)
    return RunResult(scenario, seed, count, summary, per_rep, changes, reviewers, little, records or None)


def _empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    """A new empty frame of ``frame``'s columns and types: an empty slice, even copied, can keep the
    rows' buffers alive (~160 KB a replication of change rows)."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in frame.dtypes.items()})


def _collect(scenario: Scenario, seed: int, results: list[ReplicationResult]) -> RunResult:
    results = sorted(results, key=lambda r: r.replication)
    per_rep = pd.concat([r.metrics for r in results], ignore_index=True)
    summary = metrics.summarize(per_rep, scenario.scenario.name, scenario.policy.name)
    changes = pd.concat([r.changes for r in results], ignore_index=True)
    reviewers = pd.concat([r.reviewers for r in results], ignore_index=True)
    little = pd.DataFrame([{"replication": r.replication, **r.littles_law} for r in results])
    records = [r.records for r in results if r.records is not None] or None
    return RunResult(scenario, seed, len(results), summary, per_rep, changes, reviewers, little, records)

"""Comparing scenarios fairly: common random numbers and paired differences.

Every scenario runs the same replications under the same root seed, so replication *r* of each
sees the same arrivals, sizes, defects, patience and attractiveness draws. The effect of a policy
is then estimated per replication, as the difference from the reference scenario (the first),
and its confidence interval comes from those paired differences: much narrower than the
difference of two independent means when the replications of the two scenarios are positively
correlated, which common random numbers make them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.runs.pool import pool_or
from sim.runs.runner import RunResult, TaskCache, run_replications
from sim.runs.stats import mean_ci
from sim.scenario import Scenario, ScenarioError

COMPARISON_COLUMNS = [
    "scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n",
    "reference", "diff", "diff_ci_low", "diff_ci_high", "diff_n",
]


@dataclass
class Comparison:
    """Runs of several scenarios under one seed; ``runs[0]`` is the reference."""

    seed: int
    replications: int
    runs: list[RunResult]
    comparison: pd.DataFrame  # COMPARISON_COLUMNS

    @property
    def summary(self) -> pd.DataFrame:
        """Every run's ``summary.csv`` rows, stacked."""
        return pd.concat([run.summary for run in self.runs], ignore_index=True)

    @property
    def names(self) -> list[str]:
        return [run.scenario.scenario.name for run in self.runs]

    def run(self, name: str) -> RunResult:
        return self.runs[self.names.index(name)]

    def subset(self, names: Sequence[str]) -> Comparison:
        """The comparison of ``names`` only (runs shared, nothing re-run); ``names[0]`` is the reference."""
        runs = [self.run(n) for n in names]
        return Comparison(self.seed, self.replications, runs, comparison_table(runs))


def compare(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int], Any] | None = None,
    cache: TaskCache | None = None,
) -> Comparison:
    """Run every scenario ``replications`` times under ``seed`` and compare each with the first
    (``cache``: read back replications already run, store the others)."""
    if not scenarios:
        raise ValueError("compare needs at least one scenario")
    check_distinct_names(scenarios)
    with pool_or(executor, workers, replications * len(scenarios)) as shared:
        runs = [run_replications(sc, replications, seed, executor=shared, progress=progress, cache=cache)
                for sc in scenarios]
    return Comparison(seed, replications, runs, comparison_table(runs))


def check_distinct_names(scenarios: Sequence[Scenario]) -> None:
    """Scenarios run together must have distinct names (every output is keyed by name)."""
    names = [sc.scenario.name for sc in scenarios]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ScenarioError(f"scenario.name: {duplicated} used by more than one compared scenario; names must differ")


def comparison_table(runs: Sequence[RunResult]) -> pd.DataFrame:
    """Each run's mean and CI per (area, metric), and its paired difference from ``runs[0]``."""
    reference = runs[0]
    ref_values = _by_replication(reference.per_replication)
    frames = []
    for run in runs:
        values = _by_replication(run.per_replication)
        diffs = values.sub(ref_values, fill_value=np.nan).reindex(values.index)
        stats = [mean_ci(row) for row in diffs.to_numpy()]
        paired = pd.DataFrame(stats, index=diffs.index, columns=["diff", "diff_ci_low", "diff_ci_high", "diff_n"])
        table = run.summary.merge(paired, left_on=["area", "metric"], right_index=True, how="left")
        table.insert(8, "reference", reference.scenario.scenario.name)
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)[COMPARISON_COLUMNS]
    out["diff_n"] = out["diff_n"].fillna(0).astype(int)
    return out


def _by_replication(per_replication: pd.DataFrame) -> pd.DataFrame:
    """Values as a table: rows (area, metric), one column per replication."""
    return per_replication.set_index(["area", "metric", "replication"])["value"].unstack("replication")

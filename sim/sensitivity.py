"""Sensitivity of policy effects to parameters: design points -> paired effects (for SALib designs).

At every design point the monolith and each policy run under the same seed (common random
numbers), and the output is each policy's paired difference from the monolith in one metric.
Design points run concurrently (threads submitting to one process pool).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.runs.compare import compare
from sim.runs.pool import worker_pool
from sim.scenario import load_scenario


@dataclass(frozen=True)
class Factor:
    """A parameter screened: the scenario keys its value is written to, its range, integer or not."""

    keys: tuple[str, ...]
    low: float
    high: float
    integer: bool = False


def overrides_at(factors: Mapping[str, Factor], values: Mapping[str, float], base: Sequence[str] = ()) -> list[str]:
    """``base`` plus each factor's keys set to its value at this design point."""
    out = list(base)
    for name, value in values.items():
        factor = factors[name]
        out += [f"{k}={round(value) if factor.integer else float(value)}" for k in factor.keys]
    return out


@dataclass
class EffectRunner:
    """Paired effects of ``policies`` (scenario names in ``scenario_dir``) against the monolith."""

    factors: Mapping[str, Factor]
    policies: Sequence[str]
    scenario_dir: Path
    replications: int
    seed: int
    metric: str = "time_to_merge_median_days"
    area: str = "all"
    base_overrides: Sequence[str] = ()
    workers: int = 2
    points: int = 0
    seconds: float = 0.0
    reference: str = field(default="monolith")

    def effects_at(self, values: Mapping[str, float], executor: Executor | None = None) -> np.ndarray:
        """Each policy's paired difference in ``metric`` from the reference at one design point."""
        overrides = overrides_at(self.factors, values, self.base_overrides)
        names = [self.reference, *self.policies]
        scenarios = [load_scenario(self.scenario_dir / f"{n}.toml", overrides) for n in names]
        table = compare(scenarios, self.replications, self.seed, executor=executor).comparison
        rows = table[(table["metric"] == self.metric) & (table["area"] == self.area)].set_index("scenario")
        return rows.loc[list(self.policies), "diff"].to_numpy(dtype=float)

    def evaluate(self, names: Sequence[str], design: np.ndarray) -> np.ndarray:
        """Effects at every row of ``design`` (columns: ``names``): rows design points, columns policies."""
        start = time.perf_counter()
        with worker_pool(self.workers) as pool, ThreadPoolExecutor(self.workers) as threads:
            effects = list(threads.map(lambda x: self.effects_at(dict(zip(names, x)), pool), design))
        self.points += len(design)
        self.seconds += time.perf_counter() - start
        return np.array(effects)

    @property
    def replications_run(self) -> int:
        return self.points * (1 + len(self.policies)) * self.replications

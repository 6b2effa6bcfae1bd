"""The sensitivity study: which uncertain inputs move each policy's effect, Morris then Sobol (SALib).

The factors are the parameter ensemble's (``data/ensemble.toml``, :mod:`sim.runs.ensemble`: one
source of truth): every fitted parameter over its calibration 95 % interval, sampled on a log scale
(uniform in log value, clipped to the schema's range), and every policy assumption over its stated
range, sampled uniformly.

1. **Morris screening** (:func:`SALib.sample.morris.sample`, :func:`SALib.analyze.morris.analyze`)
   over all factors: ``trajectories`` x (factors + 1) design points.
2. **Sobol indices** (:func:`SALib.sample.sobol.sample`, :func:`SALib.analyze.sobol.analyze`,
   first and total order, ``calc_second_order=False``) over the ``sobol_factors`` factors ranked
   highest by Morris: a factor's rank is its mean over every policy x outcome of mu* divided by
   the largest mu* of that policy x outcome (outcomes have different units). The other
   factors keep the scenarios' own values. ``N`` (x (k + 2)) design points.

At every design point the monolith and each policy run ``replications`` replications under one
root seed (common random numbers; the same seed at every design point too, so that differences
between points are the factors', not the noise's). The outputs are each policy's paired effect
(mean over replications of policy minus monolith) on the :data:`OUTCOMES`. Every replication is one
task of :func:`sim.runs.runner.run_tasks` (the one study runner: bounded window, ``cache`` resumes a
killed study and a repeated one costs nothing), in a fixed order, so the tables are the same bytes
whatever the number of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.runs.ensemble import EnsembleSpec, Range
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS
from sim.runs.runner import METRICS_ONLY, Task, TaskCache, run_tasks
from sim.scenario import Scenario, load_scenario
from sim.scenario.schema import allowed_bounds, field_at

# The outcomes of each policy's effect: (name, area, metric, unit).
OUTCOMES: tuple[tuple[str, str, str, str], ...] = (
    ("driver median time to merge", DRIVERS, "time_to_merge_median_days", "days"),
    ("non-driver median time to merge", NON_DRIVERS, "time_to_merge_median_days", "days"),
    ("throughput", ALL, "merged_per_week", "changes/week"),
    ("backlog", ALL, "open_at_end", "changes"),
    ("core load", ALL, "reviews_per_core_per_week", "reviews/core/week"),
)
MORRIS_LEVELS = 4
MORRIS_COLUMNS = ["policy", "outcome", "area", "metric", "factor", "kind", "mu", "mu_star", "sigma", "mu_star_conf"]
SOBOL_COLUMNS = ["policy", "outcome", "area", "metric", "factor", "kind", "S1", "S1_conf", "ST", "ST_conf"]


@dataclass(frozen=True)
class StudySize:
    """How big a study is: Morris trajectories, Sobol base samples N (a power of 2), factors given
    Sobol indices, replications per scenario and design point, and the seeds."""

    trajectories: int
    sobol_n: int
    sobol_factors: int
    replications: int
    seed: int  # the simulation's root seed (every scenario, every design point)
    sample_seed: int  # SALib's designs and bootstrap intervals


def problem(ranges: Sequence[Range]) -> dict[str, Any]:
    """SALib's problem over ``ranges``: fitted parameters as log values, assumptions as values."""
    bounds = [[math.log(r.low), math.log(r.high)] if r.kind == "fitted" else [r.low, r.high] for r in ranges]
    return {"num_vars": len(ranges), "names": [r.key for r in ranges], "bounds": bounds}


def values_of(ranges: Sequence[Range], unit_row: np.ndarray) -> dict[str, float]:
    """A design row (SALib's scale) as parameter values: fitted ones exponentiated and clipped to the
    schema's range (an interval may reach past it, e.g. a parameter fitted at its bound)."""
    out = {}
    for r, x in zip(ranges, unit_row):
        if r.kind == "fitted":
            info = field_at(tuple(r.key.split(".")))
            lo, hi = allowed_bounds(info) if info is not None else (-math.inf, math.inf)
            out[r.key] = float(min(max(math.exp(float(x)), lo), hi))
        else:
            out[r.key] = float(x)
    return out


@dataclass
class EffectTable:
    """Paired effects at each design point: ``effects[i, p, o]`` for point i, policy p, outcome o."""

    design: np.ndarray  # rows: design points (SALib's scale)
    effects: np.ndarray
    tasks_run: int
    tasks_cached: int


def evaluate(
    files: Sequence[Path],
    ranges: Sequence[Range],
    design: np.ndarray,
    size: StudySize,
    *,
    extra_overrides: Sequence[str] = (),
    workers: int = 1,
    executor: Executor | None = None,
    cache: TaskCache | None = None,
    progress: Callable[[int], Any] | None = None,
) -> EffectTable:
    """Run ``files`` (the monolith first) at every row of ``design`` and return each policy's paired
    effect on each outcome. Raises :class:`InputError` when an outcome is undefined at a point
    (e.g. nothing merged in a too-short run)."""
    points = [values_of(ranges, row) for row in design]
    n_scen, reps = len(files), size.replications

    def scenarios_at(values: dict[str, float]) -> list[Scenario]:
        sets = [*extra_overrides, *(f"{k}={v!r}" for k, v in values.items())]
        return [load_scenario(f, sets) for f in files]

    def tasks() -> Any:
        for values in points:
            for scenario in scenarios_at(values):
                for r in range(reps):
                    yield Task(scenario, r, size.seed)

    wanted = [(area, metric) for _, area, metric, _ in OUTCOMES]
    values = np.full((len(points), n_scen, reps, len(wanted)), np.nan)
    before = cache.hits if cache is not None else 0
    results = run_tasks(METRICS_ONLY, tasks(), workers=workers, executor=executor, count=len(points) * n_scen * reps,
                        progress=progress, cache=cache)
    for i, frame in enumerate(results):
        point, rest = divmod(i, n_scen * reps)
        scen, rep = divmod(rest, reps)
        row = frame.set_index(["area", "metric"])["value"]
        values[point, scen, rep] = [float(row.get(key, np.nan)) for key in wanted]
    effects = (values[:, 1:] - values[:, :1]).mean(axis=2)  # point, policy, outcome
    bad = np.argwhere(~np.isfinite(effects))
    if len(bad):
        i, p, o = bad[0]
        raise InputError(f"sensitivity: {OUTCOMES[o][0]} of {files[p + 1].stem} or the monolith is undefined at design "
                         f"point {i} ({len(bad)} such cells): the run is too short or a range too extreme; lengthen "
                         "run.horizon_days")
    total = len(points) * n_scen * reps
    cached = (cache.hits - before) if cache is not None else 0
    return EffectTable(design, effects, total - cached, cached)


def morris_design(ranges: Sequence[Range], size: StudySize) -> np.ndarray:
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(problem(ranges), size.trajectories, num_levels=MORRIS_LEVELS, seed=size.sample_seed)


def sobol_design(ranges: Sequence[Range], size: StudySize) -> np.ndarray:
    from SALib.sample import sobol as sobol_sample

    return sobol_sample.sample(problem(ranges), size.sobol_n, calc_second_order=False, seed=size.sample_seed)


def morris_table(ranges: Sequence[Range], table: EffectTable, policies: Sequence[str], size: StudySize) -> pd.DataFrame:
    """Morris mu, mu*, sigma and mu*'s bootstrap 95 % half-width per policy x outcome x factor."""
    from SALib.analyze import morris as morris_analyze

    prob = problem(ranges)
    rows = []
    for p, policy in enumerate(policies):
        for o, (outcome, area, metric, _) in enumerate(OUTCOMES):
            si = morris_analyze.analyze(prob, table.design, table.effects[:, p, o], num_levels=MORRIS_LEVELS,
                                        seed=size.sample_seed)
            for f, r in enumerate(ranges):
                rows.append([policy, outcome, area, metric, r.key, r.kind, si["mu"][f], si["mu_star"][f],
                             si["sigma"][f], si["mu_star_conf"][f]])
    return pd.DataFrame(rows, columns=MORRIS_COLUMNS)


def factor_ranking(morris: pd.DataFrame) -> pd.Series:
    """Each factor's mean over every policy x outcome of its mu* divided by the largest mu* of that
    policy x outcome (outcomes have different units), largest first (ties: the spec's order)."""
    largest = morris.groupby(["policy", "outcome"], sort=False)["mu_star"].transform("max")
    relative = (morris["mu_star"] / largest.where(largest > 0)).fillna(0.0)
    rank = relative.groupby(morris["factor"], sort=False).mean()
    return rank.sort_values(ascending=False, kind="stable")


def top_factors(morris: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` factors ranked highest by :func:`factor_ranking`."""
    return list(factor_ranking(morris).index[:k])


def sobol_table(ranges: Sequence[Range], table: EffectTable, policies: Sequence[str], size: StudySize) -> pd.DataFrame:
    """Sobol S1 and ST with their bootstrap 95 % half-widths per policy x outcome x factor (an effect
    the factors do not move at all has indices 0)."""
    from SALib.analyze import sobol as sobol_analyze

    prob = problem(ranges)
    rows = []
    for p, policy in enumerate(policies):
        for o, (outcome, area, metric, _) in enumerate(OUTCOMES):
            y = table.effects[:, p, o]
            if np.ptp(y) == 0:
                si = {k: np.zeros(len(ranges)) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            else:
                si = sobol_analyze.analyze(prob, y, calc_second_order=False, seed=size.sample_seed)
            for f, r in enumerate(ranges):
                rows.append([policy, outcome, area, metric, r.key, r.kind, si["S1"][f], si["S1_conf"][f],
                             si["ST"][f], si["ST_conf"][f]])
    return pd.DataFrame(rows, columns=SOBOL_COLUMNS)


def points_frame(ranges: Sequence[Range], table: EffectTable, policies: Sequence[str]) -> pd.DataFrame:
    """Every design point's parameter values and each policy's effect on each outcome (one row a point)."""
    frame = pd.DataFrame([values_of(ranges, row) for row in table.design])
    for p, policy in enumerate(policies):
        for o, (outcome, _, _, _) in enumerate(OUTCOMES):
            frame[f"{policy}: {outcome}"] = table.effects[:, p, o]
    frame.insert(0, "point", range(len(frame)))
    return frame


def ranges_of(spec: EnsembleSpec, keys: Sequence[str] | None = None) -> list[Range]:
    """The spec's ranges (fitted, then assumptions), or those named by ``keys`` in that order."""
    if keys is None:
        return list(spec.ranges)
    return [r for r in spec.ranges if r.key in set(keys)]

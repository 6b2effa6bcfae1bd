"""The data each figure shows, read from results that are already computed (nothing simulates or draws).

Times are in days; "inside the window" means inside the run's measurement window
(:attr:`~sim.runs.runner.RunResult.window`). Sweep frames are tidy: one row per sweep point and
replication, the measured number in ``value``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.runs import metrics
from sim.runs.compare import Comparison
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS, open_series
from sim.runs.runner import RunResult
from sim.runs.stats import mean_ci
from sim.scenario.staffing import ROLES

ROLE_ORDER: tuple[str, ...] = ROLES  # reviewer roles in figure 7, left to right


# ------------------------------------------------------------------------------ comparison tables


def has_driver_groups(table: pd.DataFrame) -> bool:
    """The comparison table has the driver and non-driver groups (a scenario with driver areas)."""
    areas = set(table["area"])
    return DRIVERS in areas and NON_DRIVERS in areas


def median_cis(table: pd.DataFrame, metric: str, area: str) -> dict[str, tuple[float, float, float]]:
    """Per scenario of a comparison table: (mean, CI low, CI high) of ``metric`` over replications."""
    rows = table[(table["metric"] == metric) & (table["area"] == area)]
    return {r["scenario"]: (float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])) for _, r in rows.iterrows()}


def table_value(table: pd.DataFrame, name: str, metric: str, area: str, column: str = "mean") -> float:
    """One cell of a comparison table (``column`` of scenario ``name``, ``metric``, ``area``); NaN if absent."""
    hit = table[(table["area"] == area) & (table["scenario"] == name) & (table["metric"] == metric)]
    return float(hit[column].iloc[0]) if not hit.empty else np.nan


# ------------------------------------------------------------------------------ per-change samples


def time_to_merge_days(run: RunResult, drivers: bool | None = None) -> np.ndarray:
    """Days from upload to merge of the changes merged inside the window, pooled over replications.

    ``drivers``: True for driver changes only, False for non-driver changes only, None for all.
    """
    merged = metrics.merged_in_window(run.changes, run.window)
    if drivers is not None:
        in_drivers = merged["area"].isin(run.scenario.driver_areas)
        merged = merged[in_drivers if drivers else ~in_drivers]
    return (merged["merged"] - merged["arrived"]).to_numpy(dtype=float)


def interface_usable_days(run: RunResult, area: str = NON_DRIVERS) -> np.ndarray:
    """``usable - arrived`` (days) of original interface changes usable inside the window.

    As ``metrics.change_metrics``: changes with ``touches_interface`` and ``parent < 0`` whose
    ``usable`` time falls in the window; ``area`` selects non-driver (nova) changes, driver
    changes or all.
    """
    a, b = run.window
    c = _interface_changes(run, area)
    c = c[(c["usable"] >= a) & (c["usable"] < b)]
    return (c["usable"] - c["arrived"]).to_numpy(dtype=float)


def _interface_changes(run: RunResult, area: str) -> pd.DataFrame:
    """Original (``parent < 0``) interface-touching changes of ``area`` (non-driver, driver, all or one area)."""
    c = run.changes
    c = c[c["touches_interface"].astype(bool) & (c["parent"] < 0)]
    if area == NON_DRIVERS:
        return c[~c["area"].isin(run.scenario.driver_areas)]
    if area == DRIVERS:
        return c[c["area"].isin(run.scenario.driver_areas)]
    return c if area == ALL else c[c["area"] == area]


def interface_cohort(run: RunResult, area: str = NON_DRIVERS) -> tuple[int, int]:
    """Of the interface changes (as :func:`interface_usable_days`) uploaded inside the window, pooled
    over replications: how many, and how many were not usable in every driver by the window's end
    (abandoned, still in review, or still waiting for a driver to adopt them)."""
    a, b = run.window
    c = _interface_changes(run, area)
    c = c[(c["arrived"] >= a) & (c["arrived"] < b)]
    return len(c), int((~(c["usable"] < b)).sum())


def ecdf_on_grid(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The empirical CDF of ``values`` at every point of ``grid`` (fraction <= x), by ``scipy.stats.ecdf``.

    Figures draw it on a fixed grid, not with ``Axes.ecdf`` (a step at every value): that would
    change every committed ECDF figure's bytes, and the curves of thousands of changes look the same.
    """
    from scipy import stats  # here, not at the top: scipy.stats costs ~1 s to import

    return stats.ecdf(values).cdf.evaluate(grid)


def log_grid(arrays: Sequence[np.ndarray], points: int = 400) -> np.ndarray:
    """A geometric grid spanning the pooled positive values (at least 1e-3 and one decade wide)."""
    pooled = np.concatenate([a for a in arrays if len(a)]) if any(len(a) for a in arrays) else np.array([1.0])
    positive = pooled[pooled > 0]
    low = max(float(positive.min()) if len(positive) else 0.01, 1e-3)
    high = max(float(pooled.max()), low * 10)
    return np.geomspace(low, high, points)


# ------------------------------------------------------------------------------ the backlog (figure 2)


def backlog_series(comparison: Comparison) -> pd.DataFrame:
    """Open changes per day of the window, per scenario and replication (``metrics.open_series``)."""
    frames = []
    for run in comparison.runs:
        s = open_series(run.changes, run.window)
        s.insert(0, "scenario", run.scenario.scenario.name)
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


def backlog_by_day(series: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Scenario ``name``'s backlog: the days of the window and open changes (rows: replications, columns: days)."""
    s = series[series["scenario"] == name].pivot(index="replication", columns="day", values="open")
    return s.columns.to_numpy(dtype=float), s.to_numpy(dtype=float)


def backlog_per_replication(series: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Each replication's time-average backlog (open changes): one row per replication, columns ``names``."""
    return series.groupby(["replication", "scenario"])["open"].mean().unstack("scenario")[list(names)]


# ------------------------------------------------------------------------------ sweeps (figures 4, 5)


def by_replication(frame: pd.DataFrame, columns: str) -> pd.DataFrame:
    """A tidy sweep frame's ``value``: one row per replication, one column per value of ``columns``."""
    return frame.pivot_table(index="replication", columns=columns, values="value")


def point_cis(frame: pd.DataFrame, x: str) -> pd.DataFrame:
    """Per sweep point ``x`` (sorted): ``value``'s mean, 95 % CI and n over replications (:func:`mean_ci`)."""
    rows = [(point, *mean_ci(g["value"])) for point, g in frame.groupby(x, sort=True)]
    return pd.DataFrame(rows, columns=[x, "mean", "low", "high", "n"])


def column_cis(table: pd.DataFrame, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, CI low and CI high (:func:`mean_ci`) of each of ``columns`` of a :func:`by_replication` table."""
    st = [mean_ci(table[c]) for c in columns]
    return np.array([v[0] for v in st]), np.array([v[1] for v in st]), np.array([v[2] for v in st])


# ------------------------------------------------------------------------------ reviewer load (figure 7)


def reviewer_loads(comparison: Comparison) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Per scenario, per reviewer role present (:data:`ROLE_ORDER` first, others sorted): reviews per
    reviewer per week inside the window, one value per reviewer per replication."""
    loads: dict[str, list[tuple[str, np.ndarray]]] = {}
    for name in comparison.names:
        rev = comparison.run(name).reviewers
        present = [r for r in ROLE_ORDER if r in set(rev["role"])] + sorted(set(rev["role"]) - set(ROLE_ORDER))
        loads[name] = []
        for role in present:
            y = rev.loc[rev["role"] == role, "reviews_per_week"].to_numpy(dtype=float)
            if len(y):
                loads[name].append((role, y))
    return loads

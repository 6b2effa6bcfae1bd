"""Empirical summaries of a changes table per release cycle and area (the calibration targets).

Every function is pure: it takes the ``frame`` of a :class:`~sim.calibrate.data.ChangeTable`
(or a slice of it) and returns a DataFrame indexed by area, areas ordered by number of changes
with a final ``all`` row. Durations are in days; quantiles use linear interpolation (numpy's
default). The area column is ``area`` (data areas) unless ``area_col`` names another one, such
as the model areas from :func:`~sim.calibrate.data.model_areas`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calibrate import DataError
from sim.calibrate.data import KINDS, NOVA_CYCLES, cycle_bounds

QUANTILES: tuple[float, ...] = (0.5, 0.75, 0.9)
PHASES: dict[str, str] = {"time_to_merge": "time_to_merge_days", "revision": "revision_days", "final": "final_days"}
"""Phase name -> column: authored -> merged, authored -> last upload, last upload -> merged (days)."""
WEEK = pd.Timedelta(days=7)


def per_area(frame: pd.DataFrame, stat: Callable[[pd.DataFrame], Mapping[str, float]],
             area_col: str = "area") -> pd.DataFrame:
    """Apply ``stat`` to each area's rows and to all rows; one row per area, then ``all``."""
    counts = frame[area_col].value_counts()
    order = sorted(counts.index, key=lambda a: (-counts[a], a))
    rows = {str(a): stat(frame[frame[area_col] == a]) for a in order}
    rows["all"] = stat(frame)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(area_col)


def phase_quantiles(frame: pd.DataFrame, area_col: str = "area",
                    quantiles: Sequence[float] = QUANTILES) -> pd.DataFrame:
    """Changes ``n`` and, per phase, the quantiles of its duration (days): ``time_to_merge_p50`` etc."""
    def stat(rows: pd.DataFrame) -> dict[str, float]:
        out: dict[str, float] = {"n": len(rows)}
        for phase, column in PHASES.items():
            values = np.quantile(rows[column], quantiles) if len(rows) else [math.nan] * len(quantiles)
            out |= {f"{phase}_p{round(q * 100)}": float(v) for q, v in zip(quantiles, values, strict=True)}
        return out

    return per_area(frame, stat, area_col).astype({"n": int})


def size_summary(frame: pd.DataFrame, area_col: str = "area") -> pd.DataFrame:
    """Size in changed lines: mean and sd (ddof 1) of log(lines) over changes with lines > 0,
    median lines over all changes, and the count of changes with no changed lines."""
    def stat(rows: pd.DataFrame) -> dict[str, float]:
        lines = rows["size_lines"]
        logs = np.log(lines[lines > 0])
        return {"n": len(rows), "log_lines_mean": logs.mean(), "log_lines_sd": logs.std(ddof=1),
                "median_lines": lines.median(), "zero_lines": int((lines == 0).sum())}

    return per_area(frame, stat, area_col).astype({"n": int, "zero_lines": int})


def weekend_upload_share(rows: pd.DataFrame) -> float:
    """Share of the uploads with a time stamp (first and last patch set: authored, committed)
    made on a Saturday or Sunday (NaN without rows)."""
    uploads = pd.concat([rows["authored_at"], rows["committed_at"]])
    return float(uploads.dt.day_of_week.isin([5, 6]).mean()) if len(uploads) else math.nan


def mix_summary(frame: pd.DataFrame, area_col: str = "area") -> pd.DataFrame:
    """Share of each kind, share touching the virt interface, share driver-only, distinct authors,
    share of uploads on weekends."""
    def stat(rows: pd.DataFrame) -> dict[str, float]:
        kinds = rows["kind"].value_counts(normalize=True)
        return {"n": len(rows), **{k: float(kinds.get(k, 0.0)) for k in KINDS},
                "virt_api_share": rows["touches_virt_api"].mean(), "driver_only_share": rows["driver_only"].mean(),
                "authors": rows["author_id"].nunique(), "weekend_upload_share": weekend_upload_share(rows)}

    return per_area(frame, stat, area_col).astype({"n": int, "authors": int})


def cycle_weeks(start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Weeks in the cycle (start, end]: the duration in weeks rounded, at least 1."""
    return max(1, round((end - start) / WEEK))


def weekly_counts(times: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Events per cycle week for times in (start, end]; week 0 starts at ``start`` and the part-week
    left over after the last whole week (rounding in :func:`cycle_weeks`) is counted in the last week."""
    weeks = cycle_weeks(start, end)
    inside = times[(times > start) & (times <= end)]
    index = np.minimum(((inside - start) // WEEK).to_numpy(dtype=int), weeks - 1)
    return np.bincount(index, minlength=weeks)


def _dispersion(counts: np.ndarray) -> float:
    mean = counts.mean()
    return float(counts.var(ddof=1) / mean) if mean > 0 and len(counts) > 1 else math.nan


def weekly_summary(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, area_col: str = "area") -> pd.DataFrame:
    """Weekly arrivals (changes by authored week) and merges (by merged week) in (start, end]:
    mean per week and dispersion (sample variance / mean; 1 for a Poisson process).

    Pass every row, not only the cycle's release: a change authored in the cycle counts as an
    arrival wherever it merged (still only eventually-merged changes, so the last weeks run low).
    """
    def stat(rows: pd.DataFrame) -> dict[str, float]:
        authored = weekly_counts(rows["authored_at"], start, end)
        merged = weekly_counts(rows["merged_at"], start, end)
        return {"weeks": len(merged), "arrivals_mean": authored.mean(), "arrivals_dispersion": _dispersion(authored),
                "merges_mean": merged.mean(), "merges_dispersion": _dispersion(merged)}

    inside = frame[((frame["authored_at"] > start) & (frame["authored_at"] <= end))
                   | ((frame["merged_at"] > start) & (frame["merged_at"] <= end))]
    return per_area(inside, stat, area_col).astype({"weeks": int})


def resampled_quantiles(values: np.ndarray, qs: Sequence[float], n_boot: int, seed: int) -> np.ndarray:
    """Quantiles ``qs`` of ``n_boot`` resamples with replacement: shape (n_boot, len(qs))."""
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // max(len(values), 1))
    parts = []
    for done in range(0, n_boot, chunk):
        idx = rng.integers(0, len(values), size=(min(chunk, n_boot - done), len(values)))
        parts.append(np.quantile(values[idx], qs, axis=1).T)
    return np.concatenate(parts)


def bootstrap_quantile_ci(values: Sequence[float] | np.ndarray, q: float, n_boot: int = 2000, seed: int = 0,
                          level: float = 0.9) -> tuple[float, float]:
    """Percentile bootstrap interval (``level``, two-sided) of the ``q`` quantile of ``values``.

    ``n_boot`` resamples with replacement from ``numpy.random.default_rng(seed)``; same unit as values.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0 or not 0 <= q <= 1 or not 0 < level < 1 or n_boot < 1:
        raise ValueError(f"need values, 0 <= q <= 1, 0 < level < 1, n_boot >= 1 (got {x.size}, {q}, {level}, {n_boot})")
    low, high = np.quantile(resampled_quantiles(x, [q], n_boot, seed)[:, 0], [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def quantile_cis(frame: pd.DataFrame, area_col: str = "area", column: str = "time_to_merge_days",
                 quantiles: Sequence[float] = QUANTILES, n_boot: int = 2000, seed: int = 0,
                 level: float = 0.9) -> pd.DataFrame:
    """Per area: each quantile of ``column`` with its bootstrap interval (``p50``, ``p50_low``, ``p50_high``...)."""
    tails = [(1 - level) / 2, (1 + level) / 2]

    def stat(rows: pd.DataFrame) -> dict[str, float]:
        x = rows[column].to_numpy(dtype=float)
        out: dict[str, float] = {"n": len(x)}
        if len(x) == 0:
            return out
        bounds = np.quantile(resampled_quantiles(x, quantiles, n_boot, seed), tails, axis=0)
        for i, q in enumerate(quantiles):
            name = f"p{round(q * 100)}"
            out |= {name: float(np.quantile(x, q)), f"{name}_low": float(bounds[0, i]),
                    f"{name}_high": float(bounds[1, i])}
        return out

    return per_area(frame, stat, area_col).astype({"n": int})


@dataclass(frozen=True)
class CycleSummary:
    """All summaries of one release cycle; tables as returned by the functions of this module."""

    cycle: str
    start: pd.Timestamp
    end: pd.Timestamp
    phases: pd.DataFrame
    size: pd.DataFrame
    mix: pd.DataFrame
    weekly: pd.DataFrame

    @property
    def weeks(self) -> int:
        return cycle_weeks(self.start, self.end)


def cycle_summary(frame: pd.DataFrame, cycle: str, area_col: str = "area",
                  known: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]] = NOVA_CYCLES) -> CycleSummary:
    """Summaries of the changes whose ``release`` is ``cycle``; weekly counts use every row of
    ``frame`` inside the cycle's bounds (:func:`~sim.calibrate.data.cycle_bounds`)."""
    start, end = cycle_bounds(frame, cycle, known)
    rows = frame[frame["release"] == cycle]
    return CycleSummary(
        cycle=cycle, start=start, end=end, phases=phase_quantiles(rows, area_col), size=size_summary(rows, area_col),
        mix=mix_summary(rows, area_col), weekly=weekly_summary(frame, start, end, area_col),
    )


def cycles_overview(frame: pd.DataFrame,
                    known: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]] = NOVA_CYCLES) -> pd.DataFrame:
    """One row per release label in merge order: bounds, changes, time-to-merge quantiles (days)
    and weekly merges (mean, dispersion)."""
    labels = frame.loc[frame["release"] != "", ["release", "merged_at"]].groupby("release")["merged_at"].min()
    if labels.empty:
        raise DataError("no row has a release label (extract with a [cycles] table to label them)")
    rows = {}
    for cycle in labels.sort_values().index:
        start, end = cycle_bounds(frame, cycle, known)
        ttm = frame.loc[frame["release"] == cycle, "time_to_merge_days"]
        merges = weekly_counts(frame["merged_at"], start, end)
        rows[cycle] = {"start": start.strftime("%Y-%m-%d"), "end": end.strftime("%Y-%m-%d"), "n": len(ttm),
                       **{f"time_to_merge_p{round(q * 100)}": float(np.quantile(ttm, q)) for q in QUANTILES},
                       "merges_per_week": merges.mean(), "merges_dispersion": _dispersion(merges)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("release")

"""What a release cycle's history says directly: the observable inputs and the calibration targets.

Observable inputs (no simulation needed), per model area: the arrival rate (changes authored in
the cycle, whenever they merged, per day), the kind mix, the size distribution (lognormal on
changed lines), the share touching the virt driver interface and the share of driver changes that
touch only their driver; and the weekly profiles of arrivals over the cycle (all kinds but
blueprints, and blueprints); the core review activity per week, read off the merge series; the
working week (the cycle's first weekday, and the weekend's pace read off the uploads' weekdays).
Targets: per model area and for all areas, the median, p75 and p90 of time to merge, revision
phase and final phase of the changes *merged* in the cycle, and per kind of change the quantiles
of time to merge, each with the bootstrap standard deviation of log(1 + value) and its bootstrap
90 % interval; the weekly merge series.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.calibrate import DataError
from sim.calibrate.data import NOVA_CYCLES, ChangeTable, cycle_bounds, model_areas
from sim.calibrate.summaries import (
    PHASES,
    QUANTILES,
    resampled_quantiles,
    weekend_upload_share,
    weekly_counts,
)
from sim.runs.metrics import (
    ALL,
    DRIVERS,
    KIND_AREAS,
    KIND_PREFIX,
    NON_DRIVERS,
    kind_area,
    quantile_metric,
)
from sim.scenario import KINDS

DAY = pd.Timedelta(days=1)
ACTIVITY_SMOOTHING_WEEKS = 3
# Target phase name (summaries.PHASES) -> simulated phase (sim.runs.metrics.PHASES).
PHASE_METRIC = {"time_to_merge": "time_to_merge", "revision": "revision_phase", "final": "final_phase"}


def metric_name(phase: str, q: float) -> str:
    """Simulation metric of a target, e.g. ('revision', 0.75) -> 'revision_phase_p75_days'."""
    return quantile_metric(PHASE_METRIC[phase], q)


@dataclass(frozen=True)
class CycleData:
    """The rows of one cycle, with model areas: ``authored`` in the cycle, ``merged`` in it."""

    cycle: str
    start: pd.Timestamp
    end: pd.Timestamp
    authored: pd.DataFrame
    merged: pd.DataFrame
    areas: tuple[str, ...]  # model areas, in mapping order
    drivers: tuple[str, ...]  # model areas that are virt drivers
    mapping: Mapping[str, Sequence[str]] = field(default_factory=dict)  # model area -> data areas

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    @property
    def weeks(self) -> int:
        return max(1, round(self.days / 7.0))


def cycle_data(
    table: ChangeTable,
    cycle: str,
    mapping: Mapping[str, Sequence[str]],
    drivers: Sequence[str],
    known: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]] = NOVA_CYCLES,
) -> CycleData:
    """Select ``cycle``'s rows and label them with model areas (``mapping``: model -> data areas)."""
    frame = table.frame
    start, end = cycle_bounds(frame, cycle, known)
    default = next((a for a, sources in mapping.items() if "other" in sources), list(mapping)[-1])
    frame = frame.assign(model_area=model_areas(frame["area"], mapping, default).to_numpy())
    authored = frame[(frame["authored_at"] > start) & (frame["authored_at"] <= end)]
    merged = frame[(frame["merged_at"] > start) & (frame["merged_at"] <= end)]
    if merged.empty:
        raise DataError(f"{table.source}: no changes merged in cycle {cycle!r}")
    return CycleData(cycle, start, end, authored, merged, tuple(mapping), tuple(d for d in mapping if d in drivers),
                     mapping)


def observables(cd: CycleData) -> dict[str, object]:
    """Scenario tables measured from the data: ``run.cycle_weeks``, ``arrivals`` profiles, per-area inputs."""
    authored = cd.authored
    breakage = split_costs(cd).breakage_shares
    areas: dict[str, dict[str, object]] = {}
    for area in cd.areas:
        rows = authored[authored["model_area"] == area]
        n = len(rows)
        if n == 0:
            raise DataError(f"cycle {cd.cycle}: no change authored in model area {area!r}")
        lines = rows["size_lines"].to_numpy(dtype=float)
        logs = np.log(np.maximum(lines, 1.0))
        kinds = rows["kind"].value_counts(normalize=True)
        mix = {k: round(float(kinds.get(k, 0.0)), 4) for k in KINDS}
        mix["other"] = round(1.0 - mix["bug"] - mix["blueprint"], 4)
        areas[area] = {
            "rate_per_day": round(n / cd.days, 4),
            "kind_mix": mix,
            "size_log_mean": round(float(logs.mean()), 3),
            "size_log_sd": round(float(logs.std(ddof=1)) if n > 1 else 0.0, 3),
            "interface_share": round(float(rows["touches_virt_api"].mean()), 4),
            "driver_only_share": round(float(rows["driver_only"].mean()), 4) if area in cd.drivers else 1.0,
            "breakage_share": breakage.get(area, 0.0),
        }
    blueprint = authored["kind"] == "blueprint"
    return {
        "run": {"cycle_weeks": cd.weeks},
        "cycle": {"start_weekday": int(cd.start.day_of_week), "weekend_activity": weekend_activity(cd)},
        "arrivals": {
            "weekly_profile": weekly_profile(authored.loc[~blueprint, "authored_at"], cd),
            "blueprint_weekly_profile": weekly_profile(authored.loc[blueprint, "authored_at"], cd),
        },
        "areas": areas,
    }


def weekend_activity(cd: CycleData) -> float:
    """Pace of human work on a weekend day relative to a weekday, read off the cycle's uploads.

    The data hold two human actions per change with a time stamp: the first and the last upload
    (authored, committed). With a share s of them on Saturday or Sunday, a weekend day has
    (s / 2) / ((1 - s) / 5) of a weekday's activity. Reviews carry no time stamps; the model takes
    reviewers' weekends to be like authors'.
    """
    if cd.authored.empty:
        return 1.0
    share = weekend_upload_share(cd.authored)
    return round((share / 2.0) / ((1.0 - share) / 5.0), 3)


def weekly_profile(times: pd.Series, cd: CycleData) -> list[float]:
    """Events per cycle week divided by their mean (a multiplier per week; mean 1)."""
    counts = weekly_counts(times, cd.start, cd.start + pd.Timedelta(weeks=cd.weeks))
    mean = counts.mean()
    return [round(float(c / mean), 3) for c in counts] if mean > 0 else [1.0] * cd.weeks


def merged_subset(cd: CycleData, subset: str) -> pd.DataFrame:
    """The cycle's merged changes in ``subset``: ``all``, a model area, ``group:drivers``,
    ``group:non-drivers`` or ``kind:KIND`` (the ``area`` labels of :mod:`sim.runs.metrics`)."""
    merged = cd.merged
    if subset == ALL:
        return merged
    if subset in KIND_AREAS:
        return merged[merged["kind"] == subset.removeprefix(KIND_PREFIX)]
    if subset in (DRIVERS, NON_DRIVERS):
        return merged[merged["model_area"].isin(cd.drivers) == (subset == DRIVERS)]
    if subset not in cd.areas:
        raise DataError(f"subset {subset!r}: not all, a model area ({', '.join(cd.areas)}), {DRIVERS}, "
                        f"{NON_DRIVERS} or one of {', '.join(KIND_AREAS)}")
    return merged[merged["model_area"] == subset]


def targets(cd: CycleData, min_changes: int = 1, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Observed quantiles per area (and ``all``) and phase, with their bootstrap noise.

    Columns: area, phase, q, metric, n, observed, low, high (bootstrap 90 % interval), log_sd
    (bootstrap sd of log(1 + quantile)); areas with fewer than ``min_changes`` merged changes are left out.
    Each kind of change (bug, blueprint, other) adds its time-to-merge quantiles as area ``kind:<kind>``.
    """
    groups = [(a, merged_subset(cd, a)) for a in (*cd.areas, ALL, *(kind_area(k) for k in KINDS))]
    rows = []
    for area, sub in groups:
        if len(sub) < min_changes:
            continue
        phases = {"time_to_merge": PHASES["time_to_merge"]} if area in KIND_AREAS else PHASES
        for phase, column in phases.items():
            x = sub[column].to_numpy(dtype=float)
            boot = resampled_quantiles(x, QUANTILES, n_boot, seed)
            low, high = np.quantile(boot, [0.05, 0.95], axis=0)
            log_sd = np.log1p(boot).std(axis=0, ddof=1)
            for i, q in enumerate(QUANTILES):
                rows.append((area, phase, q, metric_name(phase, q), len(x), float(np.quantile(x, q)),
                             float(low[i]), float(high[i]), float(log_sd[i])))
    return pd.DataFrame(rows, columns=["area", "phase", "q", "metric", "n", "observed", "low", "high", "log_sd"])


def split_halves(cd: CycleData, seed: int = 0) -> tuple[CycleData, CycleData]:
    """The cycle's merged changes split into two halves at random (fixed ``seed``), stratified by
    model area: each area's changes are shuffled and cut in the middle (the cross-validation of
    the shrinkage strength fits on one half and scores on the other)."""
    rng = np.random.default_rng(seed)
    first: list[int] = []
    for _, sub in cd.merged.groupby("model_area", sort=True):
        order = rng.permutation(len(sub))
        first += list(sub.index[order[: len(sub) // 2]])
    in_first = cd.merged.index.isin(first)
    return (dataclasses.replace(cd, merged=cd.merged[in_first]),
            dataclasses.replace(cd, merged=cd.merged[~in_first]))


def weekly_merges(cd: CycleData) -> np.ndarray:
    """Changes merged per cycle week (all areas)."""
    return weekly_counts(cd.merged["merged_at"], cd.start, cd.start + pd.Timedelta(weeks=cd.weeks))


def activity_profile(cd: CycleData, smoothing_weeks: int = ACTIVITY_SMOOTHING_WEEKS) -> list[float]:
    """Core review activity per cycle week (mean 1), read off the merges per week.

    Near saturation a review queue merges as fast as its reviewers review, so the weekly merge
    series (centred moving average over ``smoothing_weeks``, against its week-to-week noise) /
    its mean is taken as the cycle's activity profile: the lull after a release and around the
    design summit, the push before feature freeze. The weekly merge series is therefore not an
    independent check of a cycle it was read from.
    """
    merges = pd.Series(weekly_merges(cd), dtype=float)
    smooth = merges.rolling(smoothing_weeks, center=True, min_periods=1).mean().to_numpy()
    if smooth.min() <= 0:
        raise DataError(f"cycle {cd.cycle}: a week without merges leaves review activity undefined")
    return [round(float(v), 3) for v in smooth / smooth.mean()]



@dataclass(frozen=True)
class SplitCosts:
    """What a split would have cost in a cycle, read off changes that crossed the driver boundary.

    ``breakage_shares``: per driver model area, the share of non-driver changes not touching the
    virt interface that also edited the driver (in one repository the author fixed the driver in
    the same change; out of tree, the driver breaks and needs a fix change).
    ``cross_repo_areas``: the model areas of nova code that driver changes also edited (counts),
    each of which would have become a nova change the driver change depends on.
    """

    breakage_shares: dict[str, float]
    cross_repo_areas: dict[str, int]


def split_costs(cd: CycleData) -> SplitCosts:
    """Breakage shares and cross-repository areas of ``cd``'s authored changes."""
    authored, mapping = cd.authored, cd.mapping
    touched = authored["areas"].str.split(";")
    nova = ~authored["model_area"].isin(cd.drivers) & (authored["touches_virt_api"] == 0)
    breakage = {}
    for driver in cd.drivers:
        sources = set(mapping[driver])
        edits = touched[nova].map(lambda areas, s=sources: not s.isdisjoint(areas))
        breakage[driver] = round(float(edits.mean()), 4) if len(edits) else 0.0
    driver_data_areas = {a for d in cd.drivers for a in mapping[d]}
    lookup = {a: model for model, sources in mapping.items() for a in sources}
    default = next((a for a, sources in mapping.items() if "other" in sources), list(mapping)[-1])
    crossing = authored["model_area"].isin(cd.drivers) & ~authored["driver_only"]
    counts: dict[str, int] = {}
    for areas in touched[crossing]:
        for model in {lookup.get(a, default) for a in areas if a not in driver_data_areas}:
            counts[model] = counts.get(model, 0) + 1
    return SplitCosts(breakage, dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))))

"""What a baseline checks by default, and the settings a re-recording (``--update``) uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim import paths
from sim.baseline.store import BASELINE_DIR, try_load_baseline
from sim.runs import metrics

SCENARIO_NAMES: tuple[str, ...] = paths.POLICY_SCENARIOS
DEFAULT_SCENARIOS: tuple[Path, ...] = tuple(paths.SCENARIOS / f"{name}.toml" for name in SCENARIO_NAMES)
# 5 scenarios x 120 replications: about 240 CPU-seconds, so about 2 minutes on two free cores
# (4 minutes measured on two cores shared with another two-process job).
DEFAULT_REPLICATIONS = 120
DEFAULT_WORKERS = 2
DEFAULT_FWER = 0.01  # family-wise error rate of the check (sim.baseline.check)
CONFIDENCE = 0.95  # of the stored intervals (sim.runs.stats.mean_ci)
CHECKED_METRICS: tuple[str, ...] = (
    "time_to_merge_median_days",
    "time_to_merge_p90_days",
    "time_to_first_review_median_days",
    "merged_per_week",
    "abandoned_fraction",
    "core_utilization",
    "gate_resets_per_week",
    "held_days_mean",
    "interface_usable_median_days",
)
CHECKED_AREAS: tuple[str, ...] = (metrics.ALL, metrics.DRIVERS, metrics.NON_DRIVERS)


def check_settings(metric_names: Sequence[str], fwer: float) -> None:
    """Refuse (:class:`ValueError`) unknown metric names and a family-wise error rate outside (0, 1)."""
    unknown = [m for m in metric_names if m not in metrics.METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {list(metrics.METRICS)}")
    check_fwer(fwer)


def check_fwer(fwer: float) -> None:
    """Refuse (:class:`ValueError`) a family-wise error rate outside (0, 1)."""
    if not 0 < fwer < 1:
        raise ValueError(f"family-wise error rate must be in (0, 1), got {fwer}")


@dataclass
class UpdateSettings:
    """What ``--update`` will record: the given settings, else the recorded ones, else the defaults."""

    scenario_files: list[Path]
    overrides: list[str]
    replications: int
    seed: int | None  # None: the first scenario's run.seed
    metric_names: list[str]
    areas: list[str]
    fwer: float


def update_settings(
    directory: str | Path = BASELINE_DIR,
    scenario_files: Sequence[str | Path] | None = None,
    overrides: Sequence[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
) -> UpdateSettings:
    """Settings of a re-recording: each one given, else recorded in ``directory``, else the default.

    Defaults (no readable baseline): the five policy scenarios, :data:`DEFAULT_REPLICATIONS`, the
    first scenario's seed, :data:`CHECKED_METRICS`, :data:`CHECKED_AREAS`, :data:`DEFAULT_FWER`.
    """
    previous = try_load_baseline(directory)
    if scenario_files is None:
        scenario_files = [e.path for e in previous.scenarios] if previous else list(DEFAULT_SCENARIOS)
    if overrides is None:
        overrides = previous.overrides if previous else []
    if replications is None:
        replications = previous.replications if previous else DEFAULT_REPLICATIONS
    if seed is None and previous is not None:
        seed = previous.seed
    return UpdateSettings(
        [Path(f) for f in scenario_files], list(overrides), replications, seed,
        previous.metrics if previous else list(CHECKED_METRICS),
        previous.areas if previous else list(CHECKED_AREAS),
        previous.fwer if previous else DEFAULT_FWER,
    )

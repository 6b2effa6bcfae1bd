"""Running a baseline's scenarios through the one runner (:func:`sim.runs.runner.run_tasks`):
record a baseline, re-record it (``--update``), or re-run it and check (:mod:`sim.baseline.check`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pandas as pd

from sim.baseline.causes import diagnose
from sim.baseline.check import CheckResult, compare_summaries
from sim.baseline.inputs import model_source_hashes
from sim.baseline.manifest import scenario_entry
from sim.baseline.settings import (
    CHECKED_AREAS,
    CHECKED_METRICS,
    CONFIDENCE,
    DEFAULT_FWER,
    DEFAULT_REPLICATIONS,
    DEFAULT_SCENARIOS,
    check_fwer,
    check_settings,
    update_settings,
)
from sim.baseline.store import (
    BASELINE_DIR,
    Baseline,
    baseline_directory,
    load_baseline,
    write_baseline,
)
from sim.outputs.report import package_versions
from sim.runs.compare import check_distinct_names
from sim.runs.online import summarize_study
from sim.runs.runner import TaskCache
from sim.scenario import Scenario, load_scenario

Progress = Callable[[int], Any]  # called with 1 after each replication (e.g. tqdm's update)


def run_summary(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Progress | None = None,
    areas: Iterable[str] | None = None,
    cache: TaskCache | None = None,
) -> pd.DataFrame:
    """Summary rows of ``scenarios`` run as one comparison (common random numbers under ``seed``).

    The same numbers as ``sim.runs.compare.compare(scenarios, replications, seed).summary``,
    keeping only each replication's metrics (:func:`sim.runs.metrics.replication_metrics`, not its
    changes), all scenarios through one pool, aggregated online (:func:`sim.runs.online.summarize_study`). ``areas`` restricts the rows to those areas.
    ``cache`` reads back replications already run and stores the others.
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1, got {replications}")
    check_distinct_names(scenarios)
    summary = summarize_study(scenarios, replications, seed, workers=workers, executor=executor,
                              progress=progress, cache=cache)
    if areas is not None:
        summary = summary[summary["area"].isin(list(areas))].reset_index(drop=True)
    return summary


def build_baseline(
    scenario_files: Sequence[str | Path] = DEFAULT_SCENARIOS,
    *,
    overrides: Sequence[str] = (),
    replications: int = DEFAULT_REPLICATIONS,
    seed: int | None = None,
    metric_names: Sequence[str] = CHECKED_METRICS,
    areas: Sequence[str] = CHECKED_AREAS,
    fwer: float = DEFAULT_FWER,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Progress | None = None,
    cache: TaskCache | None = None,
) -> Baseline:
    """Run ``scenario_files`` (with ``overrides``) as one comparison and return the baseline.

    ``seed`` defaults to the first scenario's ``run.seed``. Nothing is written: see
    :func:`sim.baseline.store.write_baseline` (or :func:`update_baseline` for both).
    """
    if not scenario_files:
        raise ValueError("a baseline needs at least one scenario file")
    check_settings(metric_names, fwer)
    scenarios = [load_scenario(f, overrides) for f in scenario_files]
    root = scenarios[0].run.seed if seed is None else seed
    start = time.perf_counter()
    summary = run_summary(scenarios, replications, root, workers=workers, executor=executor,
                          progress=progress, areas=areas, cache=cache)
    return Baseline(
        seed=root, replications=replications, overrides=list(overrides),
        scenarios=[scenario_entry(f, sc) for f, sc in zip(scenario_files, scenarios, strict=True)],
        metrics=list(metric_names), areas=list(areas), confidence=CONFIDENCE, family_wise_error_rate=fwer,
        versions=package_versions(), model_sources=model_source_hashes(), summary=summary,
        seconds=time.perf_counter() - start,
    )


def update_baseline(
    directory: str | Path = BASELINE_DIR,
    scenario_files: Sequence[str | Path] | None = None,
    *,
    overrides: Sequence[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Progress | None = None,
    force: bool = False,
    cache: TaskCache | None = None,
) -> Baseline:
    """Re-record the baseline in ``directory`` (atomically) and return it.

    Settings not given are those recorded in the existing baseline, or the defaults when there
    is none (see :func:`sim.baseline.settings.update_settings`). ``directory`` is checked before
    anything runs: it must be new, empty or a previous baseline (``force`` writes into another
    directory, keeping its files).
    """
    target = baseline_directory(directory, force)
    target.check()
    s = update_settings(directory, scenario_files, overrides, replications, seed)
    baseline = build_baseline(
        s.scenario_files, overrides=s.overrides, replications=s.replications, seed=s.seed,
        metric_names=s.metric_names, areas=s.areas, fwer=s.fwer,
        workers=workers, executor=executor, progress=progress, cache=cache,
    )
    write_baseline(baseline, target)
    return baseline


def check_baseline(
    baseline: Baseline | str | Path = BASELINE_DIR,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Progress | None = None,
    fwer: float | None = None,
    cache: TaskCache | None = None,
) -> CheckResult:
    """Re-run the recorded scenarios (recorded seed, replications, overrides) and compare
    (:func:`sim.baseline.check.compare_summaries`).

    Scenario files are read now; a changed input is a warning or note naming the file once, and
    the likely cause of each failing scenario (:func:`sim.baseline.causes.diagnose`). ``fwer``
    overrides the recorded family-wise error rate.
    """
    if not isinstance(baseline, Baseline):
        baseline = load_baseline(baseline)
    alpha = baseline.fwer if fwer is None else fwer
    check_fwer(alpha)
    scenarios = baseline.load_scenarios()
    diagnosis = diagnose(baseline, scenarios)
    # Compare under the recorded names (a renamed scenario is a changed scenario: warned above).
    renamed = [sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"name": e.name})})
               if sc.scenario.name != e.name else sc for e, sc in zip(baseline.scenarios, scenarios, strict=True)]
    start = time.perf_counter()
    new = run_summary(renamed, baseline.replications, baseline.seed, workers=workers, executor=executor,
                      progress=progress, areas=baseline.areas, cache=cache)
    seconds = time.perf_counter() - start
    table = compare_summaries(baseline.summary, new, baseline.metrics, baseline.areas, alpha, baseline.confidence)
    causes = {e.name: diagnosis.cause(e.name) for e in baseline.scenarios}
    return CheckResult(baseline, table, alpha, diagnosis.warnings, [*version_notes(baseline), *diagnosis.notes],
                       seconds, causes)


def version_notes(baseline: Baseline) -> list[str]:
    """One line per package whose version differs from the recorded one."""
    now = package_versions()
    return [f"recorded with {name} {old}, running {now.get(name)}" for name, old in baseline.versions.items()
            if now.get(name, old) != old]

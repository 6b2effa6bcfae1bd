"""Writing results: ``summary.csv``, ``changes.parquet`` (or ``changes.csv.gz``), ``run.json``, and the console table.

Output directories are written through :mod:`sim.safe_output`: checked before the simulation
starts, written into a temporary sibling that becomes the result only when everything is written
(a failed run leaves no partial output), and never replacing a directory that holds files the
program did not write.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim.runs.records_io import PARQUET, ChangesWriter
from sim.runs.compare import Comparison
from sim.runs.runner import RunResult
from sim.safe_output import ResultDirectory
from sim.scenario.staffing import staffing_report

RUN_MARKER = "run.json"  # marks a directory as a result of `sim run` or `sim compare`

HEADLINE = (
    ("time_to_merge_median_days", "median time to merge (d)"),
    ("time_to_merge_p90_days", "p90 time to merge (d)"),
    ("time_to_first_review_median_days", "median wait for 1st review (d)"),
    ("merged_per_week", "merged per week"),
    ("abandoned_fraction", "abandoned fraction"),
    ("core_utilization", "core utilisation"),
    ("gate_resets_per_week", "gate resets per week"),
    ("sim_events", "engine events per replication"),
)


def result_directory(out: Path | ResultDirectory, force: bool = False) -> ResultDirectory:
    """``out`` as the result directory of a run or comparison (marker ``run.json``).

    Call ``.check()`` on it before simulating, so a bad ``--out`` fails at once.
    """
    return out if isinstance(out, ResultDirectory) else ResultDirectory(Path(out), RUN_MARKER, force)


def package_versions() -> dict[str, str]:
    names = ("driversplit", "simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "matplotlib")
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_manifest(result: RunResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "scenario": result.scenario.to_toml_dict(),
        "staffing": staffing_report(result.scenario),
        "seed": result.seed,
        "replications": result.replications,
        "versions": package_versions(),
        **(extra or {}),
    }


def write_run(result: RunResult, out: Path | ResultDirectory, records: str = PARQUET) -> None:
    """Write one run's outputs into ``out`` (replacing a previous result there, nothing else); the
    change records as ``records`` (:data:`sim.runs.records_io.RECORD_FORMATS`)."""
    with run_output(out, records) as (tmp, changes):
        changes.write(result.changes)
        write_run_files(result, tmp)


@contextmanager
def run_output(out: Path | ResultDirectory, records: str = PARQUET) -> Iterator[tuple[Path, ChangesWriter]]:
    """A run's output written while it runs: the temporary directory and the change-record writer.

    The change rows stream into the writer replication by replication (memory flat in the number
    of replications); end with :func:`write_run_files`. Everything becomes the result in ``out``
    only when the block succeeds: an interrupted run leaves nothing there.
    """
    with result_directory(out).commit() as tmp, ChangesWriter(tmp, records) as changes:
        yield tmp, changes


def write_run_files(result: RunResult, tmp: Path) -> None:
    """``summary.csv`` and ``run.json`` of ``result`` into ``tmp`` (see :func:`run_output`)."""
    result.summary.to_csv(tmp / "summary.csv", index=False)
    (tmp / "run.json").write_text(json.dumps(run_manifest(result), indent=2) + "\n")


COMPARISON_HEADLINE: tuple[tuple[str, str, str], ...] = (  # (metric, area, label)
    ("time_to_merge_median_days", "all", "median time to merge (d)"),
    ("time_to_merge_median_days", "group:drivers", "… driver changes (d)"),
    ("time_to_merge_median_days", "group:non-drivers", "… non-driver changes (d)"),
    ("time_to_merge_p90_days", "all", "p90 time to merge (d)"),
    ("merged_per_week", "all", "merged per week"),
    ("abandoned_fraction", "all", "abandoned share"),
    ("review_capacity_per_day", "all", "review capacity (reviews/day)"),
    ("core_utilization", "all", "nova core utilisation"),
    ("reviews_per_core_per_week", "all", "reviews per nova core per week"),
    ("held_days_mean", "all", "days held by the policy"),
    ("gate_false_rejections_per_merged", "all", "false gate rejections per merge"),
)


def headline_frame(comparison: Comparison, rows: Sequence[tuple[str, str, str]] = COMPARISON_HEADLINE) -> pd.DataFrame:
    """Headline metrics of a comparison, one row per (label, scenario): mean, CI and paired difference."""
    table = comparison.comparison
    frames = []
    for metric, area, label in rows:
        hit = table[(table["metric"] == metric) & (table["area"] == area)]
        frames.append(hit.assign(label=label))
    columns = ["label", "scenario", "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def write_comparison(comparison: Comparison, out: Path | ResultDirectory,
                     extra: Callable[[Path], None] | None = None) -> None:
    """Write ``comparison.csv``, ``summary.csv`` and ``run.json`` into ``out`` (replacing a previous
    result there, nothing else).

    ``extra(tmp)`` may add files (figures) inside the same atomic write.
    """
    with result_directory(out).commit() as tmp:
        comparison.comparison.to_csv(tmp / "comparison.csv", index=False)
        comparison.summary.to_csv(tmp / "summary.csv", index=False)
        manifest = {
            "seed": comparison.seed,
            "replications": comparison.replications,
            "reference": comparison.names[0],
            "scenarios": {run.scenario.scenario.name: run.scenario.to_toml_dict() for run in comparison.runs},
            "staffing": {run.scenario.scenario.name: staffing_report(run.scenario) for run in comparison.runs},
            "versions": package_versions(),
        }
        (tmp / "run.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if extra is not None:
            extra(tmp)


def comparison_headline(comparison: Comparison, area: str = "all") -> str:
    """Text table: headline metrics per scenario, with the paired difference from the reference."""
    table = comparison.comparison
    lines = []
    for metric, label in HEADLINE[:-1]:
        rows = table[(table["area"] == area) & (table["metric"] == metric)]
        if rows.empty:
            continue
        lines.append(label)
        for _, r in rows.iterrows():
            diff = "" if r["scenario"] == r["reference"] else (
                f"  diff {r['diff']:+.3g} [{r['diff_ci_low']:+.3g}, {r['diff_ci_high']:+.3g}]"
            )
            lines.append(f"  {r['scenario']:<22} {r['mean']:>9.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]{diff}")
    return "\n".join(lines)


def headline_table(summary: pd.DataFrame) -> str:
    """Compact text table of the headline metrics for area ``all``."""
    rows = []
    for metric, label in HEADLINE:
        hit = summary[(summary["area"] == "all") & (summary["metric"] == metric)]
        if hit.empty:
            continue
        r = hit.iloc[0]
        rows.append((label, f"{r['mean']:.3g}", f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}]"))
    width = max(len(r[0]) for r in rows)
    lines = [f"{'metric':<{width}}  {'mean':>9}  95% CI"]
    lines += [f"{label:<{width}}  {mean:>9}  {ci}" for label, mean, ci in rows]
    return "\n".join(lines)

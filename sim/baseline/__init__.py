"""Regression check for CI: re-run the recorded policy comparison and flag metrics that moved.

``data/baseline/`` holds the committed results of the five policy scenarios run as one comparison
with common random numbers; ``python -m sim check-baseline`` re-runs them and fails when a checked
metric moved beyond noise (the test: :mod:`sim.baseline.check`).

- :mod:`~sim.baseline.manifest`: ``baseline.json`` (pydantic), scenario entries and their hashes;
- :mod:`~sim.baseline.store`: the :class:`Baseline` record, its directory read and written, its README;
- :mod:`~sim.baseline.settings`: the defaults, and the settings a re-recording uses;
- :mod:`~sim.baseline.check`: the test (Welch, Bonferroni) and the :class:`CheckResult`;
- :mod:`~sim.baseline.text`: check rows as a text table;
- :mod:`~sim.baseline.run`: recording and re-checking through :func:`sim.runs.runner.run_tasks`.
"""

from sim.baseline.check import CHECK_COLUMNS, FAILING, PASSING, CheckResult, compare_summaries
from sim.baseline.manifest import (
    FORMAT,
    UPDATE_COMMAND,
    BaselineError,
    Manifest,
    ScenarioEntry,
    record_path,
    resolve_path,
    scenario_hash,
)
from sim.baseline.run import build_baseline, check_baseline, run_summary, update_baseline
from sim.baseline.settings import (
    CHECKED_AREAS,
    CHECKED_METRICS,
    CONFIDENCE,
    DEFAULT_FWER,
    DEFAULT_REPLICATIONS,
    DEFAULT_SCENARIOS,
    DEFAULT_WORKERS,
    SCENARIO_NAMES,
    UpdateSettings,
    update_settings,
)
from sim.baseline.store import (
    BASELINE_DIR,
    MANIFEST_FILE,
    README_FILE,
    SUMMARY_COLUMNS,
    SUMMARY_FILE,
    Baseline,
    baseline_directory,
    load_baseline,
    write_baseline,
)
from sim.baseline.text import format_table

__all__ = [
    "BASELINE_DIR",
    "CHECKED_AREAS",
    "CHECKED_METRICS",
    "CHECK_COLUMNS",
    "CONFIDENCE",
    "DEFAULT_FWER",
    "DEFAULT_REPLICATIONS",
    "DEFAULT_SCENARIOS",
    "DEFAULT_WORKERS",
    "FAILING",
    "FORMAT",
    "MANIFEST_FILE",
    "PASSING",
    "README_FILE",
    "SCENARIO_NAMES",
    "SUMMARY_COLUMNS",
    "SUMMARY_FILE",
    "UPDATE_COMMAND",
    "Baseline",
    "BaselineError",
    "CheckResult",
    "Manifest",
    "ScenarioEntry",
    "UpdateSettings",
    "baseline_directory",
    "build_baseline",
    "check_baseline",
    "compare_summaries",
    "format_table",
    "load_baseline",
    "record_path",
    "resolve_path",
    "run_summary",
    "scenario_hash",
    "update_baseline",
    "update_settings",
    "write_baseline",
]

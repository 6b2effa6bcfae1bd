"""Regression check for CI: re-run the recorded policy comparison and flag metrics that moved or went missing.

``data/baseline/`` holds the committed results of the five policy scenarios run as one comparison
with common random numbers; ``python -m sim check-baseline`` re-runs them and fails when a checked
metric moved beyond noise or went missing (the test: :mod:`sim.baseline.check`), naming each
metric's minimum detectable change and the input that changed.

- :mod:`~sim.baseline.manifest`: ``baseline.json`` (pydantic), scenario entries and their hashes;
- :mod:`~sim.baseline.store`: the :class:`Baseline` record, its directory read and written, its README;
- :mod:`~sim.baseline.settings`: the defaults, and the settings a re-recording uses;
- :mod:`~sim.baseline.inputs`: content hashes of the scenario files, the files they extend and the model source;
- :mod:`~sim.baseline.check`: the test (Welch, Bonferroni) and the :class:`CheckResult`;
- :mod:`~sim.baseline.power`: each metric's minimum detectable change under that test;
- :mod:`~sim.baseline.causes`: which recorded input changed (the root cause a failing check names);
- :mod:`~sim.baseline.text`: check rows as text tables;
- :mod:`~sim.baseline.reports`: the ``--json`` and ``--junit`` reports;
- :mod:`~sim.baseline.run`: recording and re-checking through :func:`sim.runs.runner.run_tasks`.
"""

from sim.baseline.causes import Diagnosis, InputChange, diagnose
from sim.baseline.check import (
    CHECK_COLUMNS,
    FAILING,
    MISSING,
    MOVED,
    PASSING,
    CheckResult,
    compare_summaries,
)
from sim.baseline.inputs import MODEL_SOURCES, extends_chain, model_source_hashes
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
from sim.baseline.power import POWER, minimum_detectable_change
from sim.baseline.reports import json_target, junit_target, report_dict, write_json, write_junit
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
    "MISSING",
    "MODEL_SOURCES",
    "MOVED",
    "PASSING",
    "POWER",
    "README_FILE",
    "SCENARIO_NAMES",
    "SUMMARY_COLUMNS",
    "SUMMARY_FILE",
    "UPDATE_COMMAND",
    "Baseline",
    "BaselineError",
    "CheckResult",
    "Diagnosis",
    "InputChange",
    "Manifest",
    "ScenarioEntry",
    "UpdateSettings",
    "baseline_directory",
    "build_baseline",
    "check_baseline",
    "compare_summaries",
    "diagnose",
    "extends_chain",
    "format_table",
    "json_target",
    "junit_target",
    "load_baseline",
    "minimum_detectable_change",
    "model_source_hashes",
    "record_path",
    "report_dict",
    "resolve_path",
    "run_summary",
    "scenario_hash",
    "update_baseline",
    "update_settings",
    "write_baseline",
    "write_json",
    "write_junit",
]

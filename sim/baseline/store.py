"""A baseline directory (``data/baseline/``): the :class:`Baseline` record read and written.

The directory holds ``summary.csv`` (the usual summary rows, scenario, policy, area, metric,
mean, ci_low, ci_high, n, for the checked areas), ``baseline.json`` (:mod:`sim.baseline.manifest`)
and a generated ``README.md`` for people who find the directory. It is written atomically
(:mod:`sim.safe_output`): a failed write leaves the previous baseline untouched.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import ConfigDict, Field

from sim import paths
from sim.baseline.manifest import UPDATE_COMMAND, BaselineError, Manifest, read_manifest
from sim.safe_output import ResultDirectory
from sim.scenario import Scenario, load_scenario

BASELINE_DIR = paths.DATA / "baseline"
SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "baseline.json"
README_FILE = "README.md"
SUMMARY_COLUMNS = ["scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n"]


class Baseline(Manifest):
    """A recorded baseline: its manifest (what was run) and its summary rows."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    summary: pd.DataFrame = Field(exclude=True)  # SUMMARY_COLUMNS
    seconds: float | None = Field(default=None, exclude=True)  # wall time of the run that made it, s (not stored)
    directory: Path | None = Field(default=None, exclude=True)  # where it was read from (not stored)

    def load_scenarios(self) -> list[Scenario]:
        """The recorded scenario files as they are now, with the recorded overrides."""
        return [load_scenario(e.path, self.overrides) for e in self.scenarios]


def baseline_directory(directory: str | Path = BASELINE_DIR, force: bool = False) -> ResultDirectory:
    """The baseline's directory as an output (``check()`` it before running; marker ``baseline.json``)."""
    return ResultDirectory(Path(directory), MANIFEST_FILE, force, option="--baseline")


def write_baseline(baseline: Baseline, directory: str | Path | ResultDirectory = BASELINE_DIR) -> Path:
    """Write ``summary.csv``, ``baseline.json`` and ``README.md`` into ``directory``, atomically.

    Everything is written into a temporary sibling that replaces ``directory`` only when
    complete: a failure leaves the previous baseline untouched and no partial directory.
    """
    target = directory if isinstance(directory, ResultDirectory) else baseline_directory(directory)
    with target.commit() as tmp:
        baseline.summary[SUMMARY_COLUMNS].to_csv(tmp / SUMMARY_FILE, index=False)
        (tmp / MANIFEST_FILE).write_text(baseline.to_json(), encoding="utf-8")
        (tmp / README_FILE).write_text(readme(baseline), encoding="utf-8")
    return target.path


def load_baseline(directory: str | Path = BASELINE_DIR) -> Baseline:
    """Read a baseline directory; :class:`BaselineError` (one line) when missing or malformed."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BaselineError(f"{directory}: baseline directory not found (create it with `{UPDATE_COMMAND}`)")
    manifest_path, summary_path = directory / MANIFEST_FILE, directory / SUMMARY_FILE
    for p in (manifest_path, summary_path):
        if not p.is_file():
            raise BaselineError(f"{p}: file not found (recreate the baseline with `{UPDATE_COMMAND}`)")
    manifest = read_manifest(manifest_path)
    summary = read_summary(summary_path)
    unknown = sorted(set(summary["scenario"]) - {e.name for e in manifest.scenarios})
    if unknown:
        raise BaselineError(f"{summary_path}: scenarios {unknown} are not in {MANIFEST_FILE}")
    return Baseline(**dict(manifest), summary=summary, directory=directory)


def try_load_baseline(directory: str | Path) -> Baseline | None:
    """The baseline in ``directory``, or None when there is none (or it cannot be read)."""
    try:
        return load_baseline(directory)
    except BaselineError:
        return None


def read_summary(path: Path) -> pd.DataFrame:
    """``summary.csv`` with its :data:`SUMMARY_COLUMNS`; :class:`BaselineError` (one line) otherwise."""
    try:
        summary = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: malformed CSV: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise BaselineError(f"{path}: missing columns {missing}")
    return summary[SUMMARY_COLUMNS]


def readme(baseline: Baseline) -> str:
    """``README.md`` of a baseline directory: how it is checked and re-recorded (the test in words:
    :mod:`sim.baseline.check`), its settings and its scenario files."""
    files = "\n".join(f"| `{e.file}` | {e.name} | {e.policy} | `{e.sha256[:16]}` |" for e in baseline.scenarios)
    overrides = ", ".join(f"`{o}`" for o in baseline.overrides) or "none"
    return f"""# Regression baseline (generated: do not edit by hand)

Results of the policy scenarios run as one comparison with common random numbers, checked by

```sh
python -m sim check-baseline [--baseline data/baseline] [--workers 2]
```

which re-runs the scenario files below (as they are now) with the same seed, replication count and
overrides, and exits 1,
printing a table of what moved, when a checked metric's mean differs from its stored mean by more
than two independent sets of {baseline.replications} replications would show:
|new - stored| > t x sqrt(SE_stored^2 + SE_new^2), t from Student's distribution (Welch degrees of
freedom) at a two-sided level of {baseline.fwer:g} / m, Bonferroni over the m checked metrics: a change
that moves nothing fails with probability at most {baseline.fwer:g}. A scenario file whose resolved
content changed (sha256 below) is a warning. After an intended change of the model or of a scenario,
re-record and commit this directory:

```sh
{UPDATE_COMMAND}    # same scenarios, seed, replications; rewrites this directory atomically
```

- seed {baseline.seed}, {baseline.replications} replications, overrides: {overrides}
- metrics: {", ".join(f"`{m}`" for m in baseline.metrics)}
- areas: {", ".join(f"`{a}`" for a in baseline.areas)} (those a scenario has; metrics undefined in the
  baseline are not checked)
- `summary.csv`: scenario, policy, area, metric, mean, ci_low, ci_high (95 % CI), n, for every metric
  of the checked areas; `baseline.json`: the settings above, scenario hashes, package versions

| file | scenario | policy | sha256 (resolved scenario) |
|---|---|---|---|
{files}
"""

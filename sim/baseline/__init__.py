"""Regression check for CI: re-run the recorded policy comparison and flag metrics that moved.

``data/baseline/`` holds the committed results of the five policy scenarios, run as one
comparison with common random numbers (one seed, replication *r* of every scenario sees the
same draws): ``summary.csv`` (the usual summary rows, scenario, policy, area, metric, mean,
ci_low, ci_high, n, for the checked areas) and ``baseline.json`` (scenario files and the sha256
of each resolved scenario, overrides, seed, replications, package versions, the checked metrics
and areas, the confidence level and the family-wise error rate). ``check_baseline`` re-runs the
same scenarios with the same seed and replication count and compares every checked
(scenario, area, metric) with its stored value.

The test. With the same code, data and platform the rerun is bit-identical; the check is for
a *model change*. Its null hypothesis is "the change did not move this metric": the rerun is
then another set of n replications of the same distribution, at worst independent of the
stored ones (a change that alters how random numbers are consumed); common random numbers
otherwise make the two runs positively correlated, which only shrinks their difference, so the
test stays conservative. A metric has *moved* when

    |new mean - stored mean| > t * SE_diff,    SE_diff = sqrt(SE_stored^2 + SE_new^2)

(Welch's two-sample t test; with equal variances SE_diff = sqrt(2) * SE), where each SE is
the sample sd over its replications / sqrt(n) (the stored SE is read back from the stored
95 % CI: (ci_high - ci_low) / (2 t_0.975,n-1)) and t is Student's quantile for a two-sided
level alpha / m with Welch-Satterthwaite degrees of freedom: Bonferroni over the m checked
metrics, so a change that moves nothing fails the whole check with probability at most alpha
(the family-wise error rate, 1 % by default, recorded in baseline.json). Metrics undefined in
the baseline (n < 2, e.g. interface timings of a group without interface changes) are not
checked; a checked metric that becomes undefined, or disappears, fails. A metric constant
over replications (SE 0 on both sides) fails on any difference beyond rounding.

Scenario files are read at run time; a file whose resolved scenario no longer hashes to the
recorded sha256 is reported as a warning (the scenario changed: update the baseline
deliberately with ``python -m sim check-baseline --update``), not as a failure by itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim import paths
from sim.errors import InputError
from sim.runs import metrics
from sim.runs.pool import ordered_map, pool_or
from sim.runs.runner import replicate
from sim.safe_output import ResultDirectory
from sim.scenario import Scenario, ScenarioError, load_scenario

BASELINE_DIR = paths.DATA / "baseline"
SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "baseline.json"
README_FILE = "README.md"
FORMAT = 1
UPDATE_COMMAND = "python -m sim check-baseline --update"

SCENARIO_NAMES: tuple[str, ...] = ("monolith", "runways", "lieutenants", "split", "sponsorship")
DEFAULT_SCENARIOS: tuple[Path, ...] = tuple(paths.SCENARIOS / f"{name}.toml" for name in SCENARIO_NAMES)
# 5 scenarios x 120 replications: about 240 CPU-seconds, so about 2 minutes on two free cores
# (4 minutes measured on two cores shared with another two-process job).
DEFAULT_REPLICATIONS = 120
DEFAULT_WORKERS = 2
DEFAULT_FWER = 0.01
CONFIDENCE = 0.95
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
SUMMARY_COLUMNS = ["scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n"]
CHECK_COLUMNS = [
    "scenario", "area", "metric",
    "old_mean", "old_ci_low", "old_ci_high", "old_n",
    "new_mean", "new_ci_low", "new_ci_high", "new_n",
    "diff", "se_diff", "df", "t", "limit", "status",
]
# Statuses of a check row; the first three pass.
PASSING = ("identical", "ok", "skipped")
FAILING = ("moved", "undefined", "missing")

Progress = Callable[[int], Any]


class BaselineError(InputError):
    """Bad input: a missing or malformed baseline directory (one line, naming the file)."""


# ---------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class ScenarioEntry:
    """One recorded scenario: its file (as recorded), name, policy and resolved-scenario hash."""

    file: str
    name: str
    policy: str
    sha256: str

    @property
    def path(self) -> Path:
        return resolve_path(self.file)


def scenario_hash(scenario: Scenario) -> str:
    """sha256 of the resolved scenario as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(scenario.to_toml_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_path(path: str | Path) -> str:
    """How a scenario file is recorded: relative to the repository when inside it, else absolute."""
    p = Path(path).resolve()
    try:
        return p.relative_to(paths.ROOT).as_posix()
    except ValueError:
        return p.as_posix()


def resolve_path(recorded: str) -> Path:
    """A recorded scenario file as a path (relative ones are relative to the repository)."""
    p = Path(recorded)
    return p if p.is_absolute() else paths.ROOT / p


# ---------------------------------------------------------------------------- running


def _metrics_task(args: tuple[Scenario, int, int]) -> pd.DataFrame:
    scenario, replication, seed = args
    return replicate(scenario, replication, seed).metrics


def run_summary(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Progress | None = None,
    areas: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Summary rows of ``scenarios`` run as one comparison (common random numbers under ``seed``).

    The same numbers as ``sim.runs.compare.compare(scenarios, replications, seed).summary``, keeping
    only each replication's metrics (not its changes), with one pool for every scenario.
    ``areas`` restricts the rows to those areas. ``progress(1)`` after each replication.
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1, got {replications}")
    names = [sc.scenario.name for sc in scenarios]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ScenarioError(f"scenario.name: {duplicated} used by more than one scenario; names must differ")
    tasks = [(sc, r, seed) for sc in scenarios for r in range(replications)]
    with pool_or(executor, workers, len(tasks)) as shared:
        results = list(ordered_map(_metrics_task, tasks, shared, progress=progress))
    frames = []
    for i, sc in enumerate(scenarios):
        per_rep = pd.concat(results[i * replications:(i + 1) * replications], ignore_index=True)
        frames.append(metrics.summarize(per_rep, sc.scenario.name, sc.policy.name))
    summary = pd.concat(frames, ignore_index=True)
    if areas is not None:
        summary = summary[summary["area"].isin(list(areas))].reset_index(drop=True)
    return summary


# ---------------------------------------------------------------------------- the baseline


@dataclass
class Baseline:
    """A recorded baseline: what was run, and its summary rows."""

    scenarios: list[ScenarioEntry]
    overrides: list[str]
    seed: int
    replications: int
    metrics: list[str]
    areas: list[str]
    summary: pd.DataFrame
    fwer: float = DEFAULT_FWER
    confidence: float = CONFIDENCE
    versions: dict[str, str] = field(default_factory=dict)
    seconds: float | None = None  # wall time of the run that made it (not stored)

    def manifest(self) -> dict[str, Any]:
        """``baseline.json``'s content (deterministic: no timestamps, no run time)."""
        return {
            "format": FORMAT,
            "update_command": UPDATE_COMMAND,
            "seed": self.seed,
            "replications": self.replications,
            "overrides": list(self.overrides),
            "scenarios": [vars(e).copy() for e in self.scenarios],
            "metrics": list(self.metrics),
            "areas": list(self.areas),
            "confidence": self.confidence,
            "family_wise_error_rate": self.fwer,
            "test": ("a metric moved when |new mean - stored mean| > t * sqrt(SE_stored^2 + SE_new^2), "
                     "t: Student (Welch df), two-sided level family_wise_error_rate / (checked metrics) "
                     "(Bonferroni)"),
            "versions": dict(self.versions),
        }

    def load_scenarios(self) -> list[Scenario]:
        return [load_scenario(e.path, self.overrides) for e in self.scenarios]


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
) -> Baseline:
    """Run ``scenario_files`` (with ``overrides``) as one comparison and return the baseline.

    ``seed`` defaults to the first scenario's ``run.seed``. Nothing is written: see
    :func:`write_baseline` (or :func:`update_baseline` for both).
    """
    if not scenario_files:
        raise ValueError("a baseline needs at least one scenario file")
    _check_names(metric_names, fwer)
    scenarios = [load_scenario(f, overrides) for f in scenario_files]
    root = scenarios[0].run.seed if seed is None else seed
    start = time.perf_counter()
    summary = run_summary(scenarios, replications, root, workers=workers, executor=executor,
                          progress=progress, areas=areas)
    from sim.outputs.report import package_versions

    entries = [ScenarioEntry(record_path(f), sc.scenario.name, sc.policy.name, scenario_hash(sc))
               for f, sc in zip(scenario_files, scenarios, strict=True)]
    return Baseline(entries, list(overrides), root, replications, list(metric_names), list(areas), summary,
                    fwer, CONFIDENCE, package_versions(), time.perf_counter() - start)


def _check_names(metric_names: Sequence[str], fwer: float) -> None:
    unknown = [m for m in metric_names if m not in metrics.METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {list(metrics.METRICS)}")
    if not 0 < fwer < 1:
        raise ValueError(f"family-wise error rate must be in (0, 1), got {fwer}")


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
        (tmp / MANIFEST_FILE).write_text(json.dumps(baseline.manifest(), indent=2) + "\n", encoding="utf-8")
        (tmp / README_FILE).write_text(_readme(baseline), encoding="utf-8")
    return target.path


@dataclass
class UpdateSettings:
    """What ``--update`` will record: the given settings, else the recorded ones, else the defaults."""

    scenario_files: list[Path]
    overrides: list[str]
    replications: int
    seed: int | None
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
    previous = _try_load(Path(directory))
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
) -> Baseline:
    """Re-record the baseline in ``directory`` (atomically) and return it.

    Settings not given are those recorded in the existing baseline, or the defaults when there
    is none (see :func:`update_settings`). ``directory`` is checked before anything runs: it must
    be new, empty or a previous baseline (``force`` writes into another directory, keeping its files).
    """
    target = baseline_directory(directory, force)
    target.check()
    s = update_settings(directory, scenario_files, overrides, replications, seed)
    baseline = build_baseline(
        s.scenario_files, overrides=s.overrides, replications=s.replications, seed=s.seed,
        metric_names=s.metric_names, areas=s.areas, fwer=s.fwer,
        workers=workers, executor=executor, progress=progress,
    )
    write_baseline(baseline, target)
    return baseline


def _try_load(directory: Path) -> Baseline | None:
    try:
        return load_baseline(directory)
    except BaselineError:
        return None


def load_baseline(directory: str | Path = BASELINE_DIR) -> Baseline:
    """Read a baseline directory; :class:`BaselineError` (one line) when missing or malformed."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BaselineError(f"{directory}: baseline directory not found (create it with `{UPDATE_COMMAND}`)")
    manifest_path, summary_path = directory / MANIFEST_FILE, directory / SUMMARY_FILE
    for p in (manifest_path, summary_path):
        if not p.is_file():
            raise BaselineError(f"{p}: file not found (recreate the baseline with `{UPDATE_COMMAND}`)")
    try:
        m = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{manifest_path}: malformed JSON: {exc}") from None
    try:
        if not isinstance(m, dict):
            raise TypeError("expected a JSON object")
        if m.get("format") != FORMAT:
            raise ValueError(f"format {m.get('format')!r}, expected {FORMAT}")
        entries = [ScenarioEntry(str(e["file"]), str(e["name"]), str(e["policy"]), str(e["sha256"]))
                   for e in m["scenarios"]]
        seed, replications = int(m["seed"]), int(m["replications"])
        metric_names, areas = [str(x) for x in m["metrics"]], [str(x) for x in m["areas"]]
        overrides = [str(x) for x in m.get("overrides", [])]
        fwer, confidence = float(m["family_wise_error_rate"]), float(m["confidence"])
        versions = {str(k): str(v) for k, v in m.get("versions", {}).items()}
        if not entries or replications < 1 or seed < 0 or not 0 < fwer < 1 or not 0 < confidence < 1:
            raise ValueError("scenarios, replications >= 1, seed >= 0, 0 < rates < 1 required")
    except (KeyError, TypeError, ValueError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise BaselineError(f"{manifest_path}: malformed baseline manifest: {what}") from None
    try:
        summary = pd.read_csv(summary_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{summary_path}: malformed CSV: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise BaselineError(f"{summary_path}: missing columns {missing}")
    unknown = sorted(set(summary["scenario"]) - {e.name for e in entries})
    if unknown:
        raise BaselineError(f"{summary_path}: scenarios {unknown} are not in {MANIFEST_FILE}")
    return Baseline(entries, overrides, seed, replications, metric_names, areas, summary[SUMMARY_COLUMNS],
                    fwer, confidence, versions)


# ---------------------------------------------------------------------------- the check


@dataclass
class CheckResult:
    """The outcome of :func:`check_baseline`: one row per checked metric, and warnings."""

    baseline: Baseline
    table: pd.DataFrame  # CHECK_COLUMNS, one row per (scenario, area, metric) of the baseline
    fwer: float
    warnings: list[str]
    notes: list[str]
    seconds: float

    @property
    def checked(self) -> pd.DataFrame:
        """The rows in the Bonferroni family (defined in the baseline)."""
        return self.table[self.table["status"] != "skipped"]

    @property
    def moved(self) -> pd.DataFrame:
        """The failing rows: moved beyond noise, newly undefined, or missing."""
        return self.table[self.table["status"].isin(FAILING)]

    @property
    def passed(self) -> bool:
        return self.moved.empty

    def report(self) -> str:
        """The verdict, and the table of what moved (if anything)."""
        m = len(self.checked)
        counts = self.table["status"].value_counts()
        limit = self.checked["limit"].replace(np.inf, np.nan).dropna()
        lo, hi = (limit.min(), limit.max()) if len(limit) else (np.nan, np.nan)
        lo_text, hi_text = f"{lo:.2f}", f"{hi:.2f}"
        limit_text = "" if not len(limit) else f" (t = {lo_text})" if lo_text == hi_text else f" (t = {lo_text} to {hi_text})"
        lines = [
            (f"{len(self.baseline.scenarios)} scenarios x {self.baseline.replications} replications, "
             f"seed {self.baseline.seed}, in {self.seconds:.0f} s"),
            (f"test: family-wise error rate {self.fwer:g}, Bonferroni over {m} checked metrics (two-sided level "
             f"{self.fwer / max(m, 1):.2g} each): moved when |now - stored| > t x SE of the difference{limit_text}"),
        ]
        tally = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("identical", "ok", *FAILING) if counts.get(s, 0))
        skipped = counts.get("skipped", 0)
        lines.append(f"checked {m}: {tally}" + (f" ({skipped} undefined in the baseline, not checked)" if skipped else ""))
        if self.passed:
            lines.append("PASS: no checked metric moved beyond noise")
            near = self.checked[self.checked["status"] == "ok"]
            if not near.empty:
                ratio = (near["t"].abs() / near["limit"]).sort_values(ascending=False)
                lines.append("closest to the limit:")
                lines.append(format_table(near.loc[ratio.index[:3]]))
        else:
            lines.append(f"FAIL: {len(self.moved)} metric(s) moved (if the change is intended, re-record the "
                         f"baseline with `{UPDATE_COMMAND}` and commit data/baseline/)")
            lines.append(format_table(self.moved))
        return "\n".join(lines)


def check_baseline(
    baseline: Baseline | str | Path = BASELINE_DIR,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Progress | None = None,
    fwer: float | None = None,
) -> CheckResult:
    """Re-run the recorded scenarios (recorded seed, replications, overrides) and compare.

    Scenario files are read now; a changed hash is a warning. ``fwer`` overrides the recorded
    family-wise error rate.
    """
    if not isinstance(baseline, Baseline):
        baseline = load_baseline(baseline)
    alpha = baseline.fwer if fwer is None else fwer
    if not 0 < alpha < 1:
        raise ValueError(f"family-wise error rate must be in (0, 1), got {alpha}")
    scenarios = baseline.load_scenarios()
    warnings, notes = _scenario_warnings(baseline, scenarios), _version_notes(baseline)
    # Compare under the recorded names (a renamed scenario is a changed scenario: warned above).
    renamed = [sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"name": e.name})})
               if sc.scenario.name != e.name else sc for e, sc in zip(baseline.scenarios, scenarios, strict=True)]
    start = time.perf_counter()
    new = run_summary(renamed, baseline.replications, baseline.seed, workers=workers, executor=executor,
                      progress=progress, areas=baseline.areas)
    seconds = time.perf_counter() - start
    table = compare_summaries(baseline.summary, new, baseline.metrics, baseline.areas, alpha, baseline.confidence)
    return CheckResult(baseline, table, alpha, warnings, notes, seconds)


def _scenario_warnings(baseline: Baseline, scenarios: Sequence[Scenario]) -> list[str]:
    out = []
    for entry, sc in zip(baseline.scenarios, scenarios, strict=True):
        digest = scenario_hash(sc)
        if digest != entry.sha256:
            renamed = f"; renamed {entry.name!r} -> {sc.scenario.name!r}" if sc.scenario.name != entry.name else ""
            out.append(f"{entry.file}: scenario changed since the baseline was recorded (sha256 "
                       f"{entry.sha256[:12]} -> {digest[:12]}{renamed}); if intended, re-record it with "
                       f"`{UPDATE_COMMAND}`")
    return out


def _version_notes(baseline: Baseline) -> list[str]:
    from sim.outputs.report import package_versions

    now = package_versions()
    return [f"recorded with {name} {old}, running {now.get(name)}" for name, old in baseline.versions.items()
            if now.get(name, old) != old]


def compare_summaries(
    old: pd.DataFrame,
    new: pd.DataFrame,
    metric_names: Sequence[str] = CHECKED_METRICS,
    areas: Sequence[str] = CHECKED_AREAS,
    fwer: float = DEFAULT_FWER,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """One row per (scenario, area, metric) of ``old`` in ``metric_names`` x ``areas``: the test.

    Both frames have the summary columns. Status: ``identical`` (same mean), ``ok`` (within
    the Bonferroni limit), ``moved`` (beyond it), ``undefined`` (defined in ``old``, not in
    ``new``), ``missing`` (no row in ``new``), ``skipped`` (n < 2 in ``old``: not checked and
    not counted in the family).
    """
    keys = ["scenario", "area", "metric"]
    sel = old[old["metric"].isin(list(metric_names)) & old["area"].isin(list(areas))]
    stats_cols = ["mean", "ci_low", "ci_high", "n"]
    merged = sel[keys + stats_cols].merge(new[keys + stats_cols], on=keys, how="left", suffixes=("_old", "_new"),
                                          indicator=True)
    # Order: scenarios as recorded, then areas and metrics in the order checked.
    merged["_s"] = merged["scenario"].map({s: i for i, s in enumerate(dict.fromkeys(old["scenario"]))})
    merged["_a"] = merged["area"].map({a: i for i, a in enumerate(areas)})
    merged["_m"] = merged["metric"].map({m: i for i, m in enumerate(metric_names)})
    merged = merged.sort_values(["_s", "_a", "_m"]).reset_index(drop=True)
    old_n = merged["n_old"].fillna(0).astype(int)
    new_n = merged["n_new"].fillna(0).astype(int)
    old_se = _se_from_ci(merged["ci_low_old"], merged["ci_high_old"], old_n, confidence)
    new_se = _se_from_ci(merged["ci_low_new"], merged["ci_high_new"], new_n, confidence)
    testable = (old_n >= 2) & merged["mean_old"].notna()
    m = int(testable.sum())
    level = fwer / max(m, 1)
    rows = []
    for i, r in merged.iterrows():
        diff = r["mean_new"] - r["mean_old"]
        se, df = _welch(old_se[i], int(old_n[i]), new_se[i], int(new_n[i]))
        t_stat, limit, status = np.nan, np.nan, "skipped"
        if testable[i]:
            if r["_merge"] != "both":
                status = "missing"
            elif new_n[i] < 1 or not np.isfinite(r["mean_new"]):
                status = "undefined"
            elif diff == 0:
                status, t_stat = "identical", 0.0
                limit = float(stats.t.isf(level / 2, df)) if se > 0 else np.inf
            elif se > 0:
                t_stat, limit = diff / se, float(stats.t.isf(level / 2, df))
                status = "moved" if abs(t_stat) > limit else "ok"
            else:  # constant on both sides: any difference beyond rounding is a move
                tol = 1e-9 * max(1.0, abs(r["mean_old"]))
                t_stat = math.copysign(math.inf, diff) if abs(diff) > tol else 0.0
                limit, status = np.inf, "moved" if abs(diff) > tol else "ok"
        rows.append((r["scenario"], r["area"], r["metric"],
                     r["mean_old"], r["ci_low_old"], r["ci_high_old"], int(old_n[i]),
                     r["mean_new"], r["ci_low_new"], r["ci_high_new"], int(new_n[i]),
                     diff, se, df, t_stat, limit, status))
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def _se_from_ci(low: pd.Series, high: pd.Series, n: pd.Series, confidence: float) -> np.ndarray:
    """Standard error of a mean from its Student-t CI (``sim.runs.metrics.mean_ci``); NaN when n < 2."""
    n_arr = n.to_numpy(dtype=float)
    half = (high.to_numpy(dtype=float) - low.to_numpy(dtype=float)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        q = stats.t.ppf(0.5 + confidence / 2, np.where(n_arr >= 2, n_arr - 1, np.nan))
        return np.where(n_arr >= 2, half / q, np.nan)


def _welch(se1: float, n1: int, se2: float, n2: int) -> tuple[float, float]:
    """SE of a difference of two independent means and its Welch-Satterthwaite degrees of freedom.

    Side 1 is the stored one (n1 >= 2); when side 2 has a single value its variance is taken as
    side 1's (SE_diff = sqrt(2) SE_1 when n2 = n1).
    """
    if n1 < 2 or n2 < 1 or not np.isfinite(se1):
        return np.nan, np.nan
    if n2 < 2 or not np.isfinite(se2):
        v1 = se1 ** 2
        return math.sqrt(v1 + v1 * n1 / n2), float(n1 - 1)
    v1, v2 = se1 ** 2, se2 ** 2
    se = math.sqrt(v1 + v2)
    if se == 0:
        return 0.0, float(n1 + n2 - 2)
    denom = (v1 ** 2 / (n1 - 1) if v1 else 0.0) + (v2 ** 2 / (n2 - 1) if v2 else 0.0)
    return se, float((v1 + v2) ** 2 / denom)


# ---------------------------------------------------------------------------- text


def _num(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "-" if x is None or np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.4g}"


def format_table(rows: pd.DataFrame) -> str:
    """Fixed-width text table of check rows: stored and new mean with 95 % CI, difference, t, limit."""
    header = ("scenario", "area", "metric", "stored [95% CI]", "now [95% CI]", "diff", "change", "t", "limit", "status")
    body = []
    for _, r in rows.iterrows():
        stored = f"{_num(r['old_mean'])} [{_num(r['old_ci_low'])}, {_num(r['old_ci_high'])}]"
        now = (f"{_num(r['new_mean'])} [{_num(r['new_ci_low'])}, {_num(r['new_ci_high'])}]"
               if r["new_n"] > 0 else "undefined" if r["status"] == "undefined" else "-")
        diff = "-" if not np.isfinite(r["diff"]) else f"{r['diff']:+.4g}"
        rel = (f"{100 * r['diff'] / abs(r['old_mean']):+.0f}%"
               if np.isfinite(r["diff"]) and np.isfinite(r["old_mean"]) and r["old_mean"] != 0 else "-")
        body.append((r["scenario"], r["area"], r["metric"], stored, now, diff, rel, _num(r["t"]), _num(r["limit"]),
                     r["status"]))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
    right = {5, 6, 7, 8}
    def fmt(row: Sequence[str]) -> str:
        return "  ".join(str(x).rjust(w) if j in right else str(x).ljust(w)
                         for j, (x, w) in enumerate(zip(row, widths, strict=True))).rstrip()
    return "\n".join([fmt(header), *(fmt(r) for r in body)])


def _readme(baseline: Baseline) -> str:
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

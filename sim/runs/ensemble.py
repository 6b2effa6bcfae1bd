"""A parameter ensemble behind every headline: is an effect's sign robust to what we do not know?

A policy effect from one calibrated parameter set carries simulation noise only. The ensemble
repeats the paired comparison (common random numbers within each draw) over draws of

- the **fitted parameters**: drawn log-normally, each with the spread of its calibration interval
  (the 95 % interval of the Gauss-Newton covariance, ``data/calibrated/<cycle>_fitted.csv``) and,
  when the spec names the fit's covariance (``covariance``, log scale), with its correlations
  (fitted parameters trade off against each other: capacity against review rounds); without it
  independently (the spread of an effect is then if anything too wide); clipped to the
  parameter's schema range; and
- the **policy assumptions**: each drawn uniformly over the range stated in the ensemble spec
  (``data/ensemble.toml``), by Latin hypercube so that few draws cover every range,

and adds two fixed draws at the central values with review capacity -10 % and +10 % (the
calibration reports the system as near saturation, so capacity moves every effect's size).

Each draw runs every scenario under its own seed (derived from the root seed and the draw's
number: simulation noise is part of the spread) and records each effect: the mean paired
difference from the reference. :func:`robustness` reduces the draws to one row per effect: the
median and 90 % range over draws, the share of draws agreeing with the median's sign, a verdict
("falls" / "rises" when at least 90 % agree, else "depends") and, for an effect whose sign is not
robust, the drawn parameter its size depends on most (Spearman rank correlation over draws,
named only when significant at 5 % after a Bonferroni correction over the drawn parameters).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.runs.compare import compare
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.scenario.schema import allowed_bounds, field_at

CAPACITY = "review.reviews_per_core_per_day"
CAPACITY_STEPS: tuple[float, ...] = (-0.10, 0.10)
AGREEMENT = 0.90  # share of draws that must agree on a sign before a title says "falls" or "rises"
SIGNIFICANCE = 0.05  # family-wise level at which a drawn parameter is named as what a sign depends on
EFFECT_COLUMNS = ["draw", "scenario", "area", "metric", "diff"]


@dataclass(frozen=True)
class Range:
    """A drawn parameter: its key, central value, low and high end (units of the parameter)."""

    key: str
    centre: float
    low: float
    high: float
    kind: str  # "fitted" (log-normal from the interval) or "assumption" (uniform over the range)
    source: str


@dataclass(frozen=True)
class EnsembleSpec:
    """What the ensemble draws (``data/ensemble.toml``)."""

    fitted: tuple[Range, ...]
    assumptions: tuple[Range, ...]
    path: Path
    correlation: pd.DataFrame | None = None  # of the fitted parameters' logs (keys x keys), from the fit

    @property
    def ranges(self) -> tuple[Range, ...]:
        return self.fitted + self.assumptions


def load_spec(path: str | Path, reference: Scenario) -> EnsembleSpec:
    """Read the spec at ``path``: ``fitted`` names the calibration's intervals file (relative to the
    spec), ``[assumptions]`` maps each parameter key to ``{low, high, source}``. Central values of
    the assumptions are ``reference``'s. Raises :class:`ScenarioError` naming the file and field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the ensemble spec: {exc}") from None
    fitted_file = raw.get("fitted")
    if not isinstance(fitted_file, str):
        raise ScenarioError(f"{path}: fitted: expected the path of a calibration's _fitted.csv")
    fitted = tuple(_fitted_ranges(path.parent / fitted_file))
    covariance_file = raw.get("covariance")
    if covariance_file is not None and not isinstance(covariance_file, str):
        raise ScenarioError(f"{path}: covariance: expected the path of a calibration's _covariance.csv")
    correlation = None if covariance_file is None else _correlation(path.parent / covariance_file, fitted)
    table = raw.get("assumptions", {})
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: [assumptions]: expected a table of parameter = {{low, high, source}}")
    assumptions = []
    for key, entry in table.items():
        where = f"{path}: assumptions.{key}"
        if not isinstance(entry, dict) or not {"low", "high", "source"} <= set(entry):
            raise ScenarioError(f"{where}: expected {{ low = .., high = .., source = \"..\" }}")
        low, high = entry["low"], entry["high"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)) or not low < high:
            raise ScenarioError(f"{where}: low and high must be numbers with low < high (got {low!r}, {high!r})")
        centre = _value_of(reference, key, where)
        lo, hi = _schema_bounds(key, where)
        if low < lo or high > hi:
            raise ScenarioError(f"{where}: [{low}, {high}] leaves the parameter's range [{lo}, {hi}]")
        assumptions.append(Range(key, centre, float(low), float(high), "assumption", str(entry["source"])))
    return EnsembleSpec(fitted, tuple(assumptions), path, correlation)


def _fitted_ranges(path: Path) -> list[Range]:
    try:
        table = pd.read_csv(path, comment="#")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScenarioError(f"{path}: cannot read the fitted intervals: {exc}") from None
    missing = {"key", "value", "low", "high"} - set(table.columns)
    if missing:
        raise ScenarioError(f"{path}: missing columns {sorted(missing)} (expected key, value, low, high)")
    ranges = []
    for row in table.itertuples():
        if not 0 < row.low <= row.value <= row.high:
            raise ScenarioError(f"{path}: {row.key}: expected 0 < low <= value <= high (got {row.low}, {row.value}, "
                                f"{row.high})")
        ranges.append(Range(str(row.key), float(row.value), float(row.low), float(row.high), "fitted",
                            f"fitted, 95 % interval ({path.name})"))
    return ranges


def _correlation(path: Path, fitted: Sequence[Range]) -> pd.DataFrame:
    """The correlation matrix of the fitted parameters' logs from the fit's covariance at ``path``
    (a square table: first column the parameter keys, then one column per key)."""
    try:
        table = pd.read_csv(path, comment="#", index_col=0)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScenarioError(f"{path}: cannot read the fit's covariance: {exc}") from None
    keys = [str(k) for k in table.index]
    if keys != [str(c) for c in table.columns]:
        raise ScenarioError(f"{path}: expected a square table, rows and columns the same parameter keys in order")
    unknown = sorted(set(keys) - {r.key for r in fitted})
    if unknown:
        raise ScenarioError(f"{path}: {unknown[0]}: not a fitted parameter of the intervals file")
    values = table.to_numpy(dtype=float)
    if not np.isfinite(values).all() or not np.allclose(values, values.T, rtol=1e-6, atol=1e-12):
        raise ScenarioError(f"{path}: the covariance must be finite and symmetric")
    sd = np.sqrt(np.diag(values))
    if not (sd > 0).all() or np.linalg.eigvalsh(values).min() < -1e-9 * float(np.diag(values).max()):
        raise ScenarioError(f"{path}: the covariance must be positive semi-definite with positive variances")
    correlation = np.clip(values / np.outer(sd, sd), -1.0, 1.0)
    return pd.DataFrame(correlation, index=keys, columns=keys)


def _schema_bounds(key: str, where: str) -> tuple[float, float]:
    info = field_at(tuple(key.split(".")))
    if info is None:
        raise ScenarioError(f"{where}: not a scenario parameter")
    return allowed_bounds(info)


def _value_of(scenario: Scenario, key: str, where: str) -> float:
    node: Any = scenario.model_dump()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ScenarioError(f"{where}: not a scenario parameter (`python -m sim params` lists them)")
        node = node[part]
    if not isinstance(node, int | float) or isinstance(node, bool):
        raise ScenarioError(f"{where}: not a number in the reference scenario")
    return float(node)


# ------------------------------------------------------------------------------ draws


def draw_parameters(spec: EnsembleSpec, draws: int, seed: int) -> pd.DataFrame:
    """``draws`` random parameter sets plus the two capacity steps: one row per draw, one column per
    key, and ``label`` ("draw", "capacity -10%", "capacity +10%")."""
    from scipy.stats import qmc

    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xE5]))
    columns: dict[str, np.ndarray] = {}
    normals = _fitted_normals(spec, draws, rng)
    for r in spec.fitted:
        sd = math.log(r.high / r.low) / (2 * 1.959964) if r.high > r.low else 0.0
        lo, hi = _schema_bounds(r.key, str(spec.path))
        values = np.exp(math.log(r.centre) + sd * normals[r.key])
        columns[r.key] = np.clip(values, max(lo, 1e-12), hi)
    if spec.assumptions:
        unit = qmc.LatinHypercube(d=len(spec.assumptions), seed=rng).random(draws)
        for i, r in enumerate(spec.assumptions):
            columns[r.key] = r.low + unit[:, i] * (r.high - r.low)
    frame = pd.DataFrame(columns)
    frame.insert(0, "label", "draw")
    # The capacity steps set capacity only: every other parameter keeps each scenario's own value.
    capacity = next((r.centre for r in spec.ranges if r.key == CAPACITY), None)
    if capacity is not None:
        steps = [{"label": f"capacity {step:+.0%}", CAPACITY: capacity * (1 + step)} for step in CAPACITY_STEPS]
        frame = pd.concat([frame, pd.DataFrame(steps)], ignore_index=True)
    frame.insert(0, "draw", range(len(frame)))
    return frame


def _fitted_normals(spec: EnsembleSpec, draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Standard normal deviates per fitted key: correlated as the fit's covariance says for the keys
    it covers, independent for the others (one column of ``rng`` each, in the intervals file's order)."""
    if spec.correlation is None:
        return {r.key: rng.standard_normal(draws) for r in spec.fitted}
    keys = list(spec.correlation.index)
    joint = rng.multivariate_normal(np.zeros(len(keys)), spec.correlation.to_numpy(), size=draws, method="eigh")
    normals = {k: joint[:, i] for i, k in enumerate(keys)}
    for r in spec.fitted:
        if r.key not in normals:
            normals[r.key] = rng.standard_normal(draws)
    return normals


def draw_seed(seed: int, draw: int) -> int:
    """The root seed of draw ``draw``: its own simulation noise, reproducible from ``seed``."""
    return int(np.random.SeedSequence([seed, draw]).generate_state(1)[0])


def overrides(row: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """``--set`` strings for the drawn values of ``row`` (a NaN leaves the scenario's own value)."""
    return [f"{key}={float(row[key])!r}" for key in keys if not math.isnan(float(row[key]))]


def run_ensemble(
    files: Sequence[Path],
    spec: EnsembleSpec,
    parameters: pd.DataFrame,
    replications: int,
    seed: int,
    metrics: Sequence[tuple[str, str]],
    *,
    extra_overrides: Sequence[str] = (),
    executor: Executor | None = None,
    progress: Callable[[int], Any] | None = None,
) -> pd.DataFrame:
    """Each draw's paired effects of ``files[1:]`` against ``files[0]``, for each (area, metric) in
    ``metrics``: columns :data:`EFFECT_COLUMNS` (``diff`` is the mean over the draw's replications)."""
    keys = [r.key for r in spec.ranges]
    wanted = pd.MultiIndex.from_tuples(list(metrics), names=["area", "metric"])
    frames = []
    for row in parameters.to_dict("records"):
        sets = [*extra_overrides, *overrides(row, keys)]
        scenarios = [load_scenario(f, sets) for f in files]
        result = compare(scenarios, replications, draw_seed(seed, int(row["draw"])), executor=executor,
                         progress=progress)
        table = result.comparison
        table = table[table["scenario"] != table["reference"]].set_index(["area", "metric"])
        table = table[table.index.isin(wanted)].reset_index()
        frames.append(table.assign(draw=int(row["draw"]))[EFFECT_COLUMNS])
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------ reduction


def verdict(share_negative: float, share_positive: float, agreement: float = AGREEMENT) -> str:
    """'falls' or 'rises' when at least ``agreement`` of the draws agree on the sign, else 'depends'."""
    if share_negative >= agreement:
        return "falls"
    if share_positive >= agreement:
        return "rises"
    return "depends"


def robustness(effects: pd.DataFrame, parameters: pd.DataFrame, agreement: float = AGREEMENT) -> pd.DataFrame:
    """One row per (scenario, area, metric): median and 5-95 % range of the effect over the random
    draws, shares of draws below and above zero, verdict, the effect at capacity -10 % / +10 %, and
    the drawn parameter with the largest |Spearman correlation| with the effect (and its rho)."""
    from scipy.stats import spearmanr

    labels = parameters.set_index("draw")["label"]
    keys = [c for c in parameters.columns if c not in ("draw", "label")]
    random = parameters[parameters["label"] == "draw"].set_index("draw")[keys]
    rows = []
    for (scenario, area, metric), group in effects.groupby(["scenario", "area", "metric"], sort=False):
        by_draw = group.set_index("draw")["diff"]
        values = by_draw[labels.reindex(by_draw.index).eq("draw").to_numpy()].dropna()
        n = len(values)
        neg = float((values < 0).mean()) if n else math.nan
        pos = float((values > 0).mean()) if n else math.nan
        driver, rho = "", math.nan
        if n >= 5 and values.std() > 0:
            drawn = random.loc[values.index]
            tests = {k: spearmanr(drawn[k], values) for k in keys if drawn[k].std() > 0}
            # Named only when its correlation survives a Bonferroni correction over every drawn
            # parameter: with ~30 parameters and 50 draws, the largest |rho| is often chance.
            significant = {k: t for k, t in tests.items() if t.pvalue * len(tests) < SIGNIFICANCE}
            if significant:
                driver = max(significant, key=lambda k: abs(significant[k].statistic))
                rho = float(significant[driver].statistic)
        steps = {label: by_draw.get(d, math.nan) for d, label in labels.items() if label != "draw"}
        rows.append({
            "scenario": scenario, "area": area, "metric": metric, "draws": n,
            "median": float(values.median()) if n else math.nan,
            "p05": float(values.quantile(0.05)) if n else math.nan,
            "p95": float(values.quantile(0.95)) if n else math.nan,
            "share_negative": neg, "share_positive": pos,
            "verdict": verdict(neg, pos, agreement) if n else "depends",
            **{f"at {label}": float(v) for label, v in steps.items()},
            "depends_most_on": driver, "spearman_rho": rho,
        })
    return pd.DataFrame(rows)

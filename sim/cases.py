"""Natural experiments: what really happened when Nova changed, set beside what the model predicts.

A case file (``data/validation/*.toml``) names a scenario before the change (``before``), the
change (``after``, another scenario file, and/or ``set``, overrides applied to ``before``), and
the outcomes observed: for each, the subset of changes (``all``, an area, ``group:drivers``,
``kind:blueprint``...), the metric (a summary.csv metric) and the observed values before and
after, either read off the project's data (``[observed] cycles = { before = "juno", after =
"kilo" }``: the changes merged in each release cycle of ``data/nova/nova_changes.csv.gz``) or given
as numbers with their source. Adding a case needs no code.

The prediction runs both scenarios under one seed (common random numbers) and takes, per
replication, the ratio after / before of the metric; its mean and 95 % CI over replications is the
predicted ratio. The observed ratio's 90 % interval is a bootstrap of both cycles' changes (data
cases). A case's outcome *holds* when the predicted ratio is within the case's ``factor`` of the
observed one (observed / factor <= predicted <= observed x factor).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.calibrate import DataError
from sim.calibrate.data import NOVA_CHANGES, ChangeTable, load_changes
from sim.calibrate.observe import CycleData, cycle_data, merged_subset, metric_name
from sim.calibrate.summaries import PHASES, QUANTILES, resampled_quantiles
from sim.errors import InputError
from sim.paths import CASES_DIR
from sim.runs.compare import compare
from sim.runs.metrics import ALL, DRIVERS, KIND_AREAS, METRICS, NON_DRIVERS
from sim.runs.stats import mean_ci
from sim.safe_output import ResultFile
from sim.scenario import Scenario, load_scenario
from sim.scenario.schema import did_you_mean

N_BOOT = 2000
COLUMNS = [
    "case", "subset", "metric", "observed_before", "observed_after", "n_before", "n_after", "observed_ratio",
    "observed_low", "observed_high", "predicted_before", "predicted_after", "predicted_ratio", "predicted_low",
    "predicted_high", "replications", "factor", "holds", "source",
]
# Metrics the data can observe: quantiles of each phase of the changes merged in a cycle.
DATA_METRICS: dict[str, tuple[str, float]] = {  # metric -> (data phase, quantile)
    metric_name(phase, q): (phase, q) for phase in PHASES for q in QUANTILES
}


class CaseError(InputError):
    """A case file is invalid; the message is one line naming the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cycles(_Strict):
    before: str = Field(description="release cycle before the change (data/nova), e.g. 'juno'")
    after: str = Field(description="release cycle after the change, e.g. 'kilo'")


class Observed(_Strict):
    cycles: Cycles | None = Field(None, description="read every outcome off these cycles of the project's data")


class Outcome(_Strict):
    subset: str = Field("all", description="all, an area, group:drivers, group:non-drivers or kind:KIND")
    metric: str = Field(description="a summary.csv metric, e.g. time_to_merge_median_days")
    before: float | None = Field(None, gt=0, description="observed value before the change (with [observed] cycles: read off the data)")
    after: float | None = Field(None, gt=0, description="observed value after the change")
    n_before: int | None = Field(None, ge=1, description="changes behind the value before")
    n_after: int | None = Field(None, ge=1, description="changes behind the value after")
    source: str | None = Field(None, description="where the numbers come from (required with numbers)")


class Case(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    source: str = Field(min_length=1, description="what happened, with a reference (facts.md section, mailing list)")
    before: str = Field(description="scenario file before the change, relative to the case file")
    after: str | None = Field(None, description="scenario file after the change (default: before)")
    set: tuple[str, ...] = Field((), description="overrides applied after the change, 'section.key=value'")
    factor: float = Field(1.25, gt=1, le=10, description="the prediction holds within this factor of the observation")
    observed: Observed = Observed()
    outcome: tuple[Outcome, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Case:
        if self.after is None and not self.set:
            raise ValueError("after: give a scenario file after the change, or set = [...] overrides, or both")
        for i, o in enumerate(self.outcome):
            if self.observed.cycles is not None:
                if o.before is not None or o.after is not None:
                    raise ValueError(f"outcome[{i}]: numbers and [observed] cycles exclude each other")
                if o.metric not in DATA_METRICS:
                    raise ValueError(f"outcome[{i}].metric: {o.metric!r} cannot be read off the data "
                                     f"(allowed with [observed] cycles: {', '.join(DATA_METRICS)})")
            elif o.before is None or o.after is None or not o.source:
                raise ValueError(f"outcome[{i}]: give before, after and source (or [observed] cycles)")
        return self


@dataclass(frozen=True)
class LoadedCase:
    path: Path
    case: Case
    before: Scenario
    after: Scenario


def load_case(path: Path) -> LoadedCase:
    """Read and validate one case file and both of its scenarios; :class:`CaseError` (one line) otherwise."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{path}: not valid TOML: {exc}") from None
    try:
        case = Case.model_validate({**raw.get("case", {}), "observed": raw.get("observed", {}),
                                    "outcome": raw.get("outcome", [])})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "case"
        raise CaseError(f"{path}: {where}: {err['msg']}") from None
    unknown = sorted(set(raw) - {"case", "observed", "outcome"})
    if unknown:
        raise CaseError(f"{path}: unknown tables {unknown} (allowed: [case], [observed], [[outcome]])")
    try:
        before = load_scenario(path.parent / case.before)
        after_file = path.parent / (case.after or case.before)
        after = load_scenario(after_file, [*case.set, f'scenario.name="{before.scenario.name}-after"']
                              if after_file.resolve() == (path.parent / case.before).resolve() else case.set)
    except InputError as exc:
        raise CaseError(f"{path}: case.before / case.after / case.set: {exc}") from None
    for i, outcome in enumerate(case.outcome):
        subsets = (ALL, *before.area_names, *KIND_AREAS, *((DRIVERS, NON_DRIVERS) if before.driver_areas else ()))
        if outcome.subset not in subsets:
            raise CaseError(f"{path}: outcome[{i}].subset: {outcome.subset!r} is not one of {', '.join(subsets)}")
        if outcome.metric not in METRICS:
            raise CaseError(f"{path}: outcome[{i}].metric: {outcome.metric!r} is not a summary.csv metric"
                            f"{did_you_mean(outcome.metric, METRICS)}")
    return LoadedCase(path, case, before, after)


def load_cases(directory: Path = CASES_DIR) -> list[LoadedCase]:
    """Every ``*.toml`` case of ``directory``, in name order; each one checked before anything runs."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CaseError(f"--cases {directory}: not a directory")
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CaseError(f"--cases {directory}: no *.toml case files")
    return [load_case(f) for f in files]


# ------------------------------------------------------------------------------ observed


def observed_from_data(loaded: LoadedCase, outcome: Outcome, table: ChangeTable, seed: int = 0) -> dict[str, float]:
    """Before/after values, counts and the bootstrap 90 % interval of their ratio, from the changes in ``table``."""
    cycles = loaded.case.observed.cycles
    assert cycles is not None
    mapping = {name: list(area.data_areas) or [name] for name, area in loaded.before.areas.items()}
    phase, q = DATA_METRICS[outcome.metric]
    samples = []
    for cycle in (cycles.before, cycles.after):
        try:
            cd: CycleData = cycle_data(table, cycle, mapping, loaded.before.driver_areas)
            sub = merged_subset(cd, outcome.subset)
        except DataError as exc:
            raise CaseError(f"{loaded.path}: {exc}") from None
        if sub.empty:
            raise CaseError(f"{loaded.path}: outcome subset {outcome.subset!r}: no changes merged in {cycle}")
        samples.append(sub[PHASES[phase]].to_numpy(dtype=float))
    before, after = (float(np.quantile(x, q)) for x in samples)
    boot = [resampled_quantiles(x, [q], N_BOOT, seed + i)[:, 0] for i, x in enumerate(samples)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = boot[1] / boot[0]
    low, high = np.quantile(ratios[np.isfinite(ratios)], [0.05, 0.95])
    return {"observed_before": before, "observed_after": after, "n_before": len(samples[0]),
            "n_after": len(samples[1]), "observed_ratio": after / before, "observed_low": float(low),
            "observed_high": float(high)}


def observed_numbers(outcome: Outcome) -> dict[str, float]:
    assert outcome.before is not None and outcome.after is not None
    return {"observed_before": outcome.before, "observed_after": outcome.after,
            "n_before": outcome.n_before or math.nan, "n_after": outcome.n_after or math.nan,
            "observed_ratio": outcome.after / outcome.before, "observed_low": math.nan, "observed_high": math.nan}


# ------------------------------------------------------------------------------ predicted


def predict(loaded: LoadedCase, replications: int, seed: int, workers: int = 1,
            data: Path = NOVA_CHANGES) -> list[dict[str, Any]]:
    """Every outcome of one case: observed and predicted ratios and whether the case holds."""
    case = loaded.case
    table = load_changes(data) if case.observed.cycles is not None else None
    comparison = compare([loaded.before, loaded.after], replications, seed, workers=workers)
    per_rep = [run.per_replication for run in comparison.runs]
    rows = []
    for outcome in case.outcome:
        observed = observed_from_data(loaded, outcome, table) if table is not None else observed_numbers(outcome)
        values = []
        for frame in per_rep:
            hit = frame[(frame["area"] == outcome.subset) & (frame["metric"] == outcome.metric)]
            if hit.empty:
                raise CaseError(f"{loaded.path}: outcome {outcome.subset!r} {outcome.metric!r}: the simulation "
                                "reports no such metric and subset (see summary.csv)")
            values.append(hit.set_index("replication")["value"].sort_index())
        before, after = values
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio, low, high, n = mean_ci((after / before).to_numpy(dtype=float))
        ok = bool(np.isfinite(ratio)) and observed["observed_ratio"] / case.factor <= ratio <= \
            observed["observed_ratio"] * case.factor
        rows.append({"case": case.name, "subset": outcome.subset, "metric": outcome.metric, **observed,
                     "predicted_before": float(np.nanmean(before)), "predicted_after": float(np.nanmean(after)),
                     "predicted_ratio": ratio, "predicted_low": low, "predicted_high": high, "replications": n,
                     "factor": case.factor, "holds": ok, "source": outcome.source or case.source})
    return rows


def run_cases(cases: Sequence[LoadedCase], replications: int, seed: int, workers: int = 1,
              data: Path = NOVA_CHANGES) -> pd.DataFrame:
    """Predict every case; one row per outcome (:data:`COLUMNS`)."""
    rows = [row for loaded in cases for row in predict(loaded, replications, seed, workers, data)]
    return pd.DataFrame(rows, columns=COLUMNS)


def format_cases(table: pd.DataFrame) -> str:
    """A console table: observed vs predicted ratio after / before, and the verdict."""
    lines = [f"{'case':<22} {'subset':<17} {'metric':<28} {'observed':>17} {'predicted':>22}  verdict"]
    for r in table.itertuples():
        obs = f"{r.observed_ratio:.2f}" + (f" [{r.observed_low:.2f}, {r.observed_high:.2f}]"
                                           if np.isfinite(r.observed_low) else "")
        pred = f"{r.predicted_ratio:.2f} [{r.predicted_low:.2f}, {r.predicted_high:.2f}]"
        verdict = f"holds (within x{r.factor:g})" if r.holds else f"FAILS (beyond x{r.factor:g})"
        lines.append(f"{r.case:<22} {r.subset:<17} {r.metric:<28} {obs:>17} {pred:>22}  {verdict}")
    held = int(table["holds"].sum())
    lines.append(f"{held} of {len(table)} outcomes within their case's factor (ratios after / before; observed: "
                 "bootstrap 90 % interval; predicted: 95 % CI over replications, common random numbers)")
    return "\n".join(lines)


def cases_output(path: Path, force: bool = False) -> ResultFile:
    """``path`` as the CSV of ``validate cases``: an existing file is replaced only if it is one of ours."""
    header = ",".join(COLUMNS)

    def ours(p: Path) -> bool:
        try:
            with p.open(encoding="utf-8") as f:
                return f.readline().strip() == header
        except (OSError, UnicodeDecodeError):
            return False

    return ResultFile(Path(path), ours, force)

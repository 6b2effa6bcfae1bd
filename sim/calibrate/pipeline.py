"""The calibration command end to end: data -> observables and targets -> fit -> fresh-seed check.

``calibrate_cycle`` fits a template scenario to one cycle and writes the calibrated scenario
(every value annotated with its source), the fit report tables and the fit figure.
``predict_cycle`` is the out-of-sample check: it keeps a calibrated scenario's hidden
parameters, replaces only what the data or the facts say changed, and reports predicted vs
observed quantiles, as they come out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibrate import DataError
from sim.calibrate.criteria import (
    fit_criteria,
    major_areas,
    prediction_errors,
    published_checks,
    target_table,
)
from sim.calibrate.data import ChangeTable, load_changes, load_model_areas
from sim.calibrate.figure import figure_output
from sim.calibrate.fit import (
    RELATIVE_POOLED,
    SHRINKAGE_STRENGTHS,
    Calibrator,
    Shrinkage,
    StrengthSelection,
    abandonment_adjusted_rates,
    area_parameters,
    default_stages,
    fact_targets,
    heldout_errors,
    set_values,
    simulate_many,
    simulate_with_times,
    summarize_runs,
)
from sim.calibrate.observe import (
    ACTIVITY_SMOOTHING_WEEKS,
    CycleData,
    activity_profile,
    cycle_data,
    observables,
    split_halves,
    targets,
    weekly_merges,
)
from sim.calibrate.writer import annotated_toml
from sim.runs.metrics import ALL
from sim.runs.pool import worker_pool
from sim.runs.stats import t_half_width
from sim.runs.study import TaskCache
from sim.safe_output import FilesInto, ResultDirectory, ResultFile
from sim.scenario import Scenario, merge_tables, read_scenario_tables, validate_scenario

CAPACITY_KEY = "review.reviews_per_core_per_day"
CAPACITY_STEPS: tuple[float, ...] = (0.8, 0.9, 1.0, 1.1, 1.2)
CONFIDENCE = 0.95  # of the simulated means' intervals (the criteria's widening, the report's ±)


@dataclass
class CycleCheck:
    """A scenario run against one cycle's history on seeds the fit never saw."""

    cycle: str
    scenario: Scenario
    table: pd.DataFrame  # criteria.target_table
    weekly: pd.DataFrame  # week, observed, simulated mean, low, high
    merged_per_week: tuple[float, float]  # observed, simulated
    extra: pd.DataFrame  # other simulated metrics (all areas): metric, mean, half
    changes: pd.DataFrame  # pooled simulated time to merge per area (for the ECDF figure)
    observed_changes: pd.DataFrame  # observed merged changes: model_area, time_to_merge_days
    criteria: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)


def _log(message: str) -> None:
    print(message, flush=True)


def load_cycle(data: str | Path, cycle: str, template: Scenario, template_path: Path) -> tuple[ChangeTable, CycleData]:
    table = load_changes(data)
    try:
        return table, cycle_data(table, cycle, load_model_areas(template_path), template.driver_areas)
    except DataError as exc:
        raise DataError(f"{table.source}: --cycle {cycle}: {exc}") from None


def check_cycle(scenario: Scenario, cd: CycleData, replications: int, seed: int,
                executor: Executor | None = None, cache: TaskCache | None = None) -> CycleCheck:
    """Simulate ``replications`` fresh replications and set them beside the cycle's targets."""
    per_rep, sim_changes = simulate_with_times(scenario, range(replications), seed, executor, cache=cache)
    grouped = per_rep.groupby(["area", "metric"])["value"]  # undefined values (NaN) skipped
    simulated = pd.DataFrame({"mean": grouped.mean(),
                              "half": t_half_width(grouped.std(ddof=1).fillna(0.0), grouped.count())})
    table = target_table(targets(cd), simulated)
    observed_weekly = weekly_merges(cd)
    weeks = [f"weekly_merges_{w}" for w in range(len(observed_weekly))]
    sim_weekly = simulated.loc[ALL].reindex(weeks)
    weekly = pd.DataFrame({
        "week": range(len(observed_weekly)), "observed": observed_weekly,
        "simulated": sim_weekly["mean"].to_numpy(), "half": sim_weekly["half"].to_numpy(),
    })
    mpw = (len(cd.merged) / (cd.days / 7.0), float(simulated.loc[(ALL, "merged_per_week"), "mean"]))
    extra = simulated.loc[ALL].drop(index=[w for w in weeks if w in simulated.loc[ALL].index]).reset_index()
    observed = cd.merged[["model_area", "time_to_merge_days"]].rename(columns={"model_area": "area"})
    check = CycleCheck(cd.cycle, scenario, table, weekly, mpw, extra, sim_changes, observed)
    check.criteria = fit_criteria(table, mpw)
    return check


def capacity_sensitivity(scenario: Scenario, replications: int, seed: int, executor: Executor | None = None,
                         steps: Sequence[float] = CAPACITY_STEPS, cache: TaskCache | None = None) -> pd.DataFrame:
    """All-area time-to-merge median and p90 as review capacity moves by each factor in ``steps``."""
    raw = scenario.to_toml_dict()
    base = scenario.review.reviews_per_core_per_day
    rows = []
    for factor in steps:
        sc = validate_scenario(set_values(raw, {CAPACITY_KEY: base * factor}))
        per_rep = simulate_many(sc, range(replications), seed, executor, cache)
        for metric in ("time_to_merge_median_days", "time_to_merge_p90_days", "abandoned_fraction"):
            values = per_rep[(per_rep["area"] == ALL) & (per_rep["metric"] == metric)]["value"].to_numpy()
            values = values[np.isfinite(values)]  # undefined in a replication (nothing closed): skipped
            rows.append((factor, base * factor, metric, values.mean(), t_half_width(values.std(ddof=1), len(values))))
    return pd.DataFrame(rows, columns=["capacity_factor", "reviews_per_core_per_day", "metric", "mean", "half"])


def _sources(cycle: str, cd: CycleData, fitted: pd.DataFrame, observed: dict[str, Any]) -> dict[str, str]:
    sources: dict[str, str] = {}
    period = f"{cd.cycle} {cd.start:%Y-%m-%d}..{cd.end:%Y-%m-%d}"
    for area, values in observed["areas"].items():
        for key in values:
            sources[f"areas.{area}.{key}"] = f"data: {period}, changes authored in the cycle"
        sources[f"areas.{area}.rate_per_day"] = (
            f"data + fitted: {period} authored changes per day, raised for the simulated abandonment")
    sources["arrivals.weekly_profile"] = f"data: {period}, non-blueprint changes authored per week / mean"
    sources["arrivals.blueprint_weekly_profile"] = f"data: {period}, blueprint changes authored per week / mean"
    sources["run.cycle_weeks"] = f"data: {period} ({cd.days:.1f} days)"
    sources.update(working_week_sources(period))
    sources["review.weekly_activity"] = (
        f"data: {period}, merges per week ({ACTIVITY_SMOOTHING_WEEKS}-week centred mean) / mean, "
        "read as core review activity (the queue is near saturation)")
    for row in fitted.itertuples():
        note = "" if row.identified else "; not identified by the targets"
        sources[row.key] = f"fitted: {cycle}, 95 % interval [{row.low:.3g}, {row.high:.3g}]{note}"
    return sources


def working_week_sources(period: str) -> dict[str, str]:
    """Sources of the working week read off a cycle's data (``observe.weekend_activity``)."""
    return {"cycle.start_weekday": f"data: {period}, weekday of the cycle's first day",
            "cycle.weekend_activity": f"data: {period}, share of uploads (authored, committed) on Saturday or "
                                      "Sunday, per day / a weekday's"}


def calibrate_cycle(
    data: str | Path,
    cycle: str,
    template_path: str | Path,
    out: str | Path,
    *,
    results: str | Path,
    figures: str | Path,
    budget: int = 240,
    replications: int = 4,
    check_replications: int = 8,
    seed: int = 1,
    workers: int = 2,
    log: Callable[[str], None] = _log,
    force: bool = False,
    cache: TaskCache | None = None,
    warm_start: bool = False,
    identified: bool = True,
) -> CycleCheck:
    """Fit ``template_path`` to ``cycle`` of ``data``; write the scenario, the report and the figure
    (``warm_start``: the template's values are a previous optimum, see :func:`default_stages`;
    ``identified``: fit each area's attention and authors' pace beside its defects, with the
    shrinkage prior and its strength by cross-validation, issue 14).

    Every destination is checked before the fit starts (:func:`calibration_outputs`; ``force``
    lets them replace files this command did not write).
    """
    from sim.calibrate.figure import calibration_figure

    outputs = calibration_outputs(out, results, figures, cycle, force)
    outputs.check()
    template_path = Path(template_path)
    raw = read_scenario_tables(template_path)
    template = validate_scenario(raw, str(template_path))
    table, cd = load_cycle(data, cycle, template, template_path)
    log(table.report())
    observed = observables(cd)
    name = {"scenario": {"name": f"nova-{cycle}", "description": f"Nova calibrated on the {cycle} cycle"}}
    activity = {"review": {"weekly_activity": activity_profile(cd)}}
    raw = merge_tables(merge_tables(merge_tables(raw, observed), activity), name)
    goal = pd.concat([targets(cd), fact_targets(identified)], ignore_index=True)
    rates = {a: v["rate_per_day"] for a, v in observed["areas"].items()}
    shrinkage = Shrinkage(SHRINKAGE_STRENGTHS[len(SHRINKAGE_STRENGTHS) // 2],
                          {a: float((cd.merged["model_area"] == a).sum()) for a in template.area_names},
                          anchors=RELATIVE_POOLED) if identified else None
    first, second = (targets(half) for half in split_halves(cd, seed))
    per_area = len(area_parameters(template.area_names))  # the parameters the shrunk stage refits
    selection = StrengthSelection([(first, second), (second, first)], SHRINKAGE_STRENGTHS,
                                  max(per_area + 3, min(3 * per_area + 3, budget // 4)))
    with worker_pool(workers) as executor:
        log(f"fitting {cycle}: {len(goal)} targets, {replications} replications per evaluation (seed {seed})")
        calibrator = Calibrator(raw, goal, rates, replications=range(replications), seed=seed, executor=executor,
                                origin=str(template_path), log=log, cache=cache, shrinkage=shrinkage)
        fit = calibrator.fit(default_stages(template.area_names, budget, warm_start, identified),
                             selection if identified else None)
        scenario = validate_scenario(fit.raw, str(out))
        fresh = seed + 1_000_003  # seeds the optimiser never saw
        log(f"checking on {check_replications} fresh replications (seed {fresh})")
        check = check_cycle(scenario, cd, check_replications, fresh, executor, cache)
        check.sensitivity = capacity_sensitivity(scenario, max(4, check_replications // 2), fresh, executor,
                                                 cache=cache)
    header = (f"Nova calibrated on the {cycle} cycle by `python -m sim calibrate` (seed {seed}, "
              f"{fit.evaluations} evaluations).\nEach value's comment says where it comes from: data, fitted "
              f"(with its 95 % interval), fact or assumption.\nFit report: {_shown(results)}/")
    outputs.scenario.write_text(annotated_toml(scenario, _sources(cycle, cd, fit.intervals, observed), header))
    outputs.fitted.write_text(fitted_csv(fit.intervals, cycle, seed))
    outputs.covariance.write_text(covariance_csv(fit.covariance, cycle, seed))
    with outputs.results.commit() as tmp:
        fit.intervals.to_csv(tmp / "fitted.csv", index=False)
        pd.DataFrame(fit.stages).to_csv(tmp / "stages.csv", index=False)
        if not fit.cross_validation.empty:  # only a fit with shrinkage has a cross-validation table
            fit.cross_validation.to_csv(tmp / "shrinkage_cv.csv", index=False)
        _write_check(check, tmp)
    command = (f"python -m sim calibrate --cycle {cycle}{' --warm-start' if warm_start else ''}"
               f"{'' if identified else ' --defects-only'}")
    notes = [f"Generated by `{command}` (seed {seed}, budget {budget}, {replications} "
             f"replications per evaluation, {fit.evaluations} evaluations); checked on {check_replications} fresh "
             f"replications (seed {fresh}). Scenario: `{_shown(out)}`; figure: "
             f"`{_shown(figures)}/calibration_{cycle}.png`."]
    outputs.report.write_text(report_markdown(check, fit.intervals, f"Calibration on {cycle}", notes,
                                              shrinkage_section(fit.cross_validation, fit.strength, _shown(out),
                                                                identified),
                                              approval_fitted=identified))
    calibration_figure(check, outputs.figure, f"calibration_{cycle}")
    return check


def predict_cycle(
    data: str | Path,
    cycle: str,
    base_path: str | Path,
    changes: Sequence[tuple[str, Any, str]],
    out: str | Path,
    *,
    results: str | Path,
    figures: str | Path,
    replications: int = 8,
    seed: int = 1,
    workers: int = 2,
    log: Callable[[str], None] = _log,
    force: bool = False,
    cache: TaskCache | None = None,
) -> CycleCheck:
    """Out of sample: ``base_path``'s hidden parameters, ``cycle``'s observables, and ``changes``
    (key, value, reason) for what the facts say changed. Writes the scenario, tables and figure
    (destinations checked first, as in :func:`calibrate_cycle`)."""
    from sim.calibrate.figure import calibration_figure

    outputs = calibration_outputs(out, results, figures, cycle, force)
    outputs.check()
    base_path = Path(base_path)
    raw = read_scenario_tables(base_path)
    base = validate_scenario(raw, str(base_path))
    table, cd = load_cycle(data, cycle, base, base_path)
    log(table.report())
    observed = observables(cd)
    name = {"scenario": {"name": f"nova-{cycle}-predicted",
                         "description": f"Nova's {cycle} cycle predicted from {base_path.name}"}}
    changes = [*flat_activity(base, cycle), *changes]
    raw = merge_tables(merge_tables(merge_tables(raw, observed), name), _nested({k: v for k, v, _ in changes}))
    rates = {a: v["rate_per_day"] for a, v in observed["areas"].items()}
    with worker_pool(workers) as executor:
        for _ in range(2):  # arrivals of merged work, raised for the abandonment the model predicts
            summary = summarize_runs(simulate_many(validate_scenario(raw, str(out)), range(replications), seed,
                                                   executor, cache))
            raw = set_values(raw, abandonment_adjusted_rates(summary, rates))
        scenario = validate_scenario(raw, str(out))
        check = check_cycle(scenario, cd, replications, seed + 1_000_003, executor, cache)
    sources = {f"areas.{a}.{k}": f"data: {cycle}, changes authored in the cycle" for a, v in observed["areas"].items()
               for k in v}
    sources.update({f"areas.{a}.rate_per_day": f"data: {cycle} authored changes per day, raised for the simulated "
                    "abandonment" for a in observed["areas"]})
    sources.update(working_week_sources(cycle))
    sources.update({k: f"changed for {cycle}: {reason}" for k, _, reason in changes})
    header = (f"Nova's {cycle} cycle predicted out of sample by `{SIGNATURE}` from {base_path.name}: hidden parameters "
              "as fitted there;\n"
              f"observable inputs from the {cycle} data; changed for {cycle}: "
              + "; ".join(f"{k} = {v}" for k, v, _ in changes))
    outputs.scenario.write_text(annotated_toml(scenario, sources, header))
    with outputs.results.commit() as tmp:
        _write_check(check, tmp)
        prediction_errors(check.table, [*major_areas(check.table, 100), ALL]).to_csv(tmp / "prediction.csv",
                                                                                      index=False)
        pd.DataFrame(changes, columns=["key", "value", "reason"]).to_csv(tmp / "changes.csv", index=False)
    notes = [f"Generated by `python -m sim calibrate --cycle {cycle} --predict-from {_shown(base_path)}` "
             f"({replications} replications, seed {seed + 1_000_003}). Hidden parameters as fitted on "
             f"`{base_path.name}`; observable inputs from the {cycle} data; what changed:", "",
             *[f"- `{k}` = {v}: {reason}" for k, v, reason in changes]]
    outputs.report.write_text(report_markdown(check, None, f"Out-of-sample check: {cycle}", notes))
    calibration_figure(check, outputs.figure, f"calibration_{cycle}", predicted=True)
    return check


def flat_activity(base: Scenario, cycle: str) -> list[tuple[str, Any, str]]:
    """The base's weekly review activity replaced by a flat one, as a stated change (none when flat).

    The profile is read off the base cycle's own merges: its rhythm (the lull after the release,
    the summit, the freeze push) is the base cycle's calendar, and the predicted cycle's rhythm
    cannot be read off its outcome. Its mean, the fitted capacity, is kept. None either when the
    base was fitted on ``cycle`` itself (``nova-<cycle>``): that is a check of the fit on fresh
    seeds, and the rhythm is this cycle's own.
    """
    if base.review.weekly_activity is None or base.scenario.name == f"nova-{cycle}":
        return []
    return [("review.weekly_activity", None,
             f"flat: the weekly rhythm read off {base.scenario.name}'s merges belongs to its calendar; {cycle}'s "
             "rhythm cannot be read off its own outcome (the mean activity, the fitted capacity, is kept)")]


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def shrinkage_section(cv: pd.DataFrame, strength: float, out: str, identified: bool = True) -> list[str]:
    """Markdown lines: the shrinkage prior and its cross-validation table (``identified``), and
    the covariance file."""
    covariance = out.removesuffix(".toml") + "_covariance.csv"
    lines = [] if not identified else ["", "## Shrinkage of the per-area parameters", "",
             "Per-area `defects_mean`, `attention` and `response_factor` (log scale) are shrunk toward their pooled "
             "value (the geometric mean over areas weighted by merged changes; the pooled attention and response "
             "factor are fixed at 1, the reference that makes a relative weight identified) by penalty rows sqrt(lambda) x (log theta_a - log theta_pooled): a Gaussian prior with sd "
             f"1/sqrt(lambda) in log space. Chosen strength: lambda = {strength:g}."]
    if identified and not cv.empty:
        lines += ["", "Lambda chosen by 2-fold cross-validation: Juno's merged changes split in two halves (fixed "
                  "seed, stratified by area); the per-area parameters refitted on one half's targets (shared "
                  "parameters fixed at the full fit, warm start, on the model linearised at the full fit) and scored "
                  "on the other half's per-area targets (mean squared standardised residual); the chosen lambda is "
                  "the largest whose mean held-out error (both folds' held-out targets pooled) is within one "
                  "standard error of the least (the one-standard-error rule, Hastie et al., Elements of Statistical "
                  "Learning §7.10).", "",
                  "| lambda | fold | held-out mean squared residual | training cost |",
                  "|---|---|---|---|"]
        lines += [f"| {r.strength:g} | {r.fold} | {r.heldout_mse:.3f} | {r.train_cost:.1f} |"
                  for r in cv.itertuples()]
        errors = heldout_errors(cv)
        lines += ["", "Mean held-out error per lambda (± one standard error): "
                  + ", ".join(f"{k:g}: {r['mean']:.3f} ± {r['se']:.3f}" for k, r in errors.iterrows()) + "."]
    lines += [] if identified else ["", "## Covariance of the fitted parameters"]
    lines += ["", f"`{covariance}`: the covariance of the fitted parameters' logs (rows and columns named by "
              "parameter key), the sandwich Gauss-Newton covariance from the Jacobian at the optimum (with the "
              "shrinkage's penalty rows when there is one), scaled by the reduced chi-square when above 1; a "
              "parameter ensemble can draw correlated values from it."]
    return lines


def report_markdown(check: CycleCheck, fitted: pd.DataFrame | None, title: str, notes: Sequence[str] = (),
                    appendix: Sequence[str] = (), approval_fitted: bool = False) -> str:
    """A fit report in Markdown, every number from ``check`` and ``fitted``."""
    lines = [f"# {title}", "", *notes, ""]
    table = check.table
    ttm = table[table["phase"] == "time_to_merge"]
    lines += ["## Time to merge: observed (bootstrap 90 % interval) vs simulated (95 % CI half-width)", "",
              "| area | n | quantile | observed | interval | simulated | ± | error | inside widened interval |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in ttm.itertuples():
        lines.append(f"| {r.area} | {r.n} | {r.metric.split('_')[-2]} | {r.observed:.1f} | [{r.low:.1f}, {r.high:.1f}] | "
                     f"{r.simulated:.1f} | {r.sim_half:.1f} | {r.rel_error:+.0%} | {'yes' if r.inside else 'no'} |")
    phases = table[table["phase"].isin(["revision", "final"]) & table["area"].isin([ALL, *major_areas(table, 100)])]
    lines += ["", "## Revision and final phase (days)", "", "| area | metric | observed | simulated | error |",
              "|---|---|---|---|---|"]
    lines += [f"| {r.area} | {r.metric} | {r.observed:.1f} | {r.simulated:.1f} | {r.rel_error:+.0%} |"
              for r in phases.itertuples()]
    if not check.criteria.empty:
        lines += ["", "## Fit criteria", "", "| criterion | value | target | met |", "|---|---|---|---|"]
        lines += [f"| {r.criterion} | {r.value:.3g} | {r.target} | {'yes' if r.passed else 'no'} |"
                  for r in check.criteria.itertuples()]
    if fitted is not None:
        lines += ["", "## Fitted parameters (95 % interval from the Gauss-Newton covariance)", "",
                  "| parameter | value | interval | identified |", "|---|---|---|---|"]
        lines += [f"| `{r.key}` | {r.value:.4g} | [{r.low:.4g}, {r.high:.4g}] | {'yes' if r.identified else 'no'} |"
                  for r in fitted.itertuples()]
    lines += list(appendix)
    if not check.sensitivity.empty:
        s = check.sensitivity[check.sensitivity["metric"] == "time_to_merge_median_days"]
        lines += ["", "## Capacity sensitivity (all areas)", "", "| capacity | reviews/core/day | median time to merge (d) |",
                  "|---|---|---|"]
        lines += [f"| {r.capacity_factor - 1:+.0%} | {r.reviews_per_core_per_day:.2f} | {r.mean:.1f} ± {r.half:.1f} |"
                  for r in s.itertuples()]
    extra = check.extra.set_index("metric")
    lines += ["", "## Other simulated quantities (all areas)", ""]
    for metric in ("merged_per_week", "abandoned_fraction", "rechecks_per_patch_set", "core_reviews_per_core_per_day"):
        if metric in extra.index:
            lines.append(f"- `{metric}`: {extra.loc[metric, 'mean']:.3g} ± {extra.loc[metric, 'half']:.2g}")
    lines.append(f"- observed merged per week: {check.merged_per_week[0]:.1f}")
    published = published_checks(check.extra)
    if not published.empty:
        heading = ("Checks against published numbers (time to approval: also fit targets; the rest not fitted)"
                   if approval_fitted else "Checks against published numbers (not fitted)")
        lines += ["", f"## {heading}", "",
                  "| quantity | simulated | ± | published | simulated / published | published as |", "|---|---|---|---|---|---|"]
        lines += [f"| `{r.metric}` | {r.simulated:.3g} | {r.sim_half:.2g} | {r.published:.3g} | {r.ratio:.2f} | {r.source} |"
                  for r in published.itertuples()]
    return "\n".join(lines) + "\n"


def _shown(path: str | Path) -> str:
    """A path as a reader of the repository sees it (relative to the project root when inside it)."""
    from sim.paths import record_path

    return record_path(path)


def _write_check(check: CycleCheck, directory: Path) -> None:
    check.table.to_csv(directory / "targets.csv", index=False)
    check.criteria.to_csv(directory / "criteria.csv", index=False)
    check.weekly.to_csv(directory / "weekly_merges.csv", index=False)
    check.extra.to_csv(directory / "other_metrics.csv", index=False)
    published_checks(check.extra).to_csv(directory / "published_checks.csv", index=False)
    if not check.sensitivity.empty:
        check.sensitivity.to_csv(directory / "capacity_sensitivity.csv", index=False)


@dataclass
class CalibrationOutputs:
    """Where a calibration writes: the scenario TOML, its Markdown report, the report tables, the figure."""

    scenario: ResultFile
    report: ResultFile
    fitted: ResultFile  # the fitted values and their 95 % intervals, for the ensemble (sim.runs.ensemble)
    covariance: ResultFile  # the covariance of the fitted log values, named by key
    results: ResultDirectory
    figure: FilesInto

    def check(self) -> None:
        """Refuse bad or foreign destinations before any simulation runs."""
        for output in (self.scenario, self.report, self.fitted, self.covariance, self.results, self.figure):
            output.check()


SIGNATURE = "python -m sim calibrate"  # in the first lines of every scenario and report a calibration writes


def fitted_csv(intervals: pd.DataFrame, cycle: str, seed: int) -> str:
    """The fitted values and 95 % intervals as CSV, under a comment line naming this command."""
    return (f"# {SIGNATURE} --cycle {cycle} (seed {seed}): fitted values, 95 % intervals (Gauss-Newton)\n"
            + intervals.to_csv(index=False, lineterminator="\n"))


def covariance_csv(covariance: pd.DataFrame, cycle: str, seed: int) -> str:
    """The covariance of the fitted log values as CSV (rows and columns named by key), under a
    comment line naming this command."""
    return (f"# {SIGNATURE} --cycle {cycle} (seed {seed}): covariance of the fitted parameters' natural logs "
            "(Gauss-Newton sandwich, shrinkage penalty rows included)\n"
            + covariance.to_csv(index_label="key", lineterminator="\n"))


def written_by_calibrate(path: Path) -> bool:
    """Is ``path`` a scenario or report this command wrote (its first lines name the command)?"""
    try:
        with open(path, encoding="utf-8") as file:
            head = "".join(file.readline() for _ in range(4))
    except (OSError, UnicodeDecodeError):
        return False
    return SIGNATURE in head


def calibration_outputs(out: str | Path, results: str | Path, figures: str | Path, cycle: str,
                        force: bool = False) -> CalibrationOutputs:
    """The destinations of a calibration of ``cycle``; ``force`` lets them replace files not written here."""
    out = Path(out)
    return CalibrationOutputs(
        scenario=ResultFile(out, written_by_calibrate, force, option="--out"),
        report=ResultFile(out.with_suffix(".md"), written_by_calibrate, force, option="--out (its .md report)"),
        fitted=ResultFile(out.with_name(f"{out.stem}_fitted.csv"), written_by_calibrate, force,
                          option="--out (its _fitted.csv intervals)"),
        covariance=ResultFile(out.with_name(f"{out.stem}_covariance.csv"), written_by_calibrate, force,
                              option="--out (its _covariance.csv)"),
        results=ResultDirectory(Path(results), "targets.csv", force, option="--results"),
        figure=figure_output(Path(figures), f"calibration_{cycle}", force),
    )

"""Fitting the hidden parameters by simulation (method of simulated quantiles).

The hidden parameters (review capacity, per-area latent defects and their factors for bug fixes
and blueprint changes, author delays and stalls, attention heterogeneity and its decay as a
patch set waits) are chosen so that the
simulated per-area quantiles of time to merge, revision phase and final phase, and the per-kind
quantiles of time to merge, match the observed ones. The residual of target *i* is

    r_i = (log(1 + simulated_i) - log(1 + observed_i)) / s_i,

with ``s_i`` the target's own noise: the bootstrap sd of the observed log quantile combined with
the simulation's sd of the mean over the replications (measured once, at the start). Every
evaluation runs the same replications (common random numbers), so the objective changes only
through the parameters and the event order they cause. ``scipy.optimize.least_squares``
(trust-region reflective, bounds in log space, forward differences with a 10 % step in every
parameter to see past the objective's small-scale steps) minimises the sum of squares in stages, as the feasibility study advises:
first the shared parameters on the all-area and per-kind targets, then the per-area defects on the
per-area targets, then all together. Between stages the arrival rates are raised so that the changes that
merge match the data (the data hold merged changes only; simulated authors abandon some).

Uncertainty: the Gauss-Newton sandwich covariance of the log parameters at the optimum (the
targets' correlation across replications inside), scaled by the reduced chi-square when above 1
(the model's misfit), gives each fitted value a 95 % interval; parameters the targets do not pin
down show intervals spanning their bounds. Common random numbers fix the draws, but a parameter
change reorders events, so at small scales the objective moves in steps: derivatives are taken
over 10 % steps, never machine-epsilon ones. A recovery test fits data the model generated and
finds the known parameters inside their intervals.

The simulated quantities are those of the one metric engine, :mod:`sim.runs.metrics`
(:func:`calibration_metrics` composes its functions), and the replications run through the one
runner, :func:`sim.runs.runner.run_tasks`, with :func:`calibration_measure` as the measure.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from sim.model.records import Records
from sim.progress import Progress
from sim.runs.metrics import (
    ALL,
    KIND_AREAS,
    abandoned_fraction,
    abandoned_in_window,
    changes_frame,
    core_reviews_per_core_per_day,
    kind_area,
    merged_history_metrics,
    merged_in_window,
    per_week,
    phase_days,
    phase_quantiles,
    weekly_merge_counts,
)
from sim.runs.runner import StudyMeasure, Task, TaskCache, run_tasks
from sim.scenario import Scenario, validate_scenario
from sim.simulate import simulate

GAUSS_95 = 1.959963984540054
DIFF_STEP = 0.1  # in log parameters: a 10 % change, wide enough to see through piecewise-constant quantiles
DEFECTS_BOUNDS = (0.02, 40.0)  # areas.<a>.defects_mean
ATTENTION_BOUNDS = (0.02, 50.0)  # areas.<a>.attention (relative to the reference area's 1)
RESPONSE_BOUNDS = (0.05, 20.0)  # areas.<a>.response_factor (relative to authors.response_median_days)
# Attention and author response are relative weights: their pooled value is fixed (the reference,
# the shared parameter carries the level), and every area is fitted.
RELATIVE_POOLED = {"attention": 1.0, "response_factor": 1.0}
SHRINKAGE_STRENGTHS: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)  # lambda grid of the cross-validation
MAX_ABANDONED = 0.95  # a trial point where nearly everything is abandoned must not ask for infinite arrivals
ROBUST_SCALE = 2.0  # residuals beyond 2 noise sds weigh less (soft L1): a target the model cannot reach does not dominate


def robust_cost(r: np.ndarray) -> float:
    """The soft-L1 cost least_squares minimises, sum of 2 c^2 (sqrt(1 + (r/c)^2) - 1) / 2."""
    c = ROBUST_SCALE
    return float(np.sum(c * c * (np.sqrt(1.0 + (r / c) ** 2) - 1.0)))


def forward_jacobian(fun: Callable[[np.ndarray], np.ndarray], x: np.ndarray, r: np.ndarray,
                     upper: np.ndarray) -> np.ndarray:
    """Jacobian of ``fun`` at ``x`` (where it is ``r``) by forward differences of ``DIFF_STEP`` in
    every log parameter, backwards where a step would cross the ``upper`` bound.

    The step is absolute in log space, so every parameter moves by the same 10 %: a step
    relative to x itself (scipy's ``diff_step``) would be tiny for a parameter whose log is near 0
    (a value near 1), and a machine-epsilon step sees only the objective's small-scale steps.
    """
    jac = np.empty((len(r), len(x)))
    for j in range(len(x)):
        h = DIFF_STEP if x[j] + DIFF_STEP <= upper[j] else -DIFF_STEP
        step = np.zeros(len(x))
        step[j] = h
        jac[:, j] = (fun(x + step) - r) / h
    return jac


class _BudgetSpent(Exception):
    """A stage used its evaluation budget."""


@dataclass(frozen=True)
class Free:
    """A fitted parameter: a dotted scenario key, searched in log space between bounds."""

    key: str
    lower: float
    upper: float
    area: str = ALL  # the targets it mostly moves (per-area parameters: their area)


def shared_parameters() -> list[Free]:
    """The parameters every area shares.

    Not fitted: ``review.engaged_priority`` (engagement, issue 14). Two cold fits with it free
    drove it to its lower bound (0.012-0.013 of picks, bound 0.01, 95 % interval reaching the
    bound): Juno's targets do not ask for it, so it stays an assumption (default 0), varied by the
    parameter ensemble.
    """
    return [
        Free("review.reviews_per_core_per_day", 0.8, 8.0),
        Free("authors.response_median_days", 0.1, 10.0),
        Free("review.attractiveness_sigma", 0.2, 3.0),
        Free("authors.stall_prob", 0.005, 0.4),
        Free("authors.stall_mean_days", 5.0, 200.0),
        Free("review.defects_cv", 0.1, 5.0),
        Free("review.non_expert_weight", 0.02, 1.0),
        Free("review.attention_halflife_days", 2.0, 2000.0),
        Free("review.bug_defects_factor", 0.1, 10.0),
        Free("review.blueprint_defects_factor", 0.1, 10.0),
    ]


def area_parameters(areas: Sequence[str], identified: bool = True) -> list[Free]:
    """Per area: latent defects (how many review rounds its changes need) and, ``identified``,
    three readings of a slow area side by side: its defects, cores' attention to its new changes,
    and how long its authors take to answer a review (the last two relative to their pooled value,
    :data:`RELATIVE_POOLED`, see :class:`Shrinkage`)."""
    return [*(Free(f"areas.{a}.defects_mean", *DEFECTS_BOUNDS, area=a) for a in areas),
            *(Free(f"areas.{a}.attention", *ATTENTION_BOUNDS, area=a) for a in areas if identified),
            *(Free(f"areas.{a}.response_factor", *RESPONSE_BOUNDS, area=a) for a in areas if identified)]


def per_area_group(key: str) -> str | None:
    """The per-area quantity a dotted key sets (``defects_mean``, ``attention``, ``response_factor``),
    None for shared keys."""
    parts = key.split(".")
    return parts[2] if len(parts) == 3 and parts[0] == "areas" else None


@dataclass(frozen=True)
class Shrinkage:
    """A Gaussian hierarchical prior on the per-area parameters, in log space.

    For each per-area quantity (defects_mean, attention, response_factor) the pooled value is the geometric mean
    of the areas' values weighted by their ``weights`` (merged changes); each fitted area adds the
    residual row sqrt(strength) x (log theta_a - log theta_pooled) to the least-squares problem,
    i.e. a normal prior on log theta_a around the pooled value with sd 1 / sqrt(strength).
    ``fixed``: per-area values that are not fitted but enter the pooled value. ``anchors``: a
    quantity whose pooled value is fixed instead (attention: 1, the reference that makes a
    relative weight identified).
    """

    strength: float
    weights: dict[str, float]
    fixed: dict[str, float] = field(default_factory=dict)
    anchors: dict[str, float] = field(default_factory=dict)

    def rows(self, values: dict[str, float], params: Sequence[Free]) -> np.ndarray:
        """The penalty rows of the per-area ``params`` given every per-area value in ``values``."""
        if self.strength <= 0.0:
            return np.zeros(0)
        pooled: dict[str, float] = {}
        for group in {g for p in params if (g := per_area_group(p.key)) is not None}:
            logs = [(self.weights.get(key.split(".")[1], 0.0), math.log(v))
                    for key, v in {**self.fixed, **values}.items() if per_area_group(key) == group]
            total = sum(w for w, _ in logs)
            pooled[group] = sum(w * x for w, x in logs) / total if total > 0 else 0.0
            if group in self.anchors:
                pooled[group] = math.log(self.anchors[group])
        root = math.sqrt(self.strength)
        return np.array([root * (math.log(values[p.key]) - pooled[g]) for p in params
                         if (g := per_area_group(p.key)) is not None])


def gaussian_rows(r: np.ndarray) -> np.ndarray:
    """Rows ``r`` rewritten so that their soft-L1 cost (:func:`robust_cost`) is the plain
    least-squares cost sum r^2 / 2: the prior stays Gaussian under the robust loss the data rows
    go through."""
    c = ROBUST_SCALE
    return np.sign(r) * c * np.sqrt((1.0 + r * r / (2.0 * c * c)) ** 2 - 1.0)


def fact_targets(identified: bool = True) -> pd.DataFrame:
    """Published numbers the fit must also respect (rows in the format of ``observe.targets``).

    The share of closed changes that were abandoned: the data hold merged changes only, so
    nothing in them limits how many authors give up (stalls longer than patience). Facts §1.5:
    OpenStack-wide about 80 % of new changesets close as merged or abandoned each quarter and
    about 20 % stay open; no Nova-specific share was found. Read as 0.15 with a 90 % interval
    of 0.05 to 0.30.

    Median days until approved (facts §1.3, J. Gordon 2014-10-08, last 800 nova changes): 11 for
    all changes, 18 for patches touching nova/virt/ (simulated: the driver areas). They tell
    attention from quality: the first review's wait is part of the time to approval, the rounds
    a change needs are part of both it and the revision phase. Read with 90 % intervals of
    +-15 % (all) and +-25 % (virt, a fraction of the 800; assumption: no interval was published).
    Without ``identified`` (the fit of defects alone) only the abandoned share.
    """
    rows = [(ALL, "fact", math.nan, "abandoned_fraction", 0, 0.15, 0.05, 0.30),
            (ALL, "fact", math.nan, "time_to_approval_median_days", 800, 11.0, 11.0 * 0.85, 11.0 * 1.15),
            (ALL, "fact", math.nan, "virt_time_to_approval_median_days", 0, 18.0, 18.0 * 0.75, 18.0 * 1.25)]
    rows = rows if identified else rows[:1]
    frame = pd.DataFrame(rows, columns=["area", "phase", "q", "metric", "n", "observed", "low", "high"])
    frame["log_sd"] = (np.log1p(frame["high"]) - np.log1p(frame["low"])) / (2 * 1.6448536269514722)
    return frame


# ---------------------------------------------------------------------------- simulation side


def simulated_metrics(scenario: Scenario, replication: int, seed: int) -> pd.DataFrame:
    """One replication's calibration metrics (:func:`calibration_metrics`)."""
    return calibration_metrics(simulate(scenario, replication, seed))


def calibration_metrics(records: Records, changes: pd.DataFrame | None = None) -> pd.DataFrame:
    """The calibration metrics of one replication's records: columns area, metric, value
    (``changes``: their change rows, :func:`~sim.runs.metrics.changes_frame`, when already built).

    All from :mod:`sim.runs.metrics`, over the changes merged inside the measurement window: per
    area (in order of first merge) and for ``all``, the median, p75 and p90 of time to merge,
    revision phase and final phase (days), ``merged_per_week`` and ``abandoned_fraction`` (NaN
    where nothing closed); per kind of change (``kind:<kind>``) the time-to-merge quantiles; for
    ``all`` the quantities set beside published numbers (rechecks per patch set, patch sets, time
    to approval, core reviews per core per day) and ``weekly_merges_<w>`` for each week w.
    """
    if changes is None:
        changes = changes_frame(records)
    window = records.window
    merged = merged_in_window(changes, window)
    abandoned = abandoned_in_window(changes, window)
    rows: list[tuple[str, str, float]] = []
    for area, sub in [*merged.groupby("area", sort=False), (ALL, merged)]:
        n_abandoned = len(abandoned) if area == ALL else int((abandoned["area"] == area).sum())
        rows += [(area, metric, value) for metric, value in phase_quantiles(sub).items()]
        rows.append((area, "merged_per_week", per_week(len(sub), window)))
        rows.append((area, "abandoned_fraction", abandoned_fraction(len(sub), n_abandoned)))
    for kind, sub in merged.groupby("kind", sort=False):
        rows += [(kind_area(kind), metric, value) for metric, value in phase_quantiles(sub, ["time_to_merge"]).items()]
    rows += [(ALL, metric, value) for metric, value in merged_history_metrics(merged, records.driver_areas).items()]
    rows.append((ALL, "core_reviews_per_core_per_day", core_reviews_per_core_per_day(records)))
    rows += [(ALL, f"weekly_merges_{w}", float(c)) for w, c in enumerate(weekly_merge_counts(merged, window))]
    return pd.DataFrame(rows, columns=["area", "metric", "value"])


def calibration_measure(records: Records, with_times: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The runner's measure (:func:`sim.runs.runner.run_tasks`) for the calibration: the
    :func:`calibration_metrics` with a ``replication`` column and, ``with_times``, the time to
    merge of each change merged in the window (columns area, time_to_merge_days)."""
    changes = changes_frame(records)
    times = None
    if with_times:
        merged = merged_in_window(changes, records.window)
        times = pd.DataFrame({"area": merged["area"], "time_to_merge_days": phase_days(merged, "time_to_merge")})
    return calibration_metrics(records, changes).assign(replication=records.replication), times


def _encode_calibration(result: tuple[pd.DataFrame, pd.DataFrame | None]) -> dict[str, pd.DataFrame]:
    metrics, times = result
    return {"metrics": metrics} if times is None else {"metrics": metrics, "times": times}


def _decode_calibration(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    return tables["metrics"], tables.get("times")


# The calibration's measures as the study cache stores them (a killed fit re-run reads back what it ran).
CALIBRATION_MEASURES: dict[bool, StudyMeasure[tuple[pd.DataFrame, pd.DataFrame | None]]] = {
    with_times: StudyMeasure("calibration+times" if with_times else "calibration",
                             functools.partial(calibration_measure, with_times=with_times),
                             _encode_calibration, _decode_calibration)
    for with_times in (False, True)
}


def simulate_many(scenario: Scenario, replications: Sequence[int], seed: int,
                  executor: Executor | None = None, cache: TaskCache | None = None) -> pd.DataFrame:
    """Calibration metrics of several replications: columns area, metric, value, replication."""
    return simulate_with_times(scenario, replications, seed, executor, with_times=False, cache=cache)[0]


def simulate_with_times(scenario: Scenario, replications: Sequence[int], seed: int, executor: Executor | None = None,
                        *, with_times: bool = True,
                        cache: TaskCache | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Calibration metrics of several replications and, pooled, the time to merge of every change
    merged in their windows (columns area, time_to_merge_days), through the one runner
    (``executor`` None: in this process; ``cache``: the study runner's task cache)."""
    tasks = [Task(scenario, r, seed) for r in replications]
    results = list(run_tasks(CALIBRATION_MEASURES[with_times], tasks, executor=executor, count=len(tasks),
                             cache=cache))
    per_rep = pd.concat([m for m, _ in results], ignore_index=True)
    times = pd.concat([t for _, t in results], ignore_index=True) if with_times else None
    return per_rep, times


def summarize_runs(per_rep: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over replications per (area, metric); columns mean, sd, n (replications where
    the metric is defined: undefined values, NaN, are skipped)."""
    grouped = per_rep.groupby(["area", "metric"])["value"]
    return pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1), "n": grouped.count()})


def abandonment_adjusted_rates(summary: pd.DataFrame, observed_rates: dict[str, float]) -> dict[str, float]:
    """Arrival rate per area (dotted keys) = observed rate of merged work / (1 - simulated abandoned share).

    The data hold merged changes only: changes whose authors gave up arrived too. An area whose
    abandoned share is not simulated or undefined (NaN: nothing closed in any replication) keeps
    its observed rate.
    """
    values = {}
    for area, observed in observed_rates.items():
        share = summary["mean"].get((area, "abandoned_fraction"), 0.0)
        abandoned = min(MAX_ABANDONED, share if np.isfinite(share) else 0.0)
        values[f"areas.{area}.rate_per_day"] = round(observed / (1.0 - abandoned), 5)
    return values


# ---------------------------------------------------------------------------- the fit


def set_values(raw: dict[str, Any], values: dict[str, float]) -> dict[str, Any]:
    """A copy of the scenario tables ``raw`` with each dotted key of ``values`` set."""
    out = copy.deepcopy(raw)
    for key, value in values.items():
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = float(value)
    return out


def with_values(raw: dict[str, Any], values: dict[str, float], origin: str) -> Scenario:
    """The scenario ``raw`` with dotted ``values`` set, validated."""
    return validate_scenario(set_values(raw, values), origin)


@dataclass
class FitStage:
    name: str
    params: list[Free]
    areas: Sequence[str]  # targets of these areas enter the residuals
    max_evaluations: int


@dataclass(frozen=True)
class StrengthSelection:
    """Choosing the shrinkage strength by held-out fit (:meth:`Calibrator.cross_validate`).

    ``folds``: (training targets, held-out targets) pairs, e.g. the two halves of a cycle's
    changes each way round; ``strengths``: the lambda grid; ``max_evaluations``: budget of the
    refit of the per-area parameters with the chosen strength (shared parameters fixed).
    """

    folds: Sequence[tuple[pd.DataFrame, pd.DataFrame]]
    strengths: Sequence[float]
    max_evaluations: int


@dataclass
class FitResult:
    """Fitted values, their intervals, and the history of the fit."""

    values: dict[str, float]
    intervals: pd.DataFrame  # key, value, low, high, identified
    raw: dict[str, Any]  # the scenario tables with the fitted values
    evaluations: int
    cost: float
    stages: list[dict[str, Any]] = field(default_factory=list)
    covariance: pd.DataFrame = field(default_factory=pd.DataFrame)  # of the log parameters, named by key
    cross_validation: pd.DataFrame = field(default_factory=pd.DataFrame)  # strength, fold, costs
    strength: float = 0.0  # the shrinkage strength of the result (0: none)


class Calibrator:
    """Runs the staged fit of ``raw`` (scenario tables) against ``targets`` (see observe.targets)."""

    def __init__(self, raw: dict[str, Any], targets: pd.DataFrame, observed_rates: dict[str, float], *,
                 replications: Sequence[int], seed: int, executor: Executor | None = None,
                 origin: str = "<calibration>", log: Callable[[str], None] = print,
                 cache: TaskCache | None = None, shrinkage: Shrinkage | None = None) -> None:
        self.raw = raw
        self.targets = targets.reset_index(drop=True)
        self.observed_rates = observed_rates
        self.replications = list(replications)
        self.seed = seed
        self.executor = executor
        self.cache = cache
        self.origin = origin
        self.log = log
        self.values: dict[str, float] = {}
        self.evaluations = 0
        self.progress: Progress | None = None  # the running stage's evaluation count (log lines, ETA)
        self.shrinkage = shrinkage
        self.pooled: list[Free] = []
        self.covariance = pd.DataFrame()  # every per-area parameter (the pooled values of the shrinkage)
        self.scale = self._noise_scale()

    # -------------------------------------------------------------- evaluation

    def scenario(self, values: dict[str, float] | None = None) -> Scenario:
        return with_values(self.raw, {**self.values, **(values or {})}, self.origin)

    def simulate(self, values: dict[str, float] | None = None) -> pd.DataFrame:
        self.evaluations += 1
        summary = summarize_runs(simulate_many(self.scenario(values), self.replications, self.seed, self.executor,
                                               self.cache))
        if self.progress is not None:
            self.progress.update()
        return summary

    def _noise_scale(self) -> np.ndarray:
        """s_i: observed bootstrap sd and the simulation's sd of the mean, in log(1 + x) (at the start)."""
        per_rep = simulate_many(self.scenario(), self.replications, self.seed, self.executor, self.cache)
        per_rep = per_rep.assign(value=np.log1p(per_rep["value"]))
        sim_sd = per_rep.groupby(["area", "metric"])["value"].std(ddof=1) / math.sqrt(len(self.replications))
        keys = list(zip(self.targets["area"], self.targets["metric"]))
        self.sim_sd = sim_sd
        sim = np.array([sim_sd.get(k, 0.0) for k in keys])
        # Quantiles of one cycle move together (a slow cycle is slow in every area and phase):
        # their correlation across replications enters the parameters' covariance.
        table = per_rep.pivot_table(index="replication", columns=["area", "metric"], values="value")
        values = np.column_stack([table[k].to_numpy() if k in table else np.zeros(len(table)) for k in keys])
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = np.nan_to_num(np.corrcoef(values, rowvar=False)) if len(table) > 2 else np.eye(len(keys))
        np.fill_diagonal(correlation, 1.0)
        self.correlation = correlation
        return np.sqrt(self.targets["log_sd"].to_numpy() ** 2 + np.nan_to_num(sim) ** 2)

    def retarget(self, targets: pd.DataFrame, shrinkage: Shrinkage | None) -> Calibrator:
        """A copy fitting other ``targets`` (same scenario, values, replications and simulation
        noise; independent targets: no correlation) with another ``shrinkage``."""
        other = copy.copy(self)
        other.targets = targets.reset_index(drop=True)
        other.values = dict(self.values)
        other.shrinkage = shrinkage
        sim = np.array([self.sim_sd.get(k, 0.0) for k in zip(other.targets["area"], other.targets["metric"])])
        other.scale = np.sqrt(other.targets["log_sd"].to_numpy() ** 2 + np.nan_to_num(sim) ** 2)
        other.correlation = np.eye(len(other.targets))
        return other

    def residuals(self, summary: pd.DataFrame, areas: Sequence[str] | None = None) -> np.ndarray:
        """Standardised residuals of the targets (all, or those of ``areas``).

        A target whose simulated mean is missing or undefined (NaN: e.g. an area that merged
        nothing, or nothing closed for ``abandoned_fraction``) counts as 10 noise sds off.
        """
        keys = list(zip(self.targets["area"], self.targets["metric"]))
        simulated = np.array([summary["mean"].get(k, np.nan) for k in keys])
        r = (np.log1p(simulated) - np.log1p(self.targets["observed"].to_numpy())) / self.scale
        r = np.where(np.isfinite(r), r, 10.0)  # an area that merged nothing is far off
        if areas is None:
            return r
        return r[self.targets["area"].isin(list(areas)).to_numpy()]

    # -------------------------------------------------------------- stages

    def match_arrivals(self) -> None:
        """Raise each area's arrival rate so that its simulated merges match the observed rate."""
        self.values.update(abandonment_adjusted_rates(self.simulate(), self.observed_rates))

    def run_stage(self, stage: FitStage) -> dict[str, Any]:
        """Minimise the stage's residuals over its parameters within its evaluation budget."""
        params = stage.params
        lower = np.array([math.log(p.lower) for p in params])
        upper = np.array([math.log(p.upper) for p in params])
        x0 = np.clip([math.log(self._current(p)) for p in params], lower + 1e-9, upper - 1e-9)
        start = self.evaluations
        best: list[Any] = [math.inf, x0]

        last: list[Any] = [None, None]  # the last point evaluated and its residuals

        def fun(x: np.ndarray) -> np.ndarray:
            if self.evaluations - start >= stage.max_evaluations:
                raise _BudgetSpent
            r = self._stage_residuals(params, x, stage.areas)
            cost = robust_cost(r)
            if cost < best[0]:
                best[:] = [cost, np.array(x)]
            last[:] = [np.array(x), r]
            return r

        def jac(x: np.ndarray) -> np.ndarray:
            r = last[1] if last[0] is not None and np.array_equal(last[0], x) else fun(x)
            return forward_jacobian(fun, x, r, upper)

        try:
            with self._counting(stage.max_evaluations, stage.name):
                message = least_squares(fun, x0, jac=jac, bounds=(lower, upper), method="trf",
                                        loss="soft_l1", f_scale=ROBUST_SCALE).message
        except _BudgetSpent:
            message = "evaluation budget spent"
        self.values.update({p.key: float(math.exp(v)) for p, v in zip(params, best[1])})
        info = {"stage": stage.name, "evaluations": self.evaluations - start, "cost": best[0], "status": message}
        self.log(f"  stage {stage.name}: cost {best[0]:.1f}, {info['evaluations']} evaluations ({message})")
        return info

    @contextmanager
    def _counting(self, evaluations: int, stage: str) -> Iterator[None]:
        """Progress of a stage: a log line every half minute with evaluations done, of at most
        ``evaluations``, and the time left (:class:`sim.progress.Progress`)."""
        with Progress(evaluations, f"fit {stage}", "evaluations") as bar:
            self.progress = bar
            try:
                yield
            finally:
                self.progress = None

    def match_rounds(self, params: Sequence[Free], iterations: int) -> dict[str, Any]:
        """Per-area latent defects (and, when ``params`` has them, attention and author response)
        by moment matching: move each area towards the ratio of observed to simulated
        revision-phase p75 (in 1 + days), a few times.

        The revision phase is where areas differ (study §1), and its p75 grows with the rounds a
        change needs and with its authors' delay and falls with the cores' attention, so the map is
        monotone and the iteration settles quickly; it gives the joint least-squares stage a start
        near the optimum. With k per-area quantities the ratio is split equally in log space (each
        moves by ratio^(1/k), attention by its inverse): the split the shrinkage prior, which
        penalises every log deviation alike, prefers when no target tells them apart. Moving defects
        alone started the joint stage in the basin where a slow, small area (Hyper-V) is all
        defects, at their bound, and the joint stage did not leave it.
        """
        metric = "revision_phase_p75_days"
        observed = self.targets[self.targets["metric"] == metric].set_index("area")["observed"]
        readings = Counter(p.area for p in params)
        start = self.evaluations
        with self._counting(iterations, "rounds"):
            for _ in range(iterations):
                summary = self.simulate()
                for p in params:
                    simulated = summary["mean"].get((p.area, metric), np.nan)
                    if p.area not in observed.index or not np.isfinite(simulated):
                        continue
                    ratio = (1.0 + observed[p.area]) / (1.0 + simulated)
                    power = (-1.0 if per_area_group(p.key) == "attention" else 1.0) / readings[p.area]
                    self.values[p.key] = float(np.clip(self._current(p) * ratio**power, p.lower, p.upper))
        cost = robust_cost(self.residuals(self.simulate()))
        self.log(f"  stage rounds: cost {cost:.1f}, {self.evaluations - start} evaluations")
        return {"stage": "rounds", "evaluations": self.evaluations - start, "cost": cost, "status": "moment matching"}

    def _stage_residuals(self, params: Sequence[Free], x: np.ndarray, areas: Sequence[str] | None,
                         gaussian: bool = True) -> np.ndarray:
        """The targets' residuals (of ``areas``) at log values ``x`` of ``params``, then the
        shrinkage's penalty rows of the per-area ones (``gaussian``: rewritten for the robust
        loss, :func:`gaussian_rows`; otherwise as they are, for the Gauss-Newton covariance)."""
        values = {p.key: float(math.exp(v)) for p, v in zip(params, x)}
        r = self.residuals(self.simulate(values), areas)
        penalty = self.penalty_rows(params, values)
        return np.concatenate([r, gaussian_rows(penalty) if gaussian else penalty])

    def penalty_rows(self, params: Sequence[Free], values: dict[str, float]) -> np.ndarray:
        """The shrinkage's rows for the per-area ``params`` at ``values`` (others: current values)."""
        if self.shrinkage is None or not any(per_area_group(p.key) for p in params):
            return np.zeros(0)
        dumped: Any = self.scenario().model_dump()
        current = {}
        for p in self.pooled:
            node = dumped
            for part in p.key.split("."):
                node = node[part]
            current[p.key] = float(node)
        return self.shrinkage.rows({**current, **values}, params)

    def _current(self, p: Free) -> float:
        if p.key in self.values:
            return self.values[p.key]
        node: Any = self.scenario().model_dump()
        for part in p.key.split("."):
            node = node[part]
        return float(node)

    def intervals(self, params: Sequence[Free]) -> pd.DataFrame:
        """95 % intervals of ``params`` from the Gauss-Newton covariance at the current values.

        The Jacobian of the standardised residuals in log parameters is taken by forward
        differences (one evaluation per parameter). The targets are not independent, so the
        sandwich form (J'J)^-1 J' C J (J'J)^-1 with C their correlation across replications is
        used, scaled by the reduced chi-square when above 1. They cover only the noise of the
        targets and of the replications, not the model's structural error.
        """
        x = np.array([math.log(self.values[p.key]) for p in params])

        def fun(y: np.ndarray) -> np.ndarray:
            return self._stage_residuals(params, y, None, gaussian=False)

        r = fun(x)
        jac = forward_jacobian(fun, x, r, np.array([math.log(p.upper) for p in params]))
        n_data = len(self.targets)
        dof = max(1, n_data - len(params))
        chi2 = float(r[:n_data] @ r[:n_data]) / dof
        # the penalty rows (the prior) are independent of the targets and of each other
        correlation = np.eye(len(r))
        correlation[:n_data, :n_data] = self.correlation
        bread = np.linalg.pinv(jac.T @ jac)
        cov = bread @ jac.T @ correlation @ jac @ bread * max(1.0, chi2)
        keys = [p.key for p in params]
        self.covariance = pd.DataFrame(cov, index=keys, columns=keys)
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        rows = []
        for p, s in zip(params, sd):
            value = self.values[p.key]
            low, high = value * math.exp(-GAUSS_95 * s), value * math.exp(GAUSS_95 * s)
            identified = low > p.lower and high < p.upper
            rows.append((p.key, value, max(low, p.lower), min(high, p.upper), identified))
        return pd.DataFrame(rows, columns=["key", "value", "low", "high", "identified"])

    def metric_jacobian(self, params: Sequence[Free]) -> tuple[pd.Series, pd.DataFrame]:
        """log(1 + simulated mean) of every (area, metric) at the current values, and its forward
        differences (:data:`DIFF_STEP`) in each log parameter of ``params`` (one evaluation each)."""
        base = np.log1p(self.simulate()["mean"])
        slopes = {}
        for p in params:
            x = math.log(self._current(p))
            h = DIFF_STEP if x + DIFF_STEP <= math.log(p.upper) else -DIFF_STEP
            moved = np.log1p(self.simulate({p.key: math.exp(x + h)})["mean"]).reindex(base.index)
            slopes[p.key] = (moved - base) / h
        return base, pd.DataFrame(slopes)

    def cross_validate(self, params: Sequence[Free], areas: Sequence[str],
                       selection: StrengthSelection) -> pd.DataFrame:
        """Held-out error of each shrinkage strength, on the model linearised at the current values.

        The simulated log quantiles are linearised in the per-area ``params`` (one Jacobian,
        :meth:`metric_jacobian`, everything else fixed); for every fold and strength the
        linearised model is fitted to the training targets of ``areas`` with that strength's
        penalty rows (same robust loss and bounds as the fit) and scored on the held-out targets
        of ``areas``: their mean squared standardised residual, no penalty rows. One Gauss-Newton
        refit per fold instead of a simulated one: the per-area values move little from the full
        fit's, and a simulated refit per fold and strength would cost ~20 evaluations each.

        Columns: strength, fold, train_cost (robust cost incl. penalty), heldout_mse, and the
        number of held-out targets and the sd of their squared residuals (for the standard error
        of :func:`choose_strength`).
        """
        base, slopes = self.metric_jacobian(params)
        x0 = np.array([math.log(self._current(p)) for p in params])
        lower = np.array([math.log(p.lower) for p in params])
        upper = np.array([math.log(p.upper) for p in params])
        current = {p.key: self._current(p) for p in self.pooled}

        def linear(targets: pd.DataFrame) -> Callable[[np.ndarray], np.ndarray]:
            held = self.retarget(targets, None)
            keep = held.targets["area"].isin(list(areas)).to_numpy()
            keys = list(zip(held.targets["area"][keep], held.targets["metric"][keep]))
            b = base.reindex(keys).to_numpy()
            d = slopes.reindex(keys).to_numpy()
            ok = np.isfinite(b) & np.isfinite(d).all(axis=1)
            obs = np.log1p(held.targets["observed"].to_numpy()[keep])
            scale = held.scale[keep]
            return lambda x: ((b + d @ (x - x0) - obs) / scale)[ok]

        rows = []
        for strength in selection.strengths:
            shrinkage = None if self.shrinkage is None else dataclasses.replace(self.shrinkage, strength=strength)
            for k, (train, test) in enumerate(selection.folds):
                train_r, test_r = linear(train), linear(test)

                def fun(x: np.ndarray) -> np.ndarray:
                    values = {**current, **{p.key: float(math.exp(v)) for p, v in zip(params, x)}}
                    penalty = shrinkage.rows(values, params) if shrinkage is not None else np.zeros(0)
                    return np.concatenate([train_r(x), gaussian_rows(penalty)])

                x = least_squares(fun, x0, bounds=(lower, upper), method="trf", loss="soft_l1",
                                  f_scale=ROBUST_SCALE).x
                squared = test_r(x) ** 2
                rows.append((strength, k + 1, robust_cost(fun(x)), float(np.mean(squared)), len(squared),
                             float(np.std(squared, ddof=1)) if len(squared) > 1 else 0.0))
                self.log(f"  cv: lambda {strength:g}, fold {k + 1}: held-out mean squared residual {rows[-1][3]:.3f}")
        return pd.DataFrame(rows, columns=["strength", "fold", "train_cost", "heldout_mse", "heldout_n",
                                           "heldout_sq_sd"])

    def fit(self, stages: Sequence[FitStage], selection: StrengthSelection | None = None) -> FitResult:
        """Run ``stages``; with ``selection`` (and a shrinkage), choose the shrinkage strength by
        held-out fit and refit the per-area parameters with it (stage ``shrunk``)."""
        params = list({p.key: p for stage in stages for p in stage.params}.values())
        self.pooled = [p for p in params if per_area_group(p.key) is not None]
        for p in params:  # a start outside the bounds starts at the nearest bound
            start = self._current(p)
            if not p.lower <= start <= p.upper:
                self.values[p.key] = min(max(start, p.lower), p.upper)
        self.match_arrivals()
        history = []
        for stage in stages:
            if stage.max_evaluations > 0 and stage.name == "rounds":
                history.append(self.match_rounds(stage.params, stage.max_evaluations))
            else:
                history.append(self.run_stage(stage))
            self.match_arrivals()
        cv = pd.DataFrame()
        if selection is not None and self.shrinkage is not None and self.pooled:
            areas = sorted({p.area for p in self.pooled})
            cv = self.cross_validate(self.pooled, areas, selection)
            best = choose_strength(cv)
            self.shrinkage = dataclasses.replace(self.shrinkage, strength=best)
            self.log(f"  shrinkage strength {best:g} (the strongest within one standard error of the least "
                     "held-out error)")
            history.append(self.run_stage(FitStage("shrunk", self.pooled, areas, selection.max_evaluations)))
            self.match_arrivals()
        intervals = self.intervals(params)
        final = self.residuals(self.simulate())
        raw = set_values(self.raw, self.values)
        strength = self.shrinkage.strength if self.shrinkage is not None else 0.0
        return FitResult(dict(self.values), intervals, raw, self.evaluations, 0.5 * float(final @ final), history,
                         self.covariance, cv, strength)


def heldout_errors(cv: pd.DataFrame) -> pd.DataFrame:
    """Per shrinkage strength: the mean squared held-out residual over every fold's held-out
    targets pooled, and its standard error (sd of the pooled squared residuals / sqrt(n))."""
    def pooled(group: pd.DataFrame) -> pd.Series:
        n = group["heldout_n"].to_numpy(dtype=float)
        mean = float(np.average(group["heldout_mse"], weights=n))
        within = (n - 1) * group["heldout_sq_sd"].to_numpy() ** 2
        between = n * (group["heldout_mse"].to_numpy() - mean) ** 2
        sd = math.sqrt(float(within.sum() + between.sum()) / max(1.0, n.sum() - 1))
        return pd.Series({"mean": mean, "se": sd / math.sqrt(n.sum())})

    return pd.DataFrame({s: pooled(g) for s, g in cv.groupby("strength")}).T.rename_axis("strength")


def choose_strength(cv: pd.DataFrame) -> float:
    """The one-standard-error rule (Hastie, Tibshirani & Friedman, *Elements of Statistical
    Learning*, 2nd ed., §7.10): the strongest shrinkage whose mean held-out error is within one
    standard error of the least one. When the held-out error is flat over the grid (the per-area
    targets are noisy), the least error alone picks a strength by noise; the rule picks the
    simplest model the held-out data cannot tell from the best."""
    errors = heldout_errors(cv)
    best = errors["mean"].idxmin()
    within = errors.index[errors["mean"] <= errors.loc[best, "mean"] + errors.loc[best, "se"]]
    return float(max(within))


def default_stages(areas: Sequence[str], budget: int, warm_start: bool = False,
                   identified: bool = True) -> list[FitStage]:
    """Shared parameters on the all-area targets; per-area rounds by moment matching; then everything.

    ``budget`` is the number of evaluations of the least-squares stages. ``warm_start``: the start
    values are a previous optimum, so only the joint stage runs, with the whole budget.
    ``identified``: attention and author response per area fitted too (issue 14).
    """
    shared, per_area = shared_parameters(), area_parameters(areas, identified)
    if warm_start:
        return [FitStage("joint", shared + per_area, [*areas, ALL, *KIND_AREAS], max(20, budget))]
    return [
        FitStage("shared", shared, [ALL, *KIND_AREAS], max(10, budget // 4)),
        FitStage("rounds", per_area, list(areas), 6),
        FitStage("joint", shared + per_area, [*areas, ALL, *KIND_AREAS], max(20, budget - budget // 4)),
    ]

"""The scenario schema: every model parameter with its unit, default, valid range and source.

A scenario is a TOML file in ``data/scenarios/`` validated against :class:`Scenario`; every field
is declared with :func:`param`, so the parameter table in ``MODEL.md`` (``python -m sim params``)
and the error messages come from the schema rather than being written twice. Time is in days
throughout; rates are per day; sizes are changed lines.

Source strings follow one convention: ``fact: <reference>`` (a published number, see
``../shared/research/facts.md``), ``data: <what was computed>`` (measured from Nova's merged-change
history, ``nova_changes.csv``), ``fitted: <how>`` (chosen by calibration), or ``assumption: <why>``.
References (full citations in ``MODEL.md``): facts §x.y = ``../shared/research/facts.md`` section
x.y; portrait = ``data-portrait.md``; study = ``calibration-study.md``; data = Nova's merged-change
history ``nova_changes.csv`` (shared project data).
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Iterable
from typing import Any, Final, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sim.scenario import staffing


def param(
    default: Any,
    *,
    unit: str,
    source: str,
    description: str,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A schema field with its unit, source and allowed range recorded for errors and docs."""
    return Field(
        default,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        description=description,
        json_schema_extra={"unit": unit, "source": source},
    )


def upper_bound(field_info: Any) -> float | None:
    """The field's inclusive upper bound (``le``), None if it has none."""
    for constraint in field_info.metadata:
        if getattr(constraint, "le", None) is not None:
            return constraint.le
    return None


def allowed_bounds(field_info: Any) -> tuple[float, float]:
    """The field's bounds as numbers (open ends as the bound itself; -inf/inf where unbounded)."""
    lower, upper = -math.inf, math.inf
    for constraint in field_info.metadata:
        for attr in ("ge", "gt"):
            if getattr(constraint, attr, None) is not None:
                lower = float(getattr(constraint, attr))
        for attr in ("le", "lt"):
            if getattr(constraint, attr, None) is not None:
                upper = float(getattr(constraint, attr))
    return lower, upper


def allowed_range(field_info: Any) -> str:
    """Human-readable allowed range of a pydantic field, e.g. ``0 <= x <= 1``; '' if unbounded."""
    lower = upper = ""
    for constraint in field_info.metadata:
        for attr, symbol in (("ge", "<="), ("gt", "<")):
            if getattr(constraint, attr, None) is not None:
                lower = f"{getattr(constraint, attr)} {symbol} "
        for attr, symbol in (("le", "<="), ("lt", "<")):
            if getattr(constraint, attr, None) is not None:
                upper = f" {symbol} {getattr(constraint, attr)}"
    if not lower and not upper:
        return ""
    return f"{lower}x{upper}"


KINDS: tuple[str, ...] = ("bug", "blueprint", "other")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the known name nearest ``name`` (difflib), or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _suggest(unknown: Iterable[str], known: Iterable[str]) -> str:
    """Did-you-mean hints for several unknown names at once ('' when none is close to a known one)."""
    known = list(known)
    hints = [(name, close[0]) for name in unknown if (close := difflib.get_close_matches(name, known, n=1))]
    if len(hints) == 1:
        return f"; did you mean {hints[0][1]!r}?"
    return "; did you mean " + ", ".join(f"{c!r} for {n!r}" for n, c in hints) + "?" if hints else ""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Info(_Section):
    """Identity of the scenario."""

    name: str = param("scenario", unit="-", source="-", description="Scenario name used in outputs")
    description: str = param("", unit="-", source="-", description="Free text")


class Run(_Section):
    """Length of one replication and default experiment size."""

    cycle_weeks: int = param(
        26, ge=4, le=104, unit="weeks", source="fact: Nova's six-month release cycle (data README)",
        description="Length of a release cycle",
    )
    cycles: int = param(
        1, ge=1, le=10, unit="cycles", source="assumption", description="Measured cycles per replication"
    )
    warmup_days: float = param(
        182.0, ge=0, le=2000, unit="days",
        source="assumption: one cycle; the model starts empty (no open-change snapshot in the data)",
        description="Simulated time discarded before measurement starts",
    )
    replications: int = param(
        10, ge=1, le=10_000, unit="replications", source="assumption", description="Default replications"
    )
    seed: int = param(
        20140904, ge=0, unit="-", source="assumption: date of the split thread",
        description="Default root seed of numpy.random.SeedSequence",
    )
    max_open_changes: int = param(
        10_000, ge=100, le=10_000_000, unit="changes",
        source="assumption: 20x the calibrated monolith's peak (about 500 open changes); a run past it diverges",
        description="A replication stops with an error (the system is unstable) when more changes than this are open",
    )
    max_events_per_day: float = param(
        50_000.0, gt=0, le=1e9, unit="engine events/simulated day",
        source="assumption: 100x the calibrated monolith's ~500 events per simulated day",
        description="A replication stops with an error when its engine events per simulated day exceed this "
                    "(checked every 256 arrivals, after the first simulated week)",
    )


class Arrivals(_Section):
    """Time profile of change arrivals over the release cycle."""

    weekly_profile: tuple[float, ...] | None = param(
        None, unit="multiplier", source="data: changes authored per cycle week / mean",
        description="Rate multiplier per cycle week for every kind (length cycle_weeks; None = flat)",
    )
    blueprint_weekly_profile: tuple[float, ...] | None = param(
        None, unit="multiplier", source="data: blueprint changes authored per cycle week / mean",
        description="Rate multiplier per cycle week for blueprint changes (overrides weekly_profile)",
    )

    blueprint_changes_per_feature: float = param(
        7.4, ge=1, le=100, unit="changes",
        source="data + fact §1.5: 364 Juno blueprint changes / 49 blueprints implemented",
        description="Mean changes per feature (blueprint series); a feature's changes arrive in its area one after another",
    )

    @field_validator("weekly_profile", "blueprint_weekly_profile")
    @classmethod
    def _non_negative(cls, v: tuple[float, ...] | None, info: ValidationInfo) -> tuple[float, ...] | None:
        v = _multipliers(v)
        if v is not None and not any(v):
            what = ("no blueprint change would ever arrive" if info.field_name == "blueprint_weekly_profile"
                    else "no change would ever arrive (blueprints neither, unless blueprint_weekly_profile is set)")
            raise ValueError(
                f"every week's multiplier is 0, so {what}; at least one week must be > 0 "
                "(to leave a kind of change out, give it a share of 0 in the areas' kind_mix)"
            )
        return v


MIN_CV: Final = 1e-6  # a smaller coefficient of variation is deterministic to a double's precision


def _coefficient_of_variation(v: float) -> float:
    """0 (deterministic) or at least :data:`MIN_CV`: below it the gamma's shape 1/cv^2 overflows."""
    if 0 < v < MIN_CV:
        raise ValueError(f"must be 0 (deterministic) or at least {MIN_CV:g}")
    return v


def _multipliers(v: tuple[float, ...] | None) -> tuple[float, ...] | None:
    if v is not None and (not v or min(v) < 0 or not all(math.isfinite(x) for x in v)):
        raise ValueError("must be a non-empty list of finite multipliers >= 0")
    return v


class Area(_Section):
    """One code area (a virt driver or a group of non-driver directories)."""

    driver: bool = param(False, unit="-", source="data README: nova/virt/<driver>/", description="Is a virt driver")
    data_areas: tuple[str, ...] = param(
        (), unit="-", source="data README areas", description="Data-file areas this model area covers (default: its name)"
    )
    rate_per_day: float = param(
        1.0, ge=0, le=1000, unit="changes/day", source="data: merged changes per day in the cycle",
        description="Mean arrival rate of new changes",
    )
    kind_mix: dict[str, float] = param(
        {"bug": 0.42, "blueprint": 0.21, "other": 0.37}, unit="share",
        source="data: kind column, juno", description="Share of bug / blueprint / other changes (sums to 1)",
    )
    size_log_mean: float = param(
        3.59, ge=-5, le=15, unit="log(lines)", source="portrait: log(lines changed) mean 3.59",
        description="Mean of log changed lines",
    )
    size_log_sd: float = param(
        1.67, ge=0, le=10, unit="log(lines)", source="portrait: sd 1.67", description="Sd of log changed lines"
    )
    interface_share: float = param(
        0.02, ge=0, le=1, unit="probability", source="data: touches_virt_api",
        description="Probability a change touches the virt driver interface",
    )
    driver_only_share: float = param(
        1.0, ge=0, le=1, unit="probability", source="data: areas column (driver changes touching only their driver)",
        description="Probability a change of a driver area touches no code outside its driver (ignored elsewhere)",
    )
    breakage_share: float = param(
        0.0, ge=0, le=1, unit="probability",
        source="data: areas column (nova changes outside the drivers, not touching the virt interface, that also "
               "edit this driver; sim.calibrate.observe.split_costs)",
        description="Probability a merged nova change breaks this driver once it is out of tree (split repos; "
                    "ignored elsewhere and in non-driver areas)",
    )
    attention: float = param(
        1.0, gt=0, le=100, unit="multiplier",
        source="fitted by `sim calibrate` (per area, shrunk toward the pooled value, fixed at 1 as the reference; "
               "issue 14); 1 = every area's new changes alike",
        description="Selection weight of the area's changes until their first core review (cores' attention to a "
                    "new change of this area, relative to other areas)",
    )
    response_factor: float = param(
        1.0, gt=0, le=100, unit="multiplier",
        source="fitted by `sim calibrate` (per area, shrunk toward the pooled value, fixed at 1 as the reference: "
               "`authors.response_median_days` is the pooled delay); 1 = every area's authors alike (issue 14)",
        description="Multiplier on the delay before the area's authors answer a review with a new patch set (their "
                    "response and stall times): a small team, or one waiting on its own CI, answers more slowly",
    )
    defects_mean: float = param(
        1.0, ge=0, le=50, unit="defects", source="fitted by `sim calibrate` (per area)",
        description="Mean latent defects of a median-size change (Poisson); drives review rounds",
    )
    expert_share: float = param(
        1.0, ge=0, le=1, unit="share of cores", source="assumption: few cores know each driver (facts §4 thread)",
        description="Share of the core team with expertise in this area",
    )

    @field_validator("kind_mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kind(s) {sorted(unknown)}; allowed {list(KINDS)}{_suggest(sorted(unknown), KINDS)}")
        if any(x < 0 for x in v.values()) or not math.isclose(sum(v.values()), 1.0, abs_tol=1e-6):
            raise ValueError("shares must be >= 0 and sum to 1")
        return {k: float(v.get(k, 0.0)) for k in KINDS}


class Review(_Section):
    """The core team and how its members choose and review changes."""

    cores: int = param(20, ge=0, le=1000, unit="reviewers", source="fact §1.1: 20 in Sept 2014", description="Core reviewers")
    reviews_per_core_per_day: float = param(
        2.7, gt=0, le=100, unit="reviews/day",
        source="fact §1.2: 2.5-3.5 inferred from reviewstats; study fitted 2.7",
        description="Review capacity of an active core (reviews of a median-size change per day)",
    )
    activity_sigma: float = param(
        0.0, ge=0, le=3, unit="log-activity",
        source="assumption (study §2: capacity is what active members do; Rigby et al.: review load is concentrated)",
        description="Lognormal sd of core members' activity (their mean over the reference roster is reviews_per_core_per_day)",
    )
    reference_cores: int | None = param(
        None, ge=1, le=1000, unit="reviewers",
        source="assumption: Nova removes members whose involvement dropped (wiki Nova/CoreTeam, study §2)",
        description="Roster the capacity was measured on (none = cores); a smaller roster keeps its most active members, a larger one adds members of median activity",
    )
    weekly_activity: tuple[float, ...] | None = param(
        None, unit="multiplier",
        source="data: merges per cycle week / mean (calibration; core activity follows throughput near saturation)",
        description="Multiplier of every core's review rate per cycle week (length cycle_weeks; mean 1 keeps "
                    "reviews_per_core_per_day the cycle average; None = flat)",
    )
    effort_cv: float = param(
        1.0, ge=0, le=10, unit="-", source="assumption: 1 = exponential review time",
        description="Coefficient of variation of one review's effort (gamma; 0 = deterministic, else at least 1e-6)",
    )
    size_effort_elasticity: float = param(
        0.0, ge=0, le=2, unit="-", source="assumption (Sadowski 2018: large changes take longer)",
        description="Effort scales as (size / median size) ** elasticity",
    )
    votes_required: int = param(2, ge=1, le=10, unit="+2 votes", source="fact §1.4: two +2 rule", description="+2 votes that approve")
    detect_prob: float = param(
        0.9, ge=0, le=1, unit="probability", source="assumption: confounded with defects_mean, which the calibration fits",
        description="Probability a core review of a patch set with defects finds one (-1)",
    )
    defects_cv: float = param(
        0.0, ge=0, le=10, unit="-",
        source="fitted (study §1: heterogeneity in review rounds; 20 % of Juno changes merge at their first patch set)",
        description="Coefficient of variation of a change's expected latent defects across changes (gamma-Poisson; 0 = Poisson, else at least 1e-6)",
    )
    bug_defects_factor: float = param(
        1.0, gt=0, le=20, unit="multiplier",
        source="fitted (portrait: Juno time to merge p90 of bug fixes 92 d against 50 d for other changes)",
        description="Expected latent defects of a bug fix relative to an 'other' change of its area",
    )
    blueprint_defects_factor: float = param(
        1.0, gt=0, le=20, unit="multiplier",
        source="fitted (portrait: Juno time to merge p90 of blueprint changes 102 d against 50 d for other changes)",
        description="Expected latent defects of a blueprint change relative to an 'other' change of its area",
    )
    defects_size_elasticity: float = param(
        0.0, ge=0, le=2, unit="-", source="assumption",
        description="Mean latent defects scale as (size / median size) ** elasticity",
    )
    non_expert_weight: float = param(
        0.1, ge=0, le=1, unit="weight", source="assumption: a core rarely picks an area they do not know",
        description="Selection weight of a change in an area the core does not know (experts: 1)",
    )
    attractiveness_sigma: float = param(
        1.5, ge=0, le=5, unit="log-weight", source="study §1: per-change attention heterogeneity sigma ~ 1.5",
        description="Sd of a change's lognormal attractiveness to every reviewer (mean 1)",
    )
    attention_halflife_days: float | None = param(
        None, gt=0, le=10_000, unit="days",
        source="fitted (assumption: Gerrit dashboards list changes by last update, so a patch set that waits "
               "falls out of reviewers' view; study §1: attention heterogeneity shapes the tail)",
        description="Half-life of a waiting patch set's attention as it ages since upload (none = no decay)",
    )
    engaged_priority: float = param(
        0.0, ge=0, le=1, unit="share of picks",
        source="assumption, not fitted: fits with it free drove it to its lower bound (0.012-0.013 of picks), "
               "Juno's targets do not ask for it (issue 14); varied by the parameter ensemble (mechanism: "
               "Thongtanunam et al. 2017, a reviewer's past participation on a patch is the strongest predictor of "
               "further review); 0 = no priority",
        description="Share of a core's picks that go first to waiting changes the core reviewed before (engagement)",
    )
    context_switch_share: float = param(
        0.2, ge=0, lt=1, unit="share of effort",
        source="assumption: Weinberg (1992) ~20 % of time lost per extra concurrent task",
        description="Share of a review's effort spent re-loading context when cores jump between many changes",
    )

    @field_validator("effort_cv", "defects_cv")
    @classmethod
    def _cv(cls, v: float) -> float:
        return _coefficient_of_variation(v)

    @field_validator("weekly_activity")
    @classmethod
    def _activity(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        v = _multipliers(v)
        if v is not None and min(v) <= 0:
            raise ValueError("must be multipliers > 0 (a week without any review would stop the clock of reviews under way)")
        return v


class NonCore(_Section):
    """Non-core reviewers who may catch a defect before cores see a patch set."""

    catch_prob: float = param(
        0.0, ge=0, le=1, unit="probability", source="assumption (study §4: patch sets are not core rounds)",
        description="Probability non-core review finds a defect of a patch set that has one",
    )
    delay_days: float = param(
        1.0, gt=0, le=100, unit="days", source="assumption", description="Mean delay of a non-core -1 (exponential)"
    )


class Authors(_Section):
    """Author behaviour: response to reviews, stalls and patience."""

    response_median_days: float = param(
        1.5, gt=0, le=100, unit="days", source="study §1: author revision delay median ~1.5 d",
        description="Median author delay before uploading a revised patch set (lognormal)",
    )
    response_sigma: float = param(1.0, ge=0, le=5, unit="log-days", source="assumption", description="Lognormal sigma of that delay")
    stall_prob: float = param(
        0.06, ge=0, le=1, unit="probability", source="study §1: ~6 % of revisions go dormant",
        description="Probability a revision stalls instead",
    )
    stall_mean_days: float = param(
        49.0, gt=0, le=1000, unit="days", source="study §1: dormant about 7 weeks", description="Mean stall (exponential)"
    )
    patience_median_days: float = param(
        60.0, gt=0, le=5000, unit="days", source="assumption (facts §1.5: ~20 % of changes never merge)",
        description="Median patience: an author abandons when waiting on reviewers or stalled longer than this",
    )
    patience_sigma: float = param(1.0, ge=0, le=5, unit="log-days", source="assumption", description="Lognormal sigma of patience")
    abandonment: bool = param(True, unit="-", source="study §1: needed near saturation", description="Authors abandon at all")
    recheck_delay_days: float = param(
        0.25, ge=0, le=30, unit="days", source="assumption", description="Mean delay before a recheck after a false CI failure"
    )


# The per-job false failure of devstack/tempest jobs, with its sources.
DSVM_FALSE_FAILURES = ("dsvm jobs 5 % false failures per run: fact §2.4, 5-10 % per big tempest job (2013), lower end; "
                       "gives about 0.5 rechecks per patch set against §1.3's 0.43 (median) to 0.75 (mean) in 2014")


class JobGroup(_Section):
    """A group of CI jobs with the same false-failure probability."""

    name: str = param("jobs", unit="-", source="-", description="Label")
    count: int = param(1, ge=0, le=10_000, unit="jobs", source="fact §2.2", description="Number of jobs")
    false_failure_prob: float = param(
        0.01, ge=0, lt=1, unit="probability", source="fact §2.4", description="Per-run false (flaky) failure probability of one job"
    )


class ThirdPartyCI(_Section):
    """A virt driver's external CI (VMware Minesweeper, Hyper-V CI, XenServer CI)."""

    jobs: int = param(1, ge=0, le=100, unit="jobs", source="fact §3", description="Jobs the CI reports")
    false_failure_prob: float = param(
        0.075, ge=0, lt=1, unit="probability", source="fact §3: libvirt+Xen CI 5-10 % baseline false failures",
        description="Per-run false failure probability of one job",
    )


class Check(_Section):
    """The check pipeline run on every patch set (clean check before review)."""

    enabled: bool = param(True, unit="-", source="fact §2.1: clean-check rule", description="Run the check pipeline")
    jobs: tuple[JobGroup, ...] = param(
        (JobGroup(name="dsvm", count=9, false_failure_prob=0.05), JobGroup(name="unit", count=6, false_failure_prob=0.005)),
        unit="-", source="fact §2.2: 15 check jobs (9 devstack/tempest) in Oct 2014; " + DSVM_FALSE_FAILURES,
        description="Voting check jobs",
    )
    run_time_days: float = param(
        0.05, gt=0, le=10, unit="days", source="fact §2.3: ~1 h jobs plus node wait",
        description="Duration of one check run (jobs run in parallel)",
    )
    defect_catch_prob: float = param(
        0.2, ge=0, le=1, unit="probability", source="assumption", description="Probability check catches one latent defect"
    )


class Gate(_Section):
    """The Zuul dependent gate pipeline (integrated queue shared with other projects)."""

    enabled: bool = param(True, unit="-", source="fact §2.1", description="Run the gate")
    jobs: tuple[JobGroup, ...] = param(
        (JobGroup(name="dsvm", count=9, false_failure_prob=0.05), JobGroup(name="unit", count=4, false_failure_prob=0.005)),
        unit="-", source="fact §2.2: 13 gate jobs (9 dsvm) Oct 2014; " + DSVM_FALSE_FAILURES,
        description="Gating jobs run on every nova change",
    )
    extra_config_jobs: int = param(
        0, ge=0, le=10_000, unit="jobs", source="assumption: the '100s more tempest jobs' argument",
        description="Extra configuration jobs every nova change runs in the gate",
    )
    extra_job_false_failure_prob: float = param(
        0.01, ge=0, lt=1, unit="probability", source="assumption", description="False failure probability of each extra job"
    )
    config_jobs_per_driver: int = param(
        0, ge=0, le=1000, unit="jobs", source="assumption: the 2014 thread's driver configuration jobs (facts §3)",
        description="Configuration jobs of each virt driver (run on its own and on non-driver changes, like its CI)",
    )
    config_job_false_failure_prob: float = param(
        0.01, ge=0, lt=1, unit="probability", source="assumption (fact §2.4: ~1 % subtle failures per run)",
        description="False failure probability of one driver configuration job",
    )
    third_party: dict[str, ThirdPartyCI] = param(
        {"vmwareapi": ThirdPartyCI(), "hyperv": ThirdPartyCI(), "xenapi": ThirdPartyCI()},
        unit="-", source="fact §3: Minesweeper, Hyper-V CI, XenServer CI", description="Third-party CI per driver",
    )
    third_party_gating: bool = param(
        False, unit="-", source="fact §3: Class B, non-gating", description="Third-party CI votes in the gate"
    )
    run_time_days: float = param(
        0.046, gt=0, le=10, unit="days", source="fact §2.3: gate jobs 'up to a little over an hour'",
        description="Duration of one gate run",
    )
    run_time_cv: float = param(
        0.2, ge=0, le=10, unit="-", source="assumption",
        description="Coefficient of variation of the gate run time (gamma; 0 = deterministic, else at least 1e-6)",
    )
    defect_catch_prob: float = param(
        0.5, ge=0, le=1, unit="probability", source="assumption (fact §2.4: gate misses intermittent bugs)",
        description="Probability the gate catches one latent defect that escaped review",
    )
    window: int = param(20, ge=1, le=1000, unit="changes", source="fact §2.1: Zuul window 20", description="Initial window")
    window_floor: int = param(20, ge=1, le=1000, unit="changes", source="fact §2.1: OpenStack 2014 floor 20", description="Window floor")
    window_increase: int = param(2, ge=0, le=100, unit="changes", source="fact §2.1: +2 per merge", description="Window increase per merge")
    window_decrease_factor: float = param(
        2.0, ge=1, le=100, unit="-", source="fact §2.1: halved per failure", description="Window divisor per failure"
    )
    background_rate_per_day: float = param(
        30.0, ge=0, le=10_000, unit="changes/day",
        source="assumption: 31 projects share the integrated queue (fact §2.1)",
        description="Approved changes of other projects joining the shared queue",
    )
    background_defect_fail_prob: float = param(
        0.03, ge=0, le=1, unit="probability", source="assumption", description="True failure probability of a background change"
    )

    @field_validator("run_time_cv")
    @classmethod
    def _cv(cls, v: float) -> float:
        return _coefficient_of_variation(v)

    @model_validator(mode="after")
    def _floor(self) -> Gate:
        if self.window < self.window_floor:
            raise ValueError(f"window ({self.window}) must be >= window_floor ({self.window_floor})")
        return self


class CI(_Section):
    """The test nodes every check and gate job runs on (OpenStack's node pool, facts §2.3)."""

    nodes: int | None = param(
        None, ge=1, le=100_000, unit="nodes",
        source="assumption: no published 2014 node count (facts §2.3 gives only the wait, 'at worse 10 - 20 "
               "minutes'); None = unbounded, every job starts at once as in the calibrated model",
        description="Test nodes available to the modelled jobs: nova's check and gate, the split drivers' pipelines "
                    "and the other projects' changes in the integrated gate (the share of OpenStack's pool the "
                    "unmodelled check traffic of other projects leaves them). One job holds one node for its "
                    "run; gate jobs are served before check jobs",
    )


class Cycle(_Section):
    """Release-cycle rules."""

    feature_freeze: bool = param(True, unit="-", source="fact: Nova's feature freeze", description="Apply a feature freeze")
    feature_freeze_week: int = param(
        20, ge=0, le=104, unit="cycle week",
        source="portrait: blueprint merges fall to 1-3 a week after week 21 (Juno FF 2014-09-04)",
        description="Week of the cycle from which blueprints are not approved until master reopens",
    )
    reopen_week: int | None = param(
        None, ge=1, le=104, unit="cycle week",
        source="data README: master opens for the next cycle at the first release candidate, 2-3 weeks before release",
        description="Week at which master opens for the next cycle's features (none = the cycle's end)",
    )
    start_weekday: int = param(
        0, ge=0, le=6, unit="day of week (Monday = 0)", source="assumption: a cycle starts on a Monday",
        description="Day of the week of the cycle's first day (sets where weekends fall)",
    )
    weekend_activity: float = param(
        1.0, ge=0, le=10, unit="weekend pace / weekday pace",
        source="assumption: no weekly rhythm (the calibration reads it off the weekday of uploads)",
        description="Pace of human work (reviews, revisions, new changes) on Saturday and Sunday relative to a "
                    "weekday; the week's mean pace stays 1 (1 = no weekly rhythm)",
    )


class RunwaysConfig(_Section):
    """Runways: ``slots`` blueprint series get focused review at once (facts §4)."""

    exclusive: bool = param(
        False, unit="-",
        source="fact §4: nova process.rst (2018-2021): changes outside a runway are still reviewed; true is the "
               "2014 proposal read as a hold (M. Still: 'rate-limit blueprints under review')",
        description="false: runways as Nova ran them (a complete series queues for a slot; changes without one are "
                    "reviewed at normal priority); true: a blueprint change is reviewed only while its feature "
                    "holds a slot",
    )
    slots: int = param(
        10, ge=1, le=1000, unit="features", source="fact §4: M. Still's 2014 proposal, 'initial number of runways ... ten'",
        description="Features that may hold a runway at once",
    )
    timebox_days: float = param(
        14.0, gt=0, le=365, unit="days", source="fact §4: nova process.rst, a runway lasts two weeks",
        description="How long a feature keeps its runway before returning to the queue",
    )
    priority_share: float = param(
        0.5, ge=0, le=1, unit="share of picks", source="assumption: 'cores focus review on slotted series' (facts §4)",
        description="Share of a core's picks that go to a waiting runway item when one is eligible",
    )
    focus: float = param(
        0.5, ge=0, le=1, unit="share", source="assumption",
        description="Share of the context-switch effort (review.context_switch_share) saved on a runway item",
    )
    author_response_factor: float = param(
        0.5, gt=0, le=1, unit="x usual response time",
        source="assumption; fact §4 process.rst: the author of a slotted series 'must respond quickly'",
        description="Multiplies the author's time to answer a review of a change while its series holds a runway "
                    "(as practised, exclusive = false; 1 = as usual)",
    )


class LieutenantsConfig(_Section):
    """Lieutenants: a sub-team per driver whose +2 approves driver-only changes (facts §4)."""

    drivers: tuple[str, ...] | None = param(
        None, unit="areas", source="assumption", description="Driver areas with lieutenants (none = every driver area)"
    )
    per_driver: int = param(
        2, ge=1, le=100, unit="reviewers", source="assumption: S. Bauza's 'half-cores' sub-teams (facts §4)",
        description="Lieutenants per driver",
    )
    reviews_per_day: float = param(
        1.0, gt=0, le=100, unit="reviews/day", source="assumption: part-time; Ironic asked cores for 2/day (facts §1.1)",
        description="Review capacity of one lieutenant",
    )
    core_votes_required: int = param(
        1, ge=0, le=10, unit="+2 votes", source="assumption: the thread's 'one core plus the sub-team' variant",
        description="Nova-core +2 votes still needed on a driver-only change (the rest may come from lieutenants)",
    )


class DriverTeam(_Section):
    """The core team of one split-out driver repository."""

    size: int = param(4, ge=1, le=100, unit="reviewers", source="assumption: Ironic had 6 cores in 2014 (facts §1.1)",
                      description="Reviewers in the driver's core team")
    reviews_per_day: float = param(
        1.5, gt=0, le=100, unit="reviews/day", source="assumption: below nova cores' 2.5-3.5 (facts §1.2)",
        description="Review capacity of one driver-team reviewer",
    )


class SplitConfig(_Section):
    """Split repos: each split driver has its own repository, core team and gate (facts §4, Berrange 2014)."""

    drivers: tuple[str, ...] | None = param(
        None, unit="areas", source="fact §4: Berrange proposed splitting out every virt driver",
        description="Driver areas moved to their own repositories (none = every driver area)",
    )
    team: DriverTeam = param(DriverTeam(), unit="-", source="assumption", description="Default team of a split driver")
    teams: dict[str, DriverTeam] = param({}, unit="-", source="assumption", description="Per-driver team overrides")
    experts_move: bool = param(
        False, unit="-", source="assumption", description="Nova cores who know a split driver leave nova for its team"
    )
    driver_jobs: tuple[JobGroup, ...] = param(
        (JobGroup(name="unit", count=2, false_failure_prob=0.005), JobGroup(name="dsvm", count=3, false_failure_prob=0.05)),
        unit="-", source="assumption: unit tests plus a smaller tempest set (issue; facts §2.2), each as flaky as nova's",
        description="Check and gate jobs of a driver repository",
    )
    third_party_gating: bool = param(
        True, unit="-", source="fact §3: Berrange expected third-party CI to gate only its driver repo",
        description="A driver's third-party CI votes in its own repository's gate",
    )
    config_jobs_in_nova: bool = param(
        True, unit="-",
        source="issue 14: a driver's configuration jobs test nova code with the driver, so nova keeps gating on them "
               "(like Minesweeper, facts §3, they run on every change outside the drivers)",
        description="A split driver's configuration jobs (gate.config_jobs_per_driver) still run in nova's check and "
                    "gate on the changes outside the drivers, as well as in the driver's repository; false = only "
                    "in the driver's repository",
    )
    interface_extra_defects: float = param(
        1.0, ge=0, le=20, unit="defects", source="assumption: a versioned interface costs review rounds",
        description="Mean extra latent defects (Poisson) of a nova change touching the virt driver interface",
    )
    followup_delay_days: float = param(
        3.0, gt=0, le=365, unit="days", source="assumption",
        description="Mean delay (exponential) before a driver team uploads the change adopting a new interface",
    )
    followup_size_lines: float = param(
        40.0, gt=0, le=100_000, unit="changed lines (median)",
        source="assumption: an adoption change is small (a driver method's signature and its tests)",
        description="Median size of a follow-up change adopting a new interface (lognormal, the driver area's "
                    "size_log_sd)",
    )
    followup_defects_mean: float = param(
        0.5, ge=0, le=50, unit="latent defects",
        source="assumption: a small mechanical change, well below any area's fitted defects_mean",
        description="Mean latent defects (Poisson) of a follow-up change",
    )
    followup_abandon_factor: float = param(
        0.0, ge=0, le=1, unit="-",
        source="assumption: a driver team does not drop the adoption or fix its driver needs to keep working "
               "(0); 1 = its author gives up like any author (the reading before issue 14)",
        description="Multiplies the chance that an interface follow-up or a breakage fix is abandoned: that share "
                    "of them have an author who may give up like any author (patience), the others never do",
    )
    interface_review_share: float = param(
        0.0, ge=0, le=1, unit="share of picks",
        source="assumption: whether driver teams review the nova changes that alter their interface (0 = not, as "
               "before issue 14)",
        description="Share of a driver team member's picks going to waiting nova changes that touch the virt "
                    "interface; their review finds defects like a core's, but only nova's reviewers' votes approve",
    )
    breakage_scale: float = param(
        1.0, ge=0, le=10, unit="-",
        source="assumption: 1 = every nova change that also edited the driver in one repository breaks it out of "
               "tree (areas.<driver>.breakage_share); 0 = a stable interface that nothing outside it breaks",
        description="Multiplies each split driver's breakage_share",
    )
    breakage_blocks_gate: bool = param(
        True, unit="-",
        source="assumption: a driver repository tests against nova master (Berrange 2014); false = it pins a "
               "working nova and only the fix is owed",
        description="A broken driver's gate merges nothing but the fix until the fix merges",
    )
    fix_delay_days: float = param(
        1.0, gt=0, le=60, unit="days",
        source="assumption: the driver's own CI fails on the next change, within a day",
        description="Mean delay (exponential) before a broken driver's team uploads the fix change",
    )
    fix_response_factor: float = param(
        0.25, gt=0, le=1, unit="-",
        source="assumption: a red gate is the driver team's emergency (as runways' author_response_factor for a "
               "slotted series)",
        description="Multiplies the author's time to answer a review of a fix change (stalls included)",
    )
    cross_repo: bool = param(
        True, unit="-",
        source="data: areas column (driver changes that also edit nova code: 1 - areas.<driver>.driver_only_share)",
        description="A driver change touching code outside its driver becomes a nova change plus the driver change, "
                    "which enters its gate only once the nova change merged (Depends-On)",
    )
    cross_repo_area: str | None = param(
        None, unit="area",
        source="data: the nova area driver changes most often also edit (sim.calibrate.observe.split_costs)",
        description="Area of the nova change a cross-repository driver change depends on (none = the non-driver "
                    "area with the highest rate_per_day)",
    )

    def team_of(self, driver: str) -> DriverTeam:
        return self.teams.get(driver, self.team)


class SponsorshipConfig(_Section):
    """Sponsorship ('permanent feature freeze'): a blueprint is reviewed once enough cores sign on."""

    sponsors: int = param(
        3, ge=1, le=20, unit="cores", source="fact §4 thread: three core sponsors per blueprint",
        description="Cores who must sponsor a blueprint before it is reviewed",
    )
    max_per_core: int = param(
        3, ge=1, le=100, unit="features", source="assumption", description="Blueprints one core sponsors at a time"
    )
    priority_share: float = param(
        0.5, ge=0, le=1, unit="share of picks", source="assumption",
        description="Share of a sponsor's picks that go to a waiting blueprint they sponsor",
    )
    order: Literal["fifo", "ripest"] = param(
        "fifo", unit="-",
        source="assumption; fact §4 thread: the freeze-exception features sponsorship was modelled on had "
               "already been reviewed",
        description="Which queued blueprint cores sponsor next: fifo (first come) or ripest (fewest latent "
                    "defects in its waiting changes: the freeze-exception selection)",
    )


class StaffingConfig(_Section):
    """Who staffs the roles a policy adds (lieutenants, split-driver teams): see :mod:`sim.scenario.staffing`."""

    from_cores: float = param(
        1.0, ge=0, le=1, unit="share of the new roles' capacity",
        source="assumption: equal total review capacity, so a policy is compared with the monolith on its "
               "structure, not on added people (issue 14); 0 = the new roles are new people",
        description="Share of the new roles' review capacity taken from nova cores' time (every core gives the same "
                    "fraction; 1 = the monolith's total capacity, 0 = added reviewers)",
    )


Mechanism = Literal["runways", "lieutenants", "split", "sponsorship"]


class PolicyConfig(_Section):
    """The governance policy: a composition of mechanisms on top of the monolith."""

    name: str = param("monolith", unit="-", source="-", description="Policy label in outputs")
    mechanisms: tuple[Mechanism, ...] = param(
        (), unit="-", source="-", description="Mechanisms applied on top of the monolith, in order (none = monolith)"
    )
    runways: RunwaysConfig = RunwaysConfig()
    lieutenants: LieutenantsConfig = LieutenantsConfig()
    split: SplitConfig = SplitConfig()
    sponsorship: SponsorshipConfig = SponsorshipConfig()
    staffing: StaffingConfig = StaffingConfig()

    @field_validator("mechanisms")
    @classmethod
    def _distinct(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("each mechanism may appear once")
        return v


class Scenario(_Section):
    """A complete, validated scenario."""

    scenario: Info = Info()
    run: Run = Run()
    arrivals: Arrivals = Arrivals()
    areas: dict[str, Area]
    review: Review = Review()
    noncore: NonCore = NonCore()
    authors: Authors = Authors()
    check: Check = Check()
    gate: Gate = Gate()
    ci: CI = CI()
    cycle: Cycle = Cycle()
    policy: PolicyConfig = PolicyConfig()

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.areas:
            raise ValueError("at least one area is required")
        profiles = {"arrivals.weekly_profile": self.arrivals.weekly_profile,
                    "arrivals.blueprint_weekly_profile": self.arrivals.blueprint_weekly_profile,
                    "review.weekly_activity": self.review.weekly_activity}
        for key, profile in profiles.items():
            if profile is not None and len(profile) != self.run.cycle_weeks:
                raise ValueError(f"{key} has {len(profile)} weeks; run.cycle_weeks is {self.run.cycle_weeks}")
        ff, reopen = self.cycle.feature_freeze_week, self.cycle.reopen_week
        if self.cycle.feature_freeze and ff > self.run.cycle_weeks:
            raise ValueError(f"cycle.feature_freeze_week ({ff}) is after the cycle's end ({self.run.cycle_weeks})")
        if self.cycle.feature_freeze and reopen is not None and not ff < reopen <= self.run.cycle_weeks:
            raise ValueError(
                f"cycle.reopen_week ({reopen}) must be after feature_freeze_week ({ff}) and within the cycle "
                f"({self.run.cycle_weeks} weeks)"
            )
        if sum(a.rate_per_day for a in self.areas.values()) <= 0:
            raise ValueError("areas: total rate_per_day must be > 0")
        self._check_policy()
        self._check_third_party()
        self._check_reviewers()
        self._check_staffing()  # after the structure: who may vote on what is the clearer message
        return self

    def _check_policy(self) -> None:
        policy, drivers = self.policy, self.driver_areas
        for mechanism in ("lieutenants", "split"):
            listed = getattr(policy, mechanism).drivers or ()
            unknown = [d for d in listed if d not in drivers]
            if unknown:
                raise ValueError(
                    f"policy.{mechanism}.drivers: {unknown} are not driver areas of this scenario "
                    f"(driver areas: {list(drivers)}){_suggest(unknown, drivers)}"
                )
        unknown = [d for d in policy.split.teams if d not in drivers]
        if unknown:
            raise ValueError(
                f"policy.split.teams: {unknown} are not driver areas of this scenario "
                f"(driver areas: {list(drivers)}){_suggest(unknown, drivers)}"
            )
        if "lieutenants" in policy.mechanisms and "split" in policy.mechanisms:
            both = set(self.mechanism_drivers("lieutenants")) & set(self.mechanism_drivers("split"))
            if both:
                raise ValueError(
                    f"policy.mechanisms: lieutenants and split both apply to drivers {sorted(both)}; a driver cannot be "
                    "split out and have lieutenants (set policy.lieutenants.drivers and policy.split.drivers apart)"
                )
        required = self.review.votes_required
        if policy.lieutenants.core_votes_required > required:
            raise ValueError(
                f"policy.lieutenants.core_votes_required ({policy.lieutenants.core_votes_required}) "
                f"exceeds review.votes_required ({required})"
            )
        if "sponsorship" in policy.mechanisms:
            self._check_sponsors()
        nova_areas = [name for name, area in self.areas.items() if not area.driver]
        if policy.split.cross_repo_area is not None and policy.split.cross_repo_area not in nova_areas:
            raise ValueError(
                f"policy.split.cross_repo_area: {policy.split.cross_repo_area!r} is not a non-driver area of this "
                f"scenario (allowed: {nova_areas}){_suggest([policy.split.cross_repo_area], nova_areas)}"
            )
        if "split" in policy.mechanisms:
            for driver in self.mechanism_drivers("split"):
                if policy.split.team_of(driver).size < required:
                    raise ValueError(
                        f"policy.split: the {driver} team ({policy.split.team_of(driver).size}) is smaller than "
                        f"review.votes_required ({required})"
                    )

    def _check_staffing(self) -> None:
        """The new roles may take at most 1 - MIN_CORE_TIME of the cores' own capacity."""
        own, taken = staffing.own_core_capacity(self), staffing.taken_from_cores(self)
        keep = 1.0 - staffing.MIN_CORE_TIME
        if taken > keep * own:
            added = staffing.added_roles(self)
            roles = ", ".join(f"{r.role} {r.board} {r.reviews_per_day:g}" for r in added)
            raise ValueError(
                f"policy.staffing.from_cores ({self.policy.staffing.from_cores:g}) takes {taken:.1f} reviews/day from "
                f"nova's cores for the new roles ({roles}), more than {keep:.0%} of the cores' {own:.1f} reviews/day: "
                f"shrink the teams or lower from_cores (allowed: <= "
                f"{math.floor(1000 * keep * own / sum(r.reviews_per_day for r in added)) / 1000:g})"
            )

    def _check_sponsors(self) -> None:
        """Enough nova cores to sponsor a blueprint (after split's experts_move took theirs)."""
        sponsors, cores = self.policy.sponsorship.sponsors, self.review.cores
        if sponsors > cores:
            raise ValueError(
                f"policy.sponsorship.sponsors ({sponsors}) exceeds review.cores ({cores}): no blueprint could be sponsored"
            )
        left, why = self._nova_cores()
        if sponsors > left:
            raise ValueError(
                f"policy.sponsorship.sponsors ({sponsors}) exceeds the {left} cores left in nova ({why}): "
                f"no blueprint could be sponsored (allowed: <= {left})"
            )

    def _check_third_party(self) -> None:
        """Every third-party CI belongs to a driver area. The schema's default CIs (VMware, Hyper-V,
        XenServer) stay allowed, and inert, in a scenario without those areas (e.g. ``mmc.toml``)."""
        drivers = self.driver_areas
        defaults = Gate.model_fields["third_party"].default
        for name in self.gate.third_party:
            if name not in drivers and (name not in defaults or name in self.areas):
                raise ValueError(
                    f"gate.third_party.{name}: {name!r} is not a driver area of this scenario "
                    f"(driver areas: {list(drivers)}){did_you_mean(name, drivers)}"
                )

    # -------------------------------------------------------------- who can approve what

    def _check_reviewers(self) -> None:
        """Every area with arrivals has reviewers, and enough of them may vote to approve its changes.

        Mirrors the model: nova's cores review every area they have a weight > 0 for
        (``sim.model.reviewers``), a +2 counts once per reviewer and patch set, lieutenants add votes on
        driver-only changes of their driver (``sim.policies.lieutenants``), and a split driver's own
        team reviews its changes (its size is checked in :meth:`_check_policy`).
        """
        policy = self.policy
        split = set(self.mechanism_drivers("split")) if "split" in policy.mechanisms else set()
        lieutenants = set(self.mechanism_drivers("lieutenants")) if "lieutenants" in policy.mechanisms else set()
        for name, area in self.areas.items():
            if area.rate_per_day <= 0 or name in split:
                continue
            if name not in lieutenants:
                self._check_core_votes(name, "its changes")
                continue
            if area.driver_only_share < 1:
                self._check_core_votes(name, "its changes that touch code outside the driver")
            if area.driver_only_share > 0:
                self._check_lieutenant_votes(name)

    def _check_core_votes(self, name: str, changes: str) -> None:
        """Changes of area ``name`` approved by nova cores alone: at least ``votes_required`` may vote."""
        voters, why = self._nova_voters(name)
        required = self.review.votes_required
        if voters == 0:
            raise ValueError(
                f"no reviewers for area {name!r} (areas.{name}.rate_per_day = {self.areas[name].rate_per_day} > 0): "
                f"{why}, so no nova core may review it"
            )
        if voters < required:
            raise ValueError(
                f"review.votes_required ({required}) exceeds the {voters} nova cores who can vote on {changes} "
                f"of area {name!r} ({why}): none could ever be approved (allowed: <= {voters})"
            )

    def _check_lieutenant_votes(self, name: str) -> None:
        """Driver-only changes of a lieutenants' driver: ``core_votes_required`` nova cores plus
        lieutenants make ``votes_required``. Counts nova's cores, not their expertise in the driver."""
        config, required = self.policy.lieutenants, self.review.votes_required
        cores, why = self._nova_cores()
        if config.core_votes_required > cores:
            raise ValueError(
                f"policy.lieutenants.core_votes_required ({config.core_votes_required}) exceeds the {cores} nova "
                f"cores ({why}): no driver-only change of area {name!r} could be approved (allowed: <= {cores})"
            )
        if cores + config.per_driver < required:
            raise ValueError(
                f"review.votes_required ({required}) exceeds the {cores + config.per_driver} reviewers who can vote on "
                f"driver-only changes of area {name!r} ({why}; policy.lieutenants.per_driver = {config.per_driver}): "
                f"none could ever be approved (allowed: <= {cores + config.per_driver})"
            )

    def _nova_voters(self, name: str) -> tuple[int, str]:
        """At most how many nova cores may review area ``name`` (weight > 0), and why."""
        cores, why = self._nova_cores()
        if self.review.non_expert_weight > 0:
            return cores, why
        experts = round(self.areas[name].expert_share * self.review.cores)  # as sim.model.reviewers draws them
        if experts >= cores:
            return cores, why
        return experts, (f"review.non_expert_weight = 0 and round(areas.{name}.expert_share x review.cores) = "
                         f"{experts} experts")

    def _nova_cores(self) -> tuple[int, str]:
        """At most how many cores stay on nova's board, and why. Under split with ``experts_move``
        each split driver takes the cores who know it (``sim.policies.split``): at least the largest
        such group leaves."""
        cores = self.review.cores
        why = f"review.cores = {cores}"
        if "split" not in self.policy.mechanisms or not self.policy.split.experts_move:
            return cores, why
        movers = {d: self._experts(d) for d in self.mechanism_drivers("split")}
        if not movers:
            return cores, why
        driver = max(movers, key=movers.__getitem__)
        return cores - movers[driver], f"{why}, of whom policy.split.experts_move takes {movers[driver]} to the {driver} team"

    def _experts(self, name: str) -> int:
        """Cores with weight 1 for area ``name`` (every core when review.non_expert_weight is 1)."""
        if self.review.non_expert_weight >= 1.0:
            return self.review.cores
        return round(self.areas[name].expert_share * self.review.cores)

    @property
    def driver_areas(self) -> tuple[str, ...]:
        return tuple(name for name, area in self.areas.items() if area.driver)

    def mechanism_drivers(self, mechanism: Literal["lieutenants", "split"]) -> tuple[str, ...]:
        """The driver areas a mechanism applies to (its ``drivers`` list, or every driver area)."""
        listed = getattr(self.policy, mechanism).drivers
        return tuple(listed) if listed is not None else self.driver_areas

    @property
    def area_names(self) -> tuple[str, ...]:
        return tuple(self.areas)

    @property
    def cycle_days(self) -> float:
        return 7.0 * self.run.cycle_weeks

    @property
    def horizon_days(self) -> float:
        """Simulated time of one replication: warm-up plus the measured cycles."""
        return self.run.warmup_days + self.run.cycles * self.cycle_days

    def to_toml_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/TOML-ready) of the fully resolved scenario."""
        return _drop_none(self.model_dump(mode="json"))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# ---------------------------------------------------------------------------- walking the schema


@functools.cache
def keyed_tables(model: type[BaseModel] | None = None, prefix: str = "") -> tuple[str, ...]:
    """Dotted paths of the schema's tables keyed by names the user chooses (``dict[str, Model]``)."""
    found: list[str] = []
    for name, info in (model or Scenario).model_fields.items():
        annotation = info.annotation
        if get_origin(annotation) is dict and model_of(get_args(annotation)[-1]) is not None:
            found.append(prefix + name)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += keyed_tables(annotation, f"{prefix}{name}.")
    return tuple(found)


def field_at(loc: Iterable[Any]) -> Any:
    """The pydantic field at ``loc`` (e.g. ``("areas", "libvirt", "defects_mean")``), walking
    nested models, ``dict[str, Model]`` tables keyed by user names and lists; None if unknown."""
    model: Any = Scenario
    info = None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        fields = getattr(model, "model_fields", {})
        if part in fields:
            info = fields[part]
            model = model_of(info.annotation)
        elif not fields:
            return None
        # else: a user key of a dict[str, Model] table (areas.libvirt): stay on the value model
    return info


def model_of(annotation: Any) -> Any:
    """The BaseModel class inside ``Model``, ``dict[str, Model]`` or ``tuple[Model, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = model_of(arg)
        if found is not None:
            return found
    return None

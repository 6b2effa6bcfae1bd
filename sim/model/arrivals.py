"""Arrivals: new changes per area and kind as a Poisson process whose rate varies by cycle week.

The rate of (area, kind) in cycle week w is ``rate_per_day x kind share x weekly multiplier``
(the blueprint profile for blueprints, the general profile for the rest). Within a week the rate
is constant, so the next arrival is exponential; at a week boundary the draw restarts, which is
exact for a piecewise-constant Poisson process (memorylessness). With a working week the rate
also varies by day of the week (``cycle.weekend_activity``) and the pieces are days.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import accumulate

from scipy.special import gammaincinv

from sim.engine.clock import Clock
from sim.engine.rng import Stream, Streams
from sim.engine.workweek import WorkWeek
from sim.model.change import Change
from sim.scenario import KINDS, Scenario


def weekly_rates(scenario: Scenario) -> tuple[list[tuple[int, str]], list[list[float]]]:
    """The (area index, kind) combinations and, per cycle week, the cumulative rates over them."""
    weeks = scenario.run.cycle_weeks
    flat = (1.0,) * weeks
    general = scenario.arrivals.weekly_profile or flat
    blueprint = scenario.arrivals.blueprint_weekly_profile or general
    combos: list[tuple[int, str]] = []
    base: list[float] = []
    for a, area in enumerate(scenario.areas.values()):
        for kind in KINDS:
            combos.append((a, kind))
            base.append(area.rate_per_day * area.kind_mix[kind])
    cumulative = []
    for w in range(weeks):
        rates = [r * (blueprint[w] if kind == "blueprint" else general[w]) for r, (_, kind) in zip(base, combos)]
        cumulative.append(list(accumulate(rates)))
    return combos, cumulative


class ChangeFactory:
    """Draws a new change's attributes, each from its own named stream (common random numbers).

    Blueprint changes come in features (series): a blueprint change joins the open feature of its
    area until that feature has all its changes (a geometric number with mean
    ``arrivals.blueprint_changes_per_feature``), then the next blueprint change starts a new one.
    """

    def __init__(self, scenario: Scenario, streams: Streams) -> None:
        sc = scenario
        self.areas = list(sc.areas.values())
        self.attributes = streams["attributes"]
        self.defects = streams["defects"]
        self.patience = streams["patience"]
        self.attract = streams["attractiveness"]
        self.patience_median = sc.authors.patience_median_days
        self.patience_sigma = sc.authors.patience_sigma
        self.abandonment = sc.authors.abandonment
        self.attract_sigma = sc.review.attractiveness_sigma
        self.defects_elasticity = sc.review.defects_size_elasticity
        self.kind_defects = {"bug": sc.review.bug_defects_factor, "blueprint": sc.review.blueprint_defects_factor,
                             "other": 1.0}
        cv = sc.review.defects_cv
        self.defects_shape = 1.0 / (cv * cv) if cv > 0 else 0.0
        per_feature = sc.arrivals.blueprint_changes_per_feature
        self.log_continue = math.log1p(-1.0 / per_feature) if per_feature > 1.0 else -math.inf
        self.feature_of_area = [-1] * len(self.areas)
        self.feature_left = [0] * len(self.areas)
        self.next_feature = 0
        self.next_id = 0

    def _feature(self, area_index: int, kind: str) -> int:
        if kind != "blueprint":
            return -1
        if self.feature_left[area_index] == 0:
            u = 1.0 - self.attributes.uniform()  # in (0, 1]
            self.feature_left[area_index] = 1 + int(math.log(u) / self.log_continue) if u < 1.0 else 1
            self.feature_of_area[area_index] = self.next_feature
            self.next_feature += 1
        self.feature_left[area_index] -= 1
        return self.feature_of_area[area_index]

    def series_complete(self, change: Change) -> bool:
        """Has the last change of ``change``'s feature (blueprint series) arrived? Asked at its arrival
        or later: a feature's changes arrive in its area one after another."""
        area = change.area
        return self.feature_of_area[area] != change.feature or self.feature_left[area] == 0

    def make(self, area_index: int, kind: str, now: float) -> Change:
        area = self.areas[area_index]
        median_size = math.exp(area.size_log_mean)
        size = float(max(1, round(median_size * math.exp(area.size_log_sd * self.attributes.normal()))))
        touches = self.attributes.uniform() < area.interface_share
        driver_only = area.driver and self.attributes.uniform() < area.driver_only_share
        feature = self._feature(area_index, kind)
        mean_defects = area.defects_mean * self.kind_defects[kind]
        if self.defects_elasticity:
            mean_defects *= (size / median_size) ** self.defects_elasticity
        u = self.defects.uniform()  # drawn even without heterogeneity, so streams stay aligned
        if self.defects_shape:
            # Gamma mixing by inversion: a smooth function of the parameter under common random numbers.
            mean_defects *= float(gammaincinv(self.defects_shape, u)) / self.defects_shape  # float: not a NumPy scalar
        defects = self.defects.poisson(mean_defects)
        patience = self._patience(self.patience)
        return Change(self.new_id(), area_index, kind, size, touches, driver_only, feature, defects, patience,
                      self._attractiveness(self.attract), now)

    def make_followup(self, parent: Change, area_index: int, now: float, stream: Stream, *,
                      median_size: float, defects_mean: float, kind: str | None = None) -> Change:
        """The change that adopts ``parent``'s interface change in a split driver repository: small
        (``median_size`` lines, the area's log-sd), with Poisson(``defects_mean``) latent defects; of
        ``kind`` (default: the parent's).

        Every attribute comes from ``stream`` (the policy's), so that follow-ups, which exist only
        in some policies, leave the common random numbers of all other changes untouched.
        """
        area = self.areas[area_index]
        size = float(max(1, round(median_size * math.exp(area.size_log_sd * stream.normal()))))
        defects = stream.poisson(defects_mean)
        patience = self._patience(stream)
        return Change(self.new_id(), area_index, kind or parent.kind, size, False, True, -1, defects, patience,
                      self._attractiveness(stream), now, parent.id)

    def _patience(self, stream: Stream) -> float:
        """Days the author waits on reviewers (or stalls) before abandoning: lognormal, drawn even
        where authors never abandon (then infinite), so that the streams stay aligned."""
        patience = stream.lognormal(self.patience_median, self.patience_sigma)
        return patience if self.abandonment else math.inf

    def _attractiveness(self, stream: Stream) -> float:
        """Lognormal with mean 1 and log-sd ``review.attractiveness_sigma``."""
        s = self.attract_sigma
        return math.exp(s * stream.normal() - 0.5 * s * s)

    def new_id(self) -> int:
        """The next change id (ids count changes in the order they are made)."""
        self.next_id += 1
        return self.next_id - 1


class Arrivals:
    """Creates changes until the end of the run and hands them to the world.

    A chain of scheduled calls (one engine event per arrival and per segment boundary, like the
    SimPy process it replaces, without a generator to resume): ``_next`` schedules either the next
    arrival or, when the exponential gap reaches past the end of the segment, the segment's end.
    A segment is a cycle week, or a day when the working week (:mod:`sim.engine.workweek`) makes
    the rate vary by day: new changes are uploaded at the pace of human work.
    """

    def __init__(self, scenario: Scenario, clock: Clock, stream: Stream, factory: ChangeFactory,
                 workweek: WorkWeek | None, arrive: Callable[[Change], None]) -> None:
        """``arrive(change)`` hands each new change to the world."""
        self.clock = clock
        self.stream = stream
        self.arrive = arrive
        self.combos, self.cumulative = weekly_rates(scenario)
        self.factory = factory
        self.weeks = scenario.run.cycle_weeks
        self.warmup = scenario.run.warmup_days
        self.pace: tuple[float, ...] = (1.0,) if workweek is None else workweek.pace
        self.segment_days = 7.0 if workweek is None else 1.0
        self.per_week = 1 if workweek is None else 7
        self.first_weekday = 0 if workweek is None else workweek.start_weekday
        self.k = math.floor(-self.warmup / self.segment_days)  # the segment containing t = 0 (week 0 starts at warmup)

    def start(self) -> None:
        self.clock.start(self._next)

    def _next(self) -> None:
        """Schedule the next arrival, or the end of the segment if the next arrival falls past it."""
        now = self.clock.now()
        while True:
            segment_end = self.warmup + self.segment_days * (self.k + 1)
            if segment_end > now:
                break
            self.k += 1
        rates = self.cumulative[(self.k // self.per_week) % self.weeks]
        pace = self.pace[(self.first_weekday + self.k) % len(self.pace)]
        total = rates[-1] * pace
        gap = self.stream.exponential(1.0 / total) if total > 0 else math.inf
        if now + gap >= segment_end:
            self.clock.after(segment_end - now, self._segment_over)
        else:
            self.clock.after(gap, self._arrive, rates)

    def _segment_over(self) -> None:
        self.k += 1
        self._next()

    def _arrive(self, rates: list[float]) -> None:
        area_index, kind = self.combos[self.stream.choice_index(rates)]
        now = self.clock.now()
        self.arrive(self.factory.make(area_index, kind, now))
        self._next()

"""The working week: people (authors, reviewers) do most of their work on weekdays.

Human work is measured in *work days*: a task of ``w`` work days takes ``w`` calendar days at
the week's mean pace. On a weekday people work at ``7 / (5 + 2 x weekend_activity)`` times that
pace, on Saturday and Sunday at ``weekend_activity`` times the weekday pace, so a week holds
exactly 7 work days and rates quoted per calendar day (reviews per core per day, arrivals per
day) keep their meaning. :meth:`WorkWeek.finish` maps a start time and an amount of work to
the calendar time the work is done: a review begun on Friday evening ends on Monday.

Day boundaries fall at whole days from the start of the measurement window (the cycle's first
day, weekday ``cycle.start_weekday``).
"""

from __future__ import annotations

import math
from typing import Final

WEEKEND: Final = (5, 6)  # Saturday, Sunday (Monday = 0, as in Python's datetime)


class WorkWeek:
    """Pace of human work by day of the week; times in days."""

    __slots__ = ("pace", "origin", "start_weekday")

    def __init__(self, weekend_activity: float, start_weekday: int, origin: float) -> None:
        """``origin``: the simulation time (days) at which a day of weekday ``start_weekday`` begins."""
        weekday_pace = 7.0 / (5.0 + 2.0 * weekend_activity)
        self.pace: tuple[float, ...] = tuple(
            weekday_pace * weekend_activity if d in WEEKEND else weekday_pace for d in range(7)
        )
        self.origin = origin
        self.start_weekday = start_weekday

    def weekday(self, t: float) -> int:
        """Day of the week at time ``t`` (Monday = 0)."""
        return (self.start_weekday + math.floor(t - self.origin)) % 7

    def pace_at(self, t: float) -> float:
        """Work days done per calendar day at time ``t``."""
        return self.pace[self.weekday(t)]

    def finish(self, start: float, work: float) -> float:
        """Calendar time at which ``work`` (>= 0) work days begun at ``start`` are done."""
        if work <= 0.0:
            return start
        # A full week holds exactly 7 work days: skip whole weeks, then walk the last 0 < left <= 7
        # day by day (the walk finds the earliest end when weekends have no pace at all).
        whole_weeks = max(0, math.ceil(work / 7.0) - 1)
        t = start + 7.0 * whole_weeks
        left = work - 7.0 * whole_weeks
        pace = self.pace
        day = math.floor(t - self.origin)
        weekday = (self.start_weekday + day) % 7
        day_end = self.origin + day + 1.0
        while True:
            rate = pace[weekday]
            can = (day_end - t) * rate
            if left <= can + 1e-12 and rate > 0.0:  # the tolerance: work due at midnight ends that day
                return t + left / rate
            left -= can
            t = day_end
            day_end += 1.0
            weekday = (weekday + 1) % 7

    def work_between(self, a: float, b: float) -> float:
        """Work days that fit between times ``a`` and ``b`` (0 when b <= a): the inverse of :meth:`finish`."""
        if b <= a:
            return 0.0
        whole_weeks = math.floor((b - a) / 7.0)
        total = 7.0 * whole_weeks
        t = a + 7.0 * whole_weeks
        pace = self.pace
        day = math.floor(t - self.origin)
        weekday = (self.start_weekday + day) % 7
        day_end = self.origin + day + 1.0
        while t < b:
            end = day_end if day_end < b else b
            total += (end - t) * pace[weekday]
            t = end
            day_end += 1.0
            weekday = (weekday + 1) % 7
        return total

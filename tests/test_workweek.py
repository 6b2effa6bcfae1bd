"""The working week (weekends are slow for people, not for CI): exact checks of the calendar
arithmetic, and simulated shares and counts against their theoretical values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from simtest import MMC, Z, assert_within_se, started_world

from sim.calibrate.observe import CycleData, weekend_activity
from sim.engine.workweek import WorkWeek
from sim.model.records import RECORD_FIELDS
from sim.runs import metrics
from sim.scenario import Scenario, load_scenario


def worked(week: WorkWeek, start: float, end: float, step: float = 1e-3) -> float:
    """Work days done between start and end, by a midpoint sum of the pace."""
    t = np.arange(start, end, step) + step / 2
    return float(sum(week.pace_at(x) for x in t) * step)


@pytest.mark.parametrize("activity", [0.0, 0.2, 1.0, 2.5])
def test_a_week_holds_seven_work_days(activity: float) -> None:
    week = WorkWeek(activity, 3, 0.0)
    assert sum(week.pace) == pytest.approx(7.0)
    assert week.pace[5] == week.pace[6] == pytest.approx(week.pace[0] * activity)
    for start in (0.0, 1.5, 2.99, 4.2):
        if activity > 0:
            assert week.finish(start, 7.0) == pytest.approx(start + 7.0)
            assert week.finish(start, 21.0) == pytest.approx(start + 21.0)
        else:  # the earliest end: work begun on Saturday (t = 2.99) is done on Friday night
            assert week.finish(start, 7.0) == pytest.approx(9.0 if start == 2.99 else start + 7.0)


def test_weekdays_fall_where_the_cycle_says() -> None:
    week = WorkWeek(0.2, 3, 10.5)  # the day starting at t = 10.5 is a Thursday
    assert week.weekday(10.5) == 3 and week.weekday(11.49) == 3 and week.weekday(11.5) == 4
    assert week.weekday(12.5) == 5 and week.weekday(13.5) == 6 and week.weekday(14.5) == 0
    assert week.weekday(9.0) == 1 and week.weekday(9.6) == 2  # before the origin, counting back


def test_work_left_on_friday_without_weekend_work_ends_on_monday() -> None:
    week = WorkWeek(0.0, 4, 0.0)  # t = 0 starts a Friday
    pace = 7.0 / 5.0
    done_friday = 0.5 * pace
    assert week.finish(0.5, done_friday) == pytest.approx(1.0)
    assert week.finish(0.5, done_friday + 0.1) == pytest.approx(3.0 + 0.1 / pace)  # Monday
    assert week.finish(1.7, 0.1) == pytest.approx(3.0 + 0.1 / pace)  # begun on Saturday
    assert week.finish(1.7, 0.0) == 1.7
    assert week.finish(0.5, 7.0 + done_friday) == pytest.approx(8.0)  # a week later, Friday midnight


@pytest.mark.parametrize("start,work", [(0.3, 0.6), (1.9, 2.5), (4.95, 0.01), (5.5, 11.3), (0.0, 40.0)])
def test_finish_is_the_inverse_of_the_work_done(start: float, work: float) -> None:
    week = WorkWeek(0.25, 2, 0.0)
    end = week.finish(start, work)
    assert end >= start
    assert worked(week, start, end) == pytest.approx(work, abs=2e-3)
    assert week.work_between(start, end) == pytest.approx(work, abs=1e-9)
    assert week.work_between(end, start) == 0.0


def test_default_scenarios_have_no_working_week() -> None:
    assert started_world(load_scenario(MMC), 0, 1).workweek is None


def weekend_share(times: np.ndarray, origin: float, start_weekday: int) -> float:
    weekday = (start_weekday + np.floor(times - origin).astype(int)) % 7
    return float(np.isin(weekday, [5, 6]).mean())


def test_people_work_less_on_weekends_and_as_much_per_week() -> None:
    """In work time the M/M/5 queue with a working week is the flat one, so arrivals and review
    ends (= merges: no CI, no gate) fall on weekends in the weekend's share of the week's work,
    2 w / (5 + 2 w), and as many changes merge over the run as without a working week."""
    activity = 0.2
    flat = load_scenario(MMC, ["run.cycles=4"])
    weekly = load_scenario(MMC, ["run.cycles=4", f"cycle.weekend_activity={activity}", "cycle.start_weekday=0"])
    records = started_world(weekly, 0, 3).run()
    frame = pd.DataFrame.from_records(records.changes, columns=list(RECORD_FIELDS))
    a, b = records.window
    expected = 2 * activity / (5 + 2 * activity)
    for column in ("arrived", "merged"):
        times = frame[column][(frame[column] >= a) & (frame[column] < b)].to_numpy()
        share, n = weekend_share(times, a, 0), len(times)
        assert abs(share - expected) <= Z * math.sqrt(expected * (1 - expected) / n), (column, share, expected)

    def merged(sc: Scenario, replication: int) -> int:
        records = started_world(sc, replication, 3).run()
        a, b = records.window
        return sum(1 for row in records.changes if a <= row[RECORD_FIELDS.index("merged")] < b)

    flat_n = sum(merged(flat, r) for r in range(2))
    weekly_n = sum(merged(weekly, r) for r in range(2))
    assert abs(weekly_n - flat_n) <= Z * math.sqrt(flat_n + weekly_n)


def test_weekend_activity_is_read_off_the_weekdays_of_uploads() -> None:
    monday = pd.Timestamp("2014-04-14", tz="UTC")
    days = [0, 1, 2, 3, 4, 0, 1, 2, 3, 5]  # authored: 1 of 10 on a weekend
    authored = pd.DataFrame({"authored_at": [monday + pd.Timedelta(days=d, hours=10) for d in days],
                             "committed_at": [monday + pd.Timedelta(days=d, hours=12) for d in days]})
    cd = CycleData("test", monday, monday + pd.Timedelta(days=14), authored, authored, ("all",), ())
    share = 0.1
    assert weekend_activity(cd) == pytest.approx((share / 2) / ((1 - share) / 5), abs=1e-3)


def test_utilization_in_work_time_keeps_the_offered_load() -> None:
    """Arrivals and reviews both follow the working week, so in work time the M/M/5 queue is the
    flat one: the cores' utilization (share of working time spent reviewing) stays lambda / (c mu)
    = 0.8, although many reviews span a weekend."""
    sc = load_scenario(MMC, ["run.cycles=2", "cycle.weekend_activity=0.2", "cycle.start_weekday=4"])
    values = np.array([metrics.reviewer_metrics(started_world(sc, r, 11).run())["core_utilization"] for r in range(10)])
    assert_within_se(values, 4.0 / 5.0, "core utilization with a working week")

"""The Zuul-style gate in isolation, in SimPy's own test style: a bare ``simpy.Environment``,
deterministic run times, outcomes forced by pass probabilities of 0 or 1, and the exact event
log compared with one computed by hand.

Items are told apart by their ``area`` (0, 1, 2, ...), which the gate copies into its log.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from simtest import MONOLITH, Z

from sim._compiled import compiled
from sim.engine.clock import Clock
from sim.engine.rng import Stream, stream_seed
from sim.model.ci import driver_jobs_apply, job_count, jobs_pass_prob, per_area_pass
from sim.model.change import Change
from sim.model.gate import NOT_YET, RUNNING, Gate, GateItem
from sim.model.records import Outcome
from sim.scenario import JobGroup, load_scenario

HOURS = 24.0
JOBS = 10
PASS, FALSE_FAIL, TRUE_FAIL = Outcome.PASS, Outcome.FALSE_FAILURE, Outcome.TRUE_FAILURE
MERGED, EJECTED_FALSE, EJECTED_TRUE = Outcome.PASS, Outcome.FALSE_FAILURE, Outcome.TRUE_FAILURE


def scripted(durations: list[float], cv: float = 0.5) -> Stream:
    """A gate stream whose run-time factors (gamma draws at ``cv``) follow a script; outcomes are
    forced by pass probabilities of 0 or 1, so its uniforms do not matter."""
    stream = Stream("gate", stream_seed(1, 0, "gate"))
    stream.script_gamma(cv, durations)
    return stream


class Harness:
    """A gate, its callbacks' log and the changes it was given."""

    def __init__(self, stream: Any = None, *, window: int = 20, window_floor: int = 1, window_increase: int = 2,
                 window_decrease_factor: float = 2.0, run_time_days: float = 1.0, run_time_cv: float = 0.0) -> None:
        self.clock = Clock()
        self.env = self.clock.env
        self.events: list[tuple[Any, ...]] = []
        self.changes: dict[str, Change] = {}
        self.items: dict[str, GateItem] = {}
        self.name_of: dict[int, str] = {}
        self.gate = Gate(
            self.clock, "test", run_time_days=run_time_days, run_time_cv=run_time_cv, window=window,
            window_floor=window_floor, window_increase=window_increase,
            window_decrease_factor=window_decrease_factor,
            stream=stream if stream is not None else Stream("gate", stream_seed(1, 0, "gate")),
            on_merge=lambda ch: self.events.append(("merge", self.name_of[ch.id], self.env.now)),
            on_reject=lambda ch, true: self.events.append(("reject", self.name_of[ch.id], self.env.now, true)),
        )

    def item(self, name: str, area: int, *, passes: bool = True, defect: bool = False, background: bool = False) -> GateItem:
        change = None
        if not background:
            change = Change(len(self.changes), area, "bug", 10.0, False, False, -1, 0, math.inf, 1.0, 0.0)
            self.changes[name] = change
            self.name_of[change.id] = name
        item = GateItem(change, -1 if background else area, 1.0 if passes else 0.0, 0.0 if defect else 1.0, JOBS)
        self.items[name] = item
        return item

    def enqueue(self, *items: GateItem) -> None:
        for item in items:
            self.gate.enqueue(item)

    def attempts(self) -> dict[str, int]:
        return {name: ch.gate_attempts for name, ch in self.changes.items()}

    def resets(self) -> dict[str, int]:
        return {name: ch.gate_resets for name, ch in self.changes.items()}


# ------------------------------------------------------------------------------ micro-scenarios


def test_all_pass_merge_together() -> None:
    h = Harness()
    h.enqueue(*(h.item(n, i) for i, n in enumerate("ABC")))
    h.env.run()
    assert h.events == [("merge", "A", 1.0), ("merge", "B", 1.0), ("merge", "C", 1.0)]
    assert h.gate.log.resets == []
    assert h.gate.log.runs == [(1.0, 0, PASS, JOBS), (1.0, 1, PASS, JOBS), (1.0, 2, PASS, JOBS)]
    assert h.gate.log.exits == [(1.0, 0, MERGED), (1.0, 1, MERGED), (1.0, 2, MERGED)]
    assert h.gate.window == 20 + 3 * 2
    assert h.gate.depth == 0


def test_false_failure_in_the_middle_resets_only_the_changes_behind() -> None:
    """A..E enqueued at 0, run time 1, C fails falsely: A, B merge at 1, C is ejected at 1,
    D and E (tested on top of C) restart at 1 and merge at 2."""
    h = Harness()
    h.enqueue(h.item("A", 0), h.item("B", 1), h.item("C", 2, passes=False), h.item("D", 3), h.item("E", 4))
    h.env.run()
    assert h.events == [
        ("merge", "A", 1.0), ("merge", "B", 1.0), ("reject", "C", 1.0, False), ("merge", "D", 2.0), ("merge", "E", 2.0),
    ]
    # Completed runs only: D's and E's first runs were cancelled by the reset and never end.
    assert h.gate.log.runs == [
        (1.0, 0, PASS, JOBS), (1.0, 1, PASS, JOBS), (1.0, 2, FALSE_FAIL, JOBS), (2.0, 3, PASS, JOBS), (2.0, 4, PASS, JOBS),
    ]
    # One reset, caused by C, restarting 2 nova items that had each run 1 day on JOBS jobs.
    assert h.gate.log.resets == [(1.0, 2, 2, 2 * 1.0 * JOBS * HOURS, 2)]
    assert h.gate.log.exits == [(1.0, 0, MERGED), (1.0, 1, MERGED), (1.0, 2, EJECTED_FALSE), (2.0, 3, MERGED), (2.0, 4, MERGED)]
    # Items ahead of the failure are untouched; exactly the ones behind restarted once.
    assert h.attempts() == {"A": 1, "B": 1, "C": 1, "D": 2, "E": 2}
    assert h.resets() == {"A": 0, "B": 0, "C": 0, "D": 1, "E": 1}
    assert h.items["D"].started == 1.0 and h.items["E"].started == 1.0 and h.items["A"].started == 0.0
    # Window: 20, +2 per merge (A, B), halved at C's ejection, +2 per merge (D, E).
    assert h.gate.window == (20 + 4) // 2 + 4


def test_true_failure_is_reported_as_such() -> None:
    h = Harness()
    h.enqueue(h.item("A", 0, defect=True), h.item("B", 1))
    h.env.run()
    assert h.events == [("reject", "A", 1.0, True), ("merge", "B", 2.0)]
    assert h.gate.log.runs == [(1.0, 0, TRUE_FAIL, JOBS), (2.0, 1, PASS, JOBS)]
    assert h.gate.log.exits == [(1.0, 0, EJECTED_TRUE), (2.0, 1, MERGED)]
    assert h.gate.log.resets == [(1.0, 0, 1, 1.0 * JOBS * HOURS, 1)]


def test_failing_head_with_nothing_behind_logs_no_reset() -> None:
    h = Harness()
    h.enqueue(h.item("A", 0, passes=False))
    h.env.run()
    assert h.events == [("reject", "A", 1.0, False)]
    assert h.gate.log.resets == []


def test_window_limits_how_many_run_at_once() -> None:
    """window = 2 and no growth: items 3.. wait for a merge before they start."""
    h = Harness(window=2, window_floor=2, window_increase=0)
    h.enqueue(*(h.item(n, i) for i, n in enumerate("ABCDE")))
    h.env.run(until=0.5)
    assert h.attempts() == {"A": 1, "B": 1, "C": 0, "D": 0, "E": 0}
    h.env.run()
    assert h.events == [
        ("merge", "A", 1.0), ("merge", "B", 1.0), ("merge", "C", 2.0), ("merge", "D", 2.0), ("merge", "E", 3.0),
    ]
    assert [h.items[n].started for n in "ABCDE"] == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert h.gate.log.resets == [] and h.gate.window == 2


def test_window_grows_per_merge() -> None:
    """window = 1, +1 per merge: 1 runs, then 2, then 3 (items start at 0, 1, 1, 2, 2, 2)."""
    h = Harness(window=1, window_floor=1, window_increase=1)
    h.enqueue(*(h.item(n, i) for i, n in enumerate("ABCDEF")))
    h.env.run()
    assert [h.items[n].started for n in "ABCDEF"] == [0.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    assert [e[2] for e in h.events] == [1.0, 2.0, 2.0, 3.0, 3.0, 3.0]


def test_window_shrinks_on_ejection_but_not_below_floor() -> None:
    """window 2, halved at A's ejection to 1: B restarts alone, C waits for B's merge."""
    h = Harness(window=2, window_floor=1, window_increase=0)
    h.enqueue(h.item("A", 0, passes=False), h.item("B", 1), h.item("C", 2))
    h.env.run()
    assert h.events == [("reject", "A", 1.0, False), ("merge", "B", 2.0), ("merge", "C", 3.0)]
    assert h.attempts() == {"A": 1, "B": 2, "C": 1}  # C was waiting, not running: not restarted
    assert h.resets() == {"A": 0, "B": 1, "C": 0}
    assert h.gate.log.resets == [(1.0, 0, 1, 1.0 * JOBS * HOURS, 1)]
    assert h.gate.window == 1

    floor = Harness(window=4, window_floor=3, window_increase=0)
    floor.enqueue(floor.item("A", 0, passes=False), floor.item("B", 1))
    floor.env.run()
    assert floor.gate.window == 3  # int(4 / 2) = 2 is below the floor


def test_failing_item_behind_the_head_is_ejected_only_when_the_items_ahead_merge() -> None:
    """Run times 2 (A), 1 (B), 1, 1 (C and its restart): B fails at 1 while A still runs. C restarts
    at 1 (tested without B); B waits in the queue and leaves at 2, right after A merges."""
    h = Harness(scripted([2.0, 1.0, 1.0, 1.0]), run_time_cv=0.5)
    h.enqueue(h.item("A", 0), h.item("B", 1, passes=False), h.item("C", 2))
    h.env.run(until=1.5)
    assert h.events == []  # B has failed but is not ejected: A might still fail
    assert h.gate.log.runs == [(1.0, 1, FALSE_FAIL, JOBS)]
    assert h.gate.log.resets == [(1.0, 1, 1, 1.0 * JOBS * HOURS, 1)]
    assert h.attempts() == {"A": 1, "B": 1, "C": 2}
    h.env.run()
    assert h.events == [("merge", "A", 2.0), ("reject", "B", 2.0, False), ("merge", "C", 2.0)]
    assert h.resets() == {"A": 0, "B": 0, "C": 1}


def test_failure_ahead_restarts_a_failed_item_behind() -> None:
    """A (run time 2) and B (run time 1) both fail. B's failure is final only if A merges; A fails,
    so B is retested without A (restart at 2) and fails again at 3."""
    h = Harness(scripted([2.0, 1.0, 1.0]), run_time_cv=0.5)
    h.enqueue(h.item("A", 0, passes=False), h.item("B", 1, passes=False))
    h.env.run()
    assert h.events == [("reject", "A", 2.0, False), ("reject", "B", 3.0, False)]
    assert [r[:3] for r in h.gate.log.runs] == [(1.0, 1, FALSE_FAIL), (2.0, 0, FALSE_FAIL), (3.0, 1, FALSE_FAIL)]
    assert h.gate.log.resets == [(2.0, 0, 1, 1.0 * JOBS * HOURS, 1)]  # B's failed run took 1 day
    assert h.attempts() == {"A": 1, "B": 2}


def test_wasted_job_hours_count_only_the_time_jobs_ran() -> None:
    """A runs 2 days and fails; B behind it ran 1 day and passed at 1, then idled. B's restart wastes
    1 day of its JOBS jobs, not 2 (regression: idle time was charged too)."""
    h = Harness(scripted([2.0, 1.0, 1.0]), run_time_cv=0.5)
    h.enqueue(h.item("A", 0, passes=False), h.item("B", 1))
    h.env.run()
    assert h.events == [("reject", "A", 2.0, False), ("merge", "B", 3.0)]
    assert h.gate.log.resets == [(2.0, 0, 1, 1.0 * JOBS * HOURS, 1)]


def test_background_items_take_part_in_resets() -> None:
    """X (nova) passes, G (another project) fails, Y (nova) and H (another project) pass:
    G's failure restarts Y and H; G and H leave silently (no callback)."""
    h = Harness()
    h.enqueue(h.item("X", 0), h.item("G", -1, passes=False, background=True), h.item("Y", 1),
              h.item("H", -1, background=True))
    h.env.run()
    assert h.events == [("merge", "X", 1.0), ("merge", "Y", 2.0)]
    assert h.gate.log.resets == [(1.0, -1, 2, 2 * JOBS * HOURS, 1)]  # 2 restarted, 1 of them nova
    assert h.gate.log.exits == [(1.0, 0, MERGED), (1.0, -1, EJECTED_FALSE), (2.0, 1, MERGED), (2.0, -1, MERGED)]
    assert h.attempts() == {"X": 1, "Y": 2} and h.resets() == {"X": 0, "Y": 1}


def test_nova_failure_restarts_background_items_behind() -> None:
    h = Harness()
    h.enqueue(h.item("N", 0, passes=False), h.item("G", -1, background=True))
    h.env.run()
    assert h.events == [("reject", "N", 1.0, False)]
    assert h.gate.log.resets == [(1.0, 0, 1, 1.0 * JOBS * HOURS, 0)]  # restarted 1, nova 0
    assert h.gate.log.exits == [(1.0, 0, EJECTED_FALSE), (2.0, -1, MERGED)]


def test_items_enqueued_later_join_the_tail() -> None:
    h = Harness()
    h.enqueue(h.item("A", 0))
    late = h.item("B", 1)
    h.env.timeout(0.5).callbacks.append(lambda _e: h.gate.enqueue(late))
    h.env.run()
    assert h.events == [("merge", "A", 1.0), ("merge", "B", 1.5)]


def test_background_stream_is_poisson() -> None:
    h = Harness(window=1000)
    rate, days = 10.0, 60.0
    h.gate.start_background(rate, 1.0, 1.0, 3, Stream("background", stream_seed(1, 0, "background")))
    h.env.run(until=days)
    n = sum(1 for _t, area, _o in h.gate.log.exits if area == -1)
    expected = rate * (days - 1.0)  # merged by the end: arrived before days - run time
    assert abs(n - expected) <= Z * math.sqrt(expected)
    assert h.events == []  # background changes never call back
    idle = Harness()
    idle.gate.start_background(0.0, 1.0, 1.0, 3, Stream("background", stream_seed(1, 0, "background")))
    idle.env.run(until=10)
    assert idle.gate.log.exits == []


def test_run_outcomes_and_durations_follow_their_probabilities() -> None:
    """Runs spaced apart (no resets): P(true failure) = 1 - defect_pass,
    P(false failure) = defect_pass (1 - jobs_pass); run time gamma with mean and cv as set."""
    h = Harness(run_time_days=0.5, run_time_cv=0.4)
    n, jobs_pass, defect_pass = 3000, 0.7, 0.9
    for i in range(n):
        item = GateItem(None, i, jobs_pass, defect_pass, JOBS)
        h.env.timeout(2.0 * i).callbacks.append(lambda _e, item=item: h.gate.enqueue(item))
    h.env.run()
    runs = h.gate.log.runs
    assert len(runs) == n == h.gate.runs_started and h.gate.log.resets == []
    expected = {PASS: defect_pass * jobs_pass, FALSE_FAIL: defect_pass * (1 - jobs_pass), TRUE_FAIL: 1 - defect_pass}
    for outcome, p in expected.items():
        share = sum(1 for r in runs if r[2] == outcome) / n
        assert abs(share - p) <= Z * math.sqrt(p * (1 - p) / n), (outcome, share, p)
    durations = [t - 2.0 * area for t, area, _o, _j in runs]
    mean = sum(durations) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in durations) / (n - 1))
    assert abs(mean - 0.5) <= Z * sd / math.sqrt(n)
    assert sd / mean == pytest.approx(0.4, rel=0.1)


# ------------------------------------------------------------------------------ run ends on the engine


class EveryRunEndGate(Gate):
    """The gate as it was: every run end goes on the engine's heap when the run starts, and a
    reset leaves the cancelled ones there to be popped for nothing (stale run ends)."""

    def _arm_earliest(self) -> None:
        """Every run under way goes on the engine (a run starts and is armed in the same engine event)."""
        for item in self.queue[:self.first_waiting]:
            if item.state == RUNNING and item.end != NOT_YET and item.armed != item.generation:
                item.armed = item.generation
                self.clock.at(item.end, item.end_id, self._run_end, item, item.generation)


def busy_gate(gate_class: type[Gate], days: float) -> tuple[Gate, Clock]:
    """A gate under heavy background traffic with flaky jobs and defects: many resets."""
    clock = Clock()
    gate = gate_class(
        clock, "busy", run_time_days=0.3, run_time_cv=0.6, window=8, window_floor=2, window_increase=1,
        window_decrease_factor=2.0, stream=Stream("gate", stream_seed(7, 0, "gate")),
        on_merge=lambda change: None, on_reject=lambda change, true: None,
    )
    gate.start_background(25.0, 0.85, 0.95, JOBS, Stream("background", stream_seed(7, 0, "background")))
    clock.run(until=days)
    return gate, clock


@pytest.mark.skipif(compiled(), reason="subclasses the gate, which a compiled build forbids; `make test` runs "
                                       "the model's tests again on the Python sources")
def test_one_engine_event_per_real_run_end_and_the_same_history() -> None:
    """Against the gate that scheduled every run end: the same runs, resets and exits, bit for bit,
    with the stale run ends (and only those) gone from the engine."""
    gate, clock = busy_gate(Gate, 60.0)
    reference, reference_clock = busy_gate(EveryRunEndGate, 60.0)
    assert reference.stale_run_ends > 100  # the traffic does reset the gate
    assert gate.stale_run_ends == 0
    # Every run started either completed, was cancelled (a stale end, popped), or was still due at the stop.
    done = len(gate.log.runs) + reference.stale_run_ends
    assert gate.runs_started == reference.runs_started
    assert done <= gate.runs_started <= done + len(reference_clock.queue)
    assert (gate.log.run_values, gate.log.reset_values, gate.log.exit_values) == (
        reference.log.run_values, reference.log.reset_values, reference.log.exit_values)
    assert clock.processed() == reference_clock.processed() - reference.stale_run_ends
    assert clock.scheduled() == reference_clock.scheduled()  # the same event ids were taken


# ------------------------------------------------------------------------------ job sets (ci.py)


def test_jobs_pass_prob_is_product_of_job_pass_rates() -> None:
    groups = [JobGroup(name="dsvm", count=9, false_failure_prob=0.05), JobGroup(name="unit", count=4, false_failure_prob=0.01)]
    assert jobs_pass_prob(groups) == pytest.approx(0.95**9 * 0.99**4, rel=1e-12)
    assert jobs_pass_prob(groups, 50, 0.01) == pytest.approx(0.95**9 * 0.99**54, rel=1e-12)
    assert jobs_pass_prob([]) == 1.0
    assert job_count(groups) == 13 and job_count(groups, 50) == 63


def test_driver_jobs_run_on_own_driver_and_non_driver_changes() -> None:
    drivers = ["libvirt", "vmwareapi", "hyperv"]
    assert driver_jobs_apply("vmwareapi", "vmwareapi", drivers)
    assert driver_jobs_apply("vmwareapi", "api", drivers)
    assert not driver_jobs_apply("vmwareapi", "libvirt", drivers)


def test_per_area_pass_counts_third_party_only_when_voting(short_monolith) -> None:
    sc = short_monolith
    base = jobs_pass_prob(sc.gate.jobs)
    drivers = sc.driver_areas
    silent, jobs = per_area_pass(sc, sc.gate.jobs, drivers=drivers, third_party_voting=False)
    assert silent == pytest.approx([base] * len(sc.areas)) and jobs == [13] * len(sc.areas)
    voting, vjobs = per_area_pass(sc, sc.gate.jobs, drivers=drivers, third_party_voting=True)
    p = {name: v for name, v in zip(sc.area_names, voting)}
    q = 1 - 0.075  # default third-party false-failure probability, one job each
    assert p["api"] == pytest.approx(base * q**3)  # non-driver: all three CIs
    assert p["vmwareapi"] == pytest.approx(base * q)  # own CI only
    assert p["libvirt"] == pytest.approx(base)  # no third-party CI of its own
    assert dict(zip(sc.area_names, vjobs))["api"] == 16


def test_more_extra_jobs_lower_the_gate_pass_probability() -> None:
    sc0 = load_scenario(MONOLITH, ["gate.extra_config_jobs=0"])
    sc50 = load_scenario(MONOLITH, ["gate.extra_config_jobs=50"])
    p0, n0 = per_area_pass(sc0, sc0.gate.jobs, extra_jobs=0, extra_fail=0.01, third_party_voting=False)
    p50, n50 = per_area_pass(sc50, sc50.gate.jobs, extra_jobs=50, extra_fail=0.01, third_party_voting=False)
    assert all(b == pytest.approx(a * 0.99**50) for a, b in zip(p0, p50))
    assert all(b == a + 50 for a, b in zip(n0, n50))


def test_driver_configuration_jobs_run_where_their_driver_ci_would() -> None:
    sc = load_scenario(MONOLITH, ["gate.config_jobs_per_driver=10", "gate.config_job_false_failure_prob=0.02"])
    base = jobs_pass_prob(sc.gate.jobs)
    p, n = per_area_pass(sc, sc.gate.jobs, drivers=sc.driver_areas)
    by_area = dict(zip(sc.area_names, zip(p, n)))
    n_drivers = len(sc.driver_areas)
    assert by_area["api"] == (pytest.approx(base * 0.98 ** (10 * n_drivers)), 13 + 10 * n_drivers)
    assert by_area["libvirt"] == (pytest.approx(base * 0.98**10), 23)
    # a pipeline that carries no driver's jobs (nova after a full split) runs none of them
    p_none, n_none = per_area_pass(sc, sc.gate.jobs)
    assert p_none == pytest.approx([base] * len(p)) and n_none == [13] * len(n)

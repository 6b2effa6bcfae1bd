"""Runways as Nova ran them (policy.runways.exclusive = false, sim.policies.runways.Runways).

A blueprint series queues (FIFO) for one of ``slots`` runways once its last change has arrived;
while slotted (at most ``timebox_days``) its waiting changes get a priority lane, cheaper reviews
(focus) and faster authors (``author_response_factor``); nothing is ever held back. The exclusive
hold (the other reading) is tested in test_policies.py.

Micro-scenarios as in test_policies.py (no random arrivals, deterministic review effort, no CI, no
gate, approval is merge), with the series bookkeeping of the change factory set as real arrivals
would set it, so every event time is computed by hand; then an instrumented short run on SMALL, and
the neutral settings that must reproduce the monolith.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from simtest import SCENARIOS, started_world
from test_policies import assert_time_buckets, mechanism, micro_scenario, small

from sim.engine.rng import Streams
from sim.model.arrivals import ChangeFactory
from sim.model.change import Change
from sim.model.records import Records
from sim.policies import MECHANISMS, ExclusiveRunways, Runways, mechanism_class
from sim.runs import metrics
from sim.scenario import Scenario, load_scenario, validate_scenario
from sim.simulate import simulate

# ------------------------------------------------------------------------------ micro-scenarios


class Series:
    """A micro-scenario's world, its injected changes by name, and a log of every review start:
    (time, change name, features holding a runway then)."""

    def __init__(self, raw: dict[str, Any], seed: int = 1) -> None:
        self.world = started_world(validate_scenario(raw, origin="micro"), 0, seed)
        self.runways = next((m for m in self.world.policy.mechanisms if isinstance(m, (Runways, ExclusiveRunways))))
        self.c: dict[str, Change] = {}
        self.names: dict[int, str] = {}
        self.log: list[tuple[float, str, tuple[int, ...]]] = []
        for board in self.world.boards.values():
            board.watch(self._started)

    def _started(self, _board: Any, _reviewer: Any, change: Change) -> None:
        slotted = tuple(sorted(self.runways.runway)) if isinstance(self.runways, Runways) else ()
        self.log.append((round(self.world.clock.now(), 9), self.names[change.id], slotted))

    def at(self, t: float, name: str, *, feature: int = -1, left: int = 0, defects: int = 0,
           patience: float = math.inf) -> None:
        """Change ``name`` arrives at ``t``: a blueprint of series ``feature`` with ``left`` changes
        of its series still to come (as the change factory counts them), or a bug fix (feature -1)."""
        world = self.world

        def arrive() -> None:
            factory = world.factory
            if feature >= 0:  # the factory's series bookkeeping, as ChangeFactory._feature leaves it
                factory.feature_of_area[0] = feature
                factory.feature_left[0] = left
            kind = "blueprint" if feature >= 0 else "bug"
            change = Change(factory.new_id(), 0, kind, 10.0, False, False, feature, defects, patience, 1.0,
                            world.clock.now())
            self.c[name] = change
            self.names[change.id] = name
            world.arrive(change)

        world.clock.after(t, arrive)

    def run(self) -> Records:
        records = self.world.run()
        assert len(self.world.changes) == len(self.c), "a random arrival slipped into the micro-scenario"
        return records


def practised(runways: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A micro-scenario with runways as practised (review effort 1 / rate exactly; see micro_scenario)."""
    return micro_scenario(["runways"], {"runways": {"exclusive": False, **runways}}, **kwargs)


def merged(s: Series, *names: str) -> list[float]:
    return [s.c[n].merged for n in names]


# ------------------------------------------------------------------------------ the reading and the series


def test_the_scenario_picks_the_reading() -> None:
    default = small("policy.mechanisms=['runways']")
    exclusive = small("policy.mechanisms=['runways']", "policy.runways.exclusive=true")
    assert default.policy.runways.exclusive is False
    assert mechanism_class(default, "runways") is Runways
    assert mechanism_class(exclusive, "runways") is ExclusiveRunways
    for name in ("lieutenants", "split", "sponsorship"):
        assert mechanism_class(exclusive, name) is MECHANISMS[name]
    assert type(mechanism(started_world(exclusive, 0, 1), ExclusiveRunways)) is ExclusiveRunways
    assert type(mechanism(started_world(default, 0, 1), Runways)) is Runways
    # the shipped runways.toml is runways as practised
    assert load_scenario(SCENARIOS / "runways.toml").policy.runways.exclusive is False


def test_series_complete_is_true_from_the_last_change_of_a_series_on() -> None:
    """The factory's blueprint series (geometric, mean 3 changes) in three areas, interleaved: asked at
    its arrival, a change's series is complete exactly when it is the series' last change (the next
    blueprint change of its area starts another series), and stays complete afterwards."""
    sc = small("arrivals.blueprint_changes_per_feature=3")
    factory = ChangeFactory(sc, Streams(7, 0))
    changes: list[Change] = []
    at_arrival: list[bool] = []
    for i in range(600):
        area = (0, 1, 0, 2)[i % 4]
        change = factory.make(area, "blueprint", float(i))
        at_arrival.append(factory.series_complete(change))
        changes.append(change)
    by_area: dict[int, list[int]] = {}
    for i, c in enumerate(changes):
        by_area.setdefault(c.area, []).append(i)
    seen = Counter()
    for indices in by_area.values():
        for k, i in enumerate(indices[:-1]):
            last = changes[indices[k + 1]].feature != changes[i].feature
            assert at_arrival[i] == last, f"change {i}: complete {at_arrival[i]}, last of its series {last}"
            seen[last] += 1
    assert seen[True] > 50 and seen[False] > 50  # both cases, many times
    # asked later, every change of a series that has since completed is complete, those that were
    # not at their arrival included
    for idx in by_area.values():
        still_open = changes[idx[-1]].feature
        done = [i for i in idx if changes[i].feature != still_open]
        assert all(factory.series_complete(changes[i]) for i in done)
        assert sum(not at_arrival[i] for i in done) > 10


def test_a_series_gets_a_runway_only_once_its_last_change_arrived() -> None:
    """One core (1 review a day), one runway, priority lane always taken, focus 0.5 of a 0.2
    context-switch share: a slotted review costs 0.9 days. Series A: a0 at 0, a1 at 0.2, a2 (its
    last) at 0.4; series B: b (its only change) at 0.3.
    a0 is reviewed at once, 0-1, though A has no runway (nothing is held); B completes first and
    takes the runway at 0.3, A queues at 0.4. At 1 the lane gives b (1-1.9); b merges, B gives the
    runway back, A takes it: a1 and a2 are reviewed 1.9-2.8 and 2.8-3.7."""
    s = Series(practised({"slots": 1, "priority_share": 1.0, "focus": 0.5}, review={"context_switch_share": 0.2}))
    A, B = 0, 1
    s.at(0.0, "a0", feature=A, left=2)
    s.at(0.2, "a1", feature=A, left=1)
    s.at(0.3, "b", feature=B, left=0)
    s.at(0.4, "a2", feature=A, left=0)
    records = s.run()
    assert merged(s, "a0", "b") == pytest.approx([1.0, 1.9])
    assert sorted(merged(s, "a1", "a2")) == pytest.approx([2.8, 3.7])
    assert [(t, n[0], slots) for t, n, slots in s.log] == [(0.0, "a", ()), (1.0, "b", (B,)), (1.9, "a", (A,)),
                                                          (2.8, "a", (A,))]
    assert {n for _, n, _ in s.log[2:]} == {"a1", "a2"}
    assert all(c.held_time == 0.0 for c in s.c.values())
    assert records.extra["runways_granted"] == 2 and records.extra["runways_max_in_use"] == 1
    assert s.runways.runway == {} and not s.runways.queue


@pytest.mark.parametrize("exclusive", [False, True])
def test_a_change_without_a_runway_is_reviewed_at_once(exclusive: bool) -> None:
    """Two cores, one runway, focus saves 0.1 of a review. a (series A, complete) arrives at 0 and
    takes the runway: reviewed 0-0.9. b (series B, complete) arrives at 0.1 while the runway is taken.
    As practised, the idle core reviews b at once, at full effort: 0.1-1.1, never held. As an
    exclusive hold, b waits for A to give the runway back: held 0.1-0.9, reviewed 0.9-1.8."""
    s = Series(micro_scenario(["runways"], {"runways": {"exclusive": exclusive, "slots": 1, "focus": 0.5}}, cores=2,
                              review={"context_switch_share": 0.2}))
    s.at(0.0, "a", feature=0)
    s.at(0.1, "b", feature=1)
    s.run()
    a, b = s.c["a"], s.c["b"]
    assert a.merged == pytest.approx(0.9)
    if exclusive:
        assert (b.first_review, b.merged, b.held_time) == pytest.approx((0.9, 1.8, 0.8))
    else:
        assert (b.first_review, b.merged, b.held_time) == pytest.approx((0.1, 1.1, 0.0))


def test_the_timebox_sends_an_unfinished_series_to_the_tail_of_the_queue() -> None:
    """One core (1 review a day), one runway with a 2.5-day timebox, lane always taken, no focus.
    Series A: a0..a3 at 0 (a3 its last): a0 is reviewed 0-1 before A is complete; A takes the runway
    when a3 arrives (0). Series B: b at 0.1, queued. A's changes are reviewed 1-2 and 2-3; at 2.5 A's
    time is up with one change still waiting: A queues behind B, B takes the runway and its b is
    reviewed next (3-4, the lane); then A takes the runway again and its last change is reviewed 4-5."""
    s = Series(practised({"slots": 1, "timebox_days": 2.5, "priority_share": 1.0, "focus": 0.0}))
    A, B = 0, 1
    for k in range(4):
        s.at(0.0, f"a{k}", feature=A, left=3 - k)
    s.at(0.1, "b", feature=B)
    records = s.run()
    assert s.c["a0"].merged == pytest.approx(1.0)
    assert sorted(merged(s, "a1", "a2", "a3")) == pytest.approx([2.0, 3.0, 5.0])
    assert s.c["b"].first_review == pytest.approx(3.0) and s.c["b"].merged == pytest.approx(4.0)
    assert [(t, slots) for t, _, slots in s.log] == [(0.0, ()), (1.0, (A,)), (2.0, (A,)), (3.0, (B,)), (4.0, (A,))]
    assert [n for _, n, _ in s.log][3] == "b"
    assert records.extra["runways_granted"] == 3  # A, B, A again
    assert all(c.held_time == 0.0 for c in s.c.values())


@pytest.mark.parametrize("factor", [0.5, 0.25, 1.0])
def test_the_author_of_a_slotted_series_answers_faster(factor: float) -> None:
    """Deterministic authors (response 3 days, sigma 0, no stalls), every review finds a latent
    defect if there is one (detect_prob 1), three cores (nobody waits for a reviewer), one runway.
    a (series A, slotted at 0, one defect), b (series B, queued, two defects) and a bug fix c (one
    defect) arrive at 0 and are reviewed 0-1. Their authors revise: a's in 3 x factor days, b's and
    c's in 3. a is reviewed again 1+3f to 2+3f and merges, giving the runway to B. b's second review
    (4-5) finds its second defect: now slotted, its author takes 3f; b merges at 6+3f, c at 5."""
    s = Series(practised({"slots": 1, "focus": 0.0, "author_response_factor": factor}, cores=3,
                         review={"detect_prob": 1.0},
                         authors={"response_median_days": 3.0, "response_sigma": 0.0, "stall_prob": 0.0}))
    s.at(0.0, "a", feature=0, defects=1)
    s.at(0.0, "b", feature=1, defects=2)
    s.at(0.0, "c", defects=1)
    s.run()
    a, b, c = s.c["a"], s.c["b"], s.c["c"]
    assert (a.author_time, a.merged, a.patch_sets) == pytest.approx((3 * factor, 2 + 3 * factor, 2))
    assert (b.author_time, b.merged, b.patch_sets) == pytest.approx((3 + 3 * factor, 6 + 3 * factor, 3))
    assert (c.author_time, c.merged) == pytest.approx((3.0, 5.0))


def test_the_author_factor_belongs_to_the_practised_reading() -> None:
    """The exclusive hold leaves authors as usual: a (slotted, one defect) revises in 3 days."""
    s = Series(micro_scenario(["runways"], {"runways": {"exclusive": True, "slots": 1, "focus": 0.0,
                                                        "author_response_factor": 0.5}},
                              review={"detect_prob": 1.0},
                              authors={"response_median_days": 3.0, "response_sigma": 0.0, "stall_prob": 0.0}))
    s.at(0.0, "a", feature=0, defects=1)
    s.run()
    assert (s.c["a"].author_time, s.c["a"].merged) == pytest.approx((3.0, 5.0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_lane_gives_slotted_changes_priority(seed: int) -> None:
    """One core (1 review a day), one runway, lane always taken, no focus. A bug fix x arrives at 0
    and is reviewed 0-1. Waiting at 1: s (series 0, complete, took the runway at 0.05), a bug fix n
    (0.1) and u (series 1, complete at 0.15, queued for the runway). The lane gives s (1-2); s
    merges, series 1 takes the runway, and the lane gives u (2-3) before n (3-4), whatever the
    selection stream's draws (three seeds)."""
    s = Series(practised({"slots": 1, "priority_share": 1.0, "focus": 0.0}), seed=seed)
    s.at(0.0, "x")
    s.at(0.05, "s", feature=0)
    s.at(0.1, "n")
    s.at(0.15, "u", feature=1)
    s.run()
    assert [(t, n) for t, n, _ in s.log] == [(0.0, "x"), (1.0, "s"), (2.0, "u"), (3.0, "n")]
    assert [slots for _, _, slots in s.log] == [(), (0,), (1,), ()]
    assert merged(s, "x", "s", "u", "n") == pytest.approx([1.0, 2.0, 3.0, 4.0])


# ------------------------------------------------------------------------------ an instrumented run


def test_runways_never_exceed_their_slots_and_hold_nothing_back() -> None:
    """SMALL with series of mean 3 changes and 2 runways, checked at every review start on any board
    and every quarter day: never more than 2 series slotted; only complete series slotted, never
    longer than the timebox per grant; blueprint changes of unslotted series reviewed too; no change
    held (held_days 0 everywhere)."""
    slots, timebox = 2, 7.0
    world = started_world(small("policy.mechanisms=['runways']", f"policy.runways.slots={slots}",
                                f"policy.runways.timebox_days={timebox}", "arrivals.blueprint_changes_per_feature=3"),
                          0, 3)
    runways = mechanism(world, Runways)
    factory = world.factory
    granted_at: dict[tuple[int, int], float] = {}
    counts: Counter[str] = Counter()

    def check_state() -> None:
        now = world.clock.now()
        assert len(runways.runway) <= slots
        for feature, token in runways.runway.items():
            open_series = [a for a in range(len(factory.feature_of_area))
                           if factory.feature_of_area[a] == feature and factory.feature_left[a] > 0]
            assert not open_series, f"series {feature} slotted before its last change arrived"
            start = granted_at.setdefault((feature, token), now)
            assert now - start <= timebox + 1e-9, f"series {feature} slotted for {now - start:.2f} days"
        counts["in use"] = max(counts["in use"], len(runways.runway))

    def sample() -> None:
        check_state()
        world.clock.after(0.25, sample)

    def started(board: Any, _reviewer: Any, change: Change) -> None:
        check_state()
        if board is world.policy.board and change.feature >= 0:
            counts["slotted" if change.feature in runways.runway else "not slotted"] += 1

    for board in world.boards.values():
        board.watch(started)
    world.clock.after(0.25, sample)
    records = world.run()
    assert counts["slotted"] > 50 and counts["not slotted"] > 50, counts
    assert counts["in use"] == slots == records.extra["runways_max_in_use"]
    assert records.extra["runways_granted"] > 10 * slots
    df = metrics.changes_frame(records)
    assert (df["held_days"] == 0).all()
    assert_time_buckets(df, "runways as practised")


@pytest.mark.parametrize("order", [
    ["split", "runways"],
    ["runways", "split"],
])
def test_runways_are_novas_whatever_the_order_of_mechanisms(order: list[str]) -> None:
    """Runways ration nova's review board: a series reviewed on a split driver's own board never
    queues for one of nova's runways, whichever mechanism the policy lists first (as sponsorship,
    test_policies.test_sponsors_are_nova_cores_whatever_the_order_of_mechanisms)."""
    world = started_world(small(f"policy.mechanisms={order}", "policy.split.drivers=['drv']", "policy.runways.slots=2",
                                "arrivals.blueprint_changes_per_feature=2"), 0, 1)
    runways = mechanism(world, Runways)
    nova = world.policy.board
    world.run()
    split_series = {c.feature for c in world.changes if c.feature >= 0 and c.board is not nova}
    nova_series = {c.feature for c in world.changes if c.feature >= 0 and c.board is nova}
    assert len(split_series) > 5 and len(nova_series) > 5
    assert set(runways.waiting) <= nova_series, f"{len(set(runways.waiting) & split_series)} split driver series tracked"


# ------------------------------------------------------------------------------ neutral runways are the monolith


NEUTRAL = ["policy.runways.exclusive=false", "policy.runways.priority_share=0.0", "policy.runways.focus=0.0",
           "policy.runways.author_response_factor=1.0"]


def _pair(where: str) -> tuple[Scenario, Scenario]:
    if where == "small":
        base = ["arrivals.blueprint_changes_per_feature=3"]
        return small(*base), small(*base, "policy.mechanisms=['runways']", "policy.runways.slots=2", *NEUTRAL)
    short = ["run.warmup_days=30"]
    return (load_scenario(SCENARIOS / "monolith.toml", short),
            load_scenario(SCENARIOS / "runways.toml", [*short, *NEUTRAL]))


def _comparable(records: Records) -> tuple[Any, ...]:
    """Every change record and reviewer record, NaN made comparable."""
    def clean(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in row)

    return tuple(clean(c) for c in records.changes), tuple(records.reviewers)


@pytest.mark.parametrize("where", ["small", "runways.toml"])
def test_neutral_runways_are_the_monolith_bit_for_bit(where: str) -> None:
    """No priority, no focus, authors as usual: runways as practised hold nothing back and change
    nothing, so every record equals the monolith's under the same seed."""
    mono, neutral = _pair(where)
    assert _comparable(simulate(neutral, 0, 4)) == _comparable(simulate(mono, 0, 4))


@pytest.mark.parametrize("where", ["small", "runways.toml"])
def test_neutral_runways_without_their_lane_are_the_monolith_bit_for_bit(where: str) -> None:
    """The same comparison with the zero-share lane taken off nova's board after the world is built:
    the records are the monolith's, so the mechanism itself (queue, grants, timeboxes, factors of 1)
    holds nothing back, with or without its zero-share lane."""
    mono, neutral = _pair(where)
    world = started_world(neutral, 0, 4)
    assert [share for share, *_ in world.policy.board.lanes] == [0.0]
    world.policy.board.lanes.clear()
    records = world.run()
    assert records.extra["runways_granted"] > 0, "the runways did grant"
    assert _comparable(records) == _comparable(simulate(mono, 0, 4))

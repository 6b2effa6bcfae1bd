"""Review: the weighted waiting queue, the review board with deterministic effort, reviewer
expertise, and the rule that a reviewer reviews a patch set at most once."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats
from simtest import MMC, started_world

from sim.engine.clock import Clock
from sim.engine.rng import Stream, stream_seed
from sim.model.change import Change
from sim.model.queue import WeightedQueue
from sim.model.review import ReviewBoard
from sim.model.reviewers import Reviewer, activity, core_team, expertise_weights
from sim.runs.runner import run_replications
from sim.scenario import Scenario, ScenarioError, load_scenario


def stream(name: str, seed: int = 1) -> Stream:
    return Stream(name, stream_seed(seed, 0, name))


def change(id: int, area: int = 0, *, attractiveness: float = 1.0, patience: float = math.inf, size: float = 10.0) -> Change:
    return Change(id, area, "bug", size, False, False, -1, 0, patience, attractiveness, 0.0)


# ------------------------------------------------------------------------------ WeightedQueue


def test_weighted_queue_add_remove_bookkeeping() -> None:
    q, pos = WeightedQueue(2), {}
    changes = [change(i, area=i % 2, attractiveness=1.0 + i) for i in range(10)]
    for c in changes:
        q.add(c, pos, c.attractiveness)
    assert len(q) == 10
    assert q.totals == pytest.approx([1 + 3 + 5 + 7 + 9, 2 + 4 + 6 + 8 + 10])
    rng = random.Random(4)
    alive = list(changes)
    while alive:
        c = alive.pop(rng.randrange(len(alive)))
        q.remove(c, pos)
        assert c.id not in pos
        assert len(q) == len(alive)
        for a in (0, 1):
            # every remaining item sits where ``position`` says, with its own weight
            assert sorted(x.id for x in q.items[a]) == sorted(x.id for x in alive if x.area == a)
            for i, x in enumerate(q.items[a]):
                assert pos[x.id] == i and q.weights[a][i] == x.attractiveness
            assert q.totals[a] == pytest.approx(sum(x.attractiveness for x in alive if x.area == a), abs=1e-12)
    assert q.totals == [0.0, 0.0]


def test_weighted_queue_draw_empty_or_excluded_gives_none() -> None:
    q, pos = WeightedQueue(2), {}
    s = stream("selection")
    assert q.draw([1.0, 1.0], s) is None
    q.add(change(0, area=1), pos, 1.0)
    assert q.draw([1.0, 0.0], s) is None  # the only waiting change is in an area of weight 0
    assert q.draw([0.0, 1.0], s).id == 0


def test_weighted_queue_draw_is_proportional_to_expertise_times_attractiveness() -> None:
    """Area 0 holds weights 1, 2, 3, 4 (area weight 1); area 1 holds 10 (area weight 0.5):
    P = 1, 2, 3, 4, 5 over 15. Chi-square goodness of fit with a fixed seed."""
    q, pos = WeightedQueue(2), {}
    for i, w in enumerate([1.0, 2.0, 3.0, 4.0]):
        q.add(change(i, 0, attractiveness=w), pos, w)
    q.add(change(4, 1, attractiveness=10.0), pos, 10.0)
    s = stream("selection", 7)
    n = 30_000
    counts = Counter(q.draw([1.0, 0.5], s).id for _ in range(n))
    observed = np.array([counts[i] for i in range(5)])
    expected = n * np.array([1, 2, 3, 4, 5]) / 15
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    # and a removed change is never drawn again
    q.remove(q.items[1][0], pos)
    assert all(q.draw([1.0, 0.5], s).area == 0 for _ in range(1000))


def weight_of(q: WeightedQueue, c: Change, position: dict[int, int]) -> float:
    return q.weights[c.area][position[c.id]]


def test_weighted_queue_keeps_the_weight_given_at_add_and_rescales_all_alike() -> None:
    q, pos = WeightedQueue(1), {}
    a, b, c = change(0), change(1), change(2)
    for x, w in ((a, 1.0), (b, 4.0), (c, 0.5)):
        q.add(x, pos, w)
    assert weight_of(q, b, pos) == 4.0 and q.totals == [5.5]
    q.remove(a, pos)  # c moves into a's slot and keeps its own weight
    assert weight_of(q, c, pos) == 0.5 and q.totals[0] == pytest.approx(4.5)
    q.rescale(0.25)
    assert (weight_of(q, b, pos), weight_of(q, c, pos)) == (1.0, 0.125) and q.totals[0] == pytest.approx(1.125)


# ------------------------------------------------------------------------------ reviewers


def test_expertise_weights_give_exactly_the_expert_share(short_monolith) -> None:
    sc = short_monolith
    n = 20
    weights = expertise_weights(sc, n, stream("roster"))
    assert len(weights) == n
    for a, area in enumerate(sc.areas.values()):
        column = [w[a] for w in weights]
        assert column.count(1.0) == round(area.expert_share * n)
        assert set(column) <= {1.0, sc.review.non_expert_weight}
    team = core_team(sc, stream("roster"))
    levels = activity(sc.review.cores, sc.review.activity_sigma, sc.review.reference_cores)
    assert len(team) == sc.review.cores
    assert [r.rate for r in team] == pytest.approx([sc.review.reviews_per_core_per_day * x for x in levels])
    assert [r.weights for r in team] == expertise_weights(sc, sc.review.cores, stream("roster"))  # same stream, same roster


def test_activity_levels_average_one_and_a_cut_keeps_the_most_active() -> None:
    from scipy.stats import norm

    flat = activity(5, 0.0)
    assert flat == [1.0] * 5
    levels = activity(20, 1.0)
    assert sum(levels) / 20 == pytest.approx(1.0)
    assert levels == sorted(levels, reverse=True)
    # member k of 20 sits at the (k + 0.5) / 20 upper quantile of the lognormal, scaled to mean 1
    raw = [math.exp(norm.ppf(1 - (k + 0.5) / 20)) for k in range(20)]
    assert levels == pytest.approx([x / (sum(raw) / 20) for x in raw])
    cut = activity(15, 1.0, reference=20)
    assert cut == pytest.approx(levels[:15])  # the roster cut removes the five least active
    grown = activity(22, 1.0, reference=20)
    assert grown[20:] == pytest.approx([20 / sum(raw)] * 2)  # added members have the median activity


# ------------------------------------------------------------------------------ ReviewBoard micro-scenarios


class Board:
    """A review board on a bare environment with deterministic effort (cv 0) and logged callbacks."""

    def __init__(self, reviewers: list[Reviewer], n_areas: int = 1, *, reoffer: bool = False,
                 window: tuple[float, float] = (0.0, math.inf), size_elasticity: float = 0.0,
                 activity: Callable[[float], float] | None = None) -> None:
        self.clock = Clock()
        self.env = self.clock.env
        self.reviewed: list[tuple[int, int, float]] = []  # (change, reviewer, time)
        self.expired: list[tuple[int, float, float]] = []  # (change, abandoned at, noticed at)
        self.reoffer = reoffer

        def on_reviewed(c: Change, r: Reviewer) -> None:
            self.reviewed.append((c.id, r.id, self.env.now))
            if self.reoffer:  # not enough votes: back to the board, like Policy.offer
                self.offer(c)

        self.board = ReviewBoard(
            self.clock, "test", reviewers, n_areas, selection=stream("selection"), effort=stream("review"),
            effort_cv=0.0, median_size=10.0, size_elasticity=size_elasticity, window=window,
            on_reviewed=on_reviewed, on_expired=lambda c, at: self.expired.append((c.id, at, self.env.now)),
            activity=activity,
        )

    def offer(self, *changes: Change) -> None:
        """The changes are ready for review now (as ``Policy.offer`` marks them) and offered."""
        for c in changes:
            c.ready_since = self.clock.now()
            self.board.offer(c)


def reviewer(id: int = 0, rate: float = 1.0, weights: list[float] | None = None) -> Reviewer:
    return Reviewer(id, f"core-{id}", "core", rate, weights or [1.0])


def test_one_reviewer_reviews_three_changes_one_after_another() -> None:
    r = reviewer(rate=1.0)
    b = Board([r])
    changes = [change(i) for i in range(3)]
    b.offer(*changes)
    assert b.board.waiting() == 2 and r.busy
    b.env.run()
    assert [t for _c, _r, t in b.reviewed] == [1.0, 2.0, 3.0]
    assert sorted(c for c, _r, _t in b.reviewed) == [0, 1, 2]
    assert b.reviewed[0][0] == 0  # offered to an idle reviewer: taken at once
    assert sorted(c.first_review for c in changes) == [0.0, 1.0, 2.0]
    assert sorted(c.wait_review for c in changes) == [0.0, 1.0, 2.0]
    assert all(c.core_reviews == 1 and c.reviewed_by == {0} for c in changes)
    assert all(math.isnan(c.ready_since) for c in changes)
    assert r.reviews == 3 and r.busy_days == 3.0 and not r.busy
    assert b.board.idle == [r] and b.board.waiting() == 0


def test_review_time_scales_with_rate_and_size() -> None:
    fast = Board([reviewer(rate=2.0)])
    fast.offer(change(0), change(1))
    fast.env.run()
    assert [t for *_x, t in fast.reviewed] == [0.5, 1.0]
    big = Board([reviewer(rate=1.0)], size_elasticity=0.5)
    big.offer(change(0, size=40.0))  # (40 / median 10) ** 0.5 = 2 median reviews of effort
    big.env.run()
    assert [t for *_x, t in big.reviewed] == [2.0]


def test_review_time_follows_the_activity_of_the_week_it_starts_in() -> None:
    """Activity 0.5 before t = 2 and 2.0 after: one-day reviews take 2 days, then half a day."""
    b = Board([reviewer(rate=1.0)], activity=lambda t: 0.5 if t < 2.0 else 2.0)
    b.offer(*(change(i) for i in range(3)))
    b.env.run()
    assert [t for *_x, t in b.reviewed] == [2.0, 2.5, 3.0]


def test_weekly_activity_in_a_world_moves_review_capacity_by_week() -> None:
    """M/M/5 at load 0.8 with activity 0.5 / 1.5 in alternate weeks: slow weeks (capacity 2.5 a day
    against 4 arrivals) start far fewer first reviews than fast ones (7.5 a day)."""
    sc = load_scenario(MMC, ["run.cycle_weeks=4", "run.cycles=10", "review.weekly_activity=[0.5, 1.5, 0.5, 1.5]"])
    world = started_world(sc, 0, 3)
    start = world.window[0]
    assert [world.review_activity(start + d) for d in (0.0, 6.9, 7.0, 13.9, 14.0, 28.0)] == [0.5, 0.5, 1.5, 1.5, 0.5, 0.5]
    world.run()
    weeks = [world.cycle_week(c.first_review) % 2 for c in world.changes if c.first_review >= start]
    slow, fast = weeks.count(0), weeks.count(1)
    assert slow < 0.6 * fast, (slow, fast)


def test_attention_decays_with_the_age_of_the_patch_set() -> None:
    """Half-life 10 days: a patch set uploaded 10 days later weighs twice as much while both wait,
    and moving the origin to avoid overflow changes no ratio."""
    b = Board([reviewer()])
    board = b.board
    board.attention_decay = math.log(2.0) / 10.0
    old, fresh = change(0), change(1)
    old.last_upload, fresh.last_upload = 0.0, 10.0
    assert board.selection_weight(fresh) / board.selection_weight(old) == pytest.approx(2.0)
    board.queue.add(old, board.position, board.selection_weight(old))
    b.env.run(until=8000.0)  # 800 half-lives, past e^500: the next weight moves the origin to now
    late = change(2)
    late.last_upload = 7990.0
    late_weight = board.selection_weight(late)
    assert board.attention_origin == 8000.0 and math.isfinite(late_weight)
    assert late_weight / weight_of(board.queue, old, board.position) == pytest.approx(2.0 ** 799.0, rel=1e-9)


def test_attention_decay_favours_fresh_patch_sets_in_a_world() -> None:
    """M/M/5 at load 0.92 (no attractiveness heterogeneity): with a short half-life, service tends
    towards last-come-first-served, so the wait for a first review spreads out (its coefficient of
    variation grows) and its far tail lengthens, against the same seed without decay."""
    stats_by_run = []
    for halflife in ([], ["review.attention_halflife_days=1.0"]):
        sc = load_scenario(MMC, ["run.cycles=4", "areas.all.rate_per_day=4.6", *halflife])
        world = started_world(sc, 0, 5)
        world.run()
        waits = np.array([c.first_review - c.arrived for c in world.changes if not math.isnan(c.first_review)])
        stats_by_run.append((waits.std() / waits.mean(), np.quantile(waits, 0.99)))
    (cv_flat, p99_flat), (cv_decay, p99_decay) = stats_by_run
    assert cv_decay > 1.3 * cv_flat and p99_decay > p99_flat, stats_by_run


def test_two_reviewers_work_in_parallel() -> None:
    b = Board([reviewer(0), reviewer(1)])
    b.offer(*(change(i) for i in range(4)))
    b.env.run()
    assert sorted(t for *_x, t in b.reviewed) == [1.0, 1.0, 2.0, 2.0]
    assert Counter(r for _c, r, _t in b.reviewed) == {0: 2, 1: 2}


def test_reviewer_never_reviews_the_same_patch_set_twice() -> None:
    """One reviewer, changes re-offered after each review (one vote short of approval): each is
    reviewed once, then waits; after a new patch set (reviewed_by cleared) it is reviewed again."""
    r = reviewer()
    b = Board([r], reoffer=True)
    c0, c1 = change(0), change(1)
    b.offer(c0, c1)
    b.env.run(until=50)
    assert [(c, t) for c, _r, t in b.reviewed] == [(0, 1.0), (1, 2.0)]
    assert b.board.waiting() == 2 and b.board.idle == [r]
    # a new patch set of c0: votes and reviewers cleared, offered again
    b.board.withdraw(c0)
    c0.reviewed_by.clear()
    b.reoffer = False
    b.offer(c0)
    b.env.run(until=100)
    assert [(c, t) for c, _r, t in b.reviewed][2:] == [(0, 51.0)]
    assert c0.core_reviews == 2 and c1.core_reviews == 1


def test_area_weight_zero_is_never_picked() -> None:
    """r0 knows area 0 only, r1 area 1 only, nobody area 2 (all weights 0 or 1)."""
    r0, r1 = reviewer(0, weights=[1.0, 0.0, 0.0]), reviewer(1, weights=[0.0, 1.0, 0.0])
    b = Board([r0, r1], n_areas=3)
    changes = [change(i, area=i % 3) for i in range(30)]
    b.offer(*changes)
    b.env.run()
    by = {c: r for c, r, _t in b.reviewed}
    assert len(by) == 20
    assert all(by[c.id] == c.area for c in changes if c.area < 2)
    assert all(c.id not in by and math.isnan(c.first_review) for c in changes if c.area == 2)
    assert b.board.waiting() == 10


def test_non_expert_weight_lowers_the_chance_of_picking_an_area() -> None:
    """A reviewer with area weights 1 and 0.25, busy until t = 1 while c1 (area 0) and c2 (area 1)
    wait with equal attractiveness, picks c1 at t = 1 with probability 1 / 1.25."""
    picked_area0 = []
    for seed in range(1, 2001):
        b = Board([reviewer(weights=[1.0, 0.25])], n_areas=2)
        b.board.selection = stream("selection", seed)
        c1, c2 = change(1, area=0), change(2, area=1)
        b.offer(change(0, area=0), c1, c2)
        b.env.run(until=1.5)
        assert math.isnan(c1.first_review) != math.isnan(c2.first_review)  # exactly one was picked
        picked_area0.append(not math.isnan(c1.first_review))
    n, p = len(picked_area0), 1 / 1.25
    share = sum(picked_area0) / n
    assert abs(share - p) <= 3 * math.sqrt(p * (1 - p) / n)


def test_patience_expires_lazily_at_the_deadline() -> None:
    """c1 waits behind c0 with patience 0.5: when the reviewer looks at t = 1 it is gone, abandoned
    at 0.5. c2 (patience 3) waits behind a long review and is expired at the end of the run."""
    r = reviewer(rate=1.0)
    b = Board([r])
    b.offer(change(0), change(1, patience=0.5))
    b.env.run()
    assert [c for c, _r, _t in b.reviewed] == [0]
    assert b.expired == [(1, 0.5, 1.0)]
    assert b.board.waiting() == 0 and b.board.idle == [r]

    slow = Board([reviewer(rate=0.01)], window=(0.0, 10.0))  # a 100-day review
    c2 = change(2, patience=3.0)
    slow.offer(change(0), c2)
    slow.env.run(until=10.0)
    assert slow.expired == []
    slow.board.close(10.0)
    assert slow.expired == [(2, 3.0, 10.0)]
    busy = slow.board.reviewers[0]
    assert busy.busy_days == 10.0 and busy.reviews == 0  # busy through the whole window, nothing finished


def test_infinite_patience_never_expires() -> None:
    """Where authors never abandon (``authors.abandonment = false``) a change's patience is infinite."""
    b = Board([reviewer(rate=0.01)])
    b.offer(change(0), change(1, patience=math.inf))
    b.env.run(until=50)
    b.board.close(50)
    assert b.expired == [] and b.board.waiting() == 1


def test_authors_who_never_abandon_have_infinite_patience() -> None:
    on, off = (started_world(mmc_variant(f"authors.abandonment={flag}"), 0, 3) for flag in ("true", "false"))
    on.run()
    off.run()
    assert all(math.isinf(c.patience) for c in off.changes) and all(math.isfinite(c.patience) for c in on.changes)
    assert [c.id for c in on.changes[:50]] == [c.id for c in off.changes[:50]]


# ------------------------------------------------------------------------------ through a World


def mmc_variant(*overrides: str):
    return load_scenario(MMC, ["run.warmup_days=0", "run.cycles=1", "areas.all.rate_per_day=1.0", *overrides])


def unchecked(scenario: Scenario, section: str, **values: object) -> Scenario:
    """``scenario`` with ``values`` in ``section``, skipping validation: a set-up the loader refuses
    (to test that the engine itself behaves, should one get through)."""
    return scenario.model_copy(update={section: getattr(scenario, section).model_copy(update=values)})


def test_two_votes_with_one_core_are_refused_and_never_approve() -> None:
    with pytest.raises(ScenarioError, match="review.votes_required .2. exceeds the 1 nova cores who can vote"):
        mmc_variant("review.cores=1", "review.votes_required=2")
    sc = unchecked(mmc_variant("review.votes_required=2", "review.cores=2"), "review", cores=1)
    c = run_replications(sc, 1, 3).changes
    assert len(c) > 100
    assert c["approved"].isna().all() and c["merged"].isna().all()
    assert c["core_reviews"].max() == 1 and (c["core_reviews"] == 1).sum() > 100


def test_two_votes_come_from_two_different_cores() -> None:
    sc = mmc_variant("review.cores=2", "review.votes_required=2")
    world = started_world(sc, 0, 3)
    world.run()
    merged = [c for c in world.changes if not math.isnan(c.merged)]
    assert len(merged) > 100
    assert all(c.core_reviews == 2 and len({r.id for r in c.votes}) == 2 for c in merged)


def test_area_nobody_may_review_is_refused_and_never_reviewed() -> None:
    orphan_area = ["new=areas.orphan", "areas.orphan.rate_per_day=0.5", "areas.orphan.expert_share=0.0",
                   "areas.orphan.defects_mean=0.0", "areas.orphan.kind_mix={bug=1.0}"]
    with pytest.raises(ScenarioError, match="no reviewers for area 'orphan'"):
        mmc_variant(*orphan_area, "review.non_expert_weight=0.0")
    sc = unchecked(mmc_variant(*orphan_area, "review.non_expert_weight=0.01"), "review", non_expert_weight=0.0)
    c = run_replications(sc, 1, 3).changes
    orphan, known = c[c["area"] == "orphan"], c[c["area"] == "all"]
    assert len(orphan) > 30 and len(known) > 100
    assert orphan["first_review"].isna().all() and orphan["merged"].isna().all()
    assert known["first_review"].notna().mean() > 0.95


def test_deterministic_reviews_in_a_world() -> None:
    """effort_cv = 0 and one vote: every merged change spent exactly 1 / rate in review."""
    sc = mmc_variant("review.effort_cv=0.0", "review.reviews_per_core_per_day=2.0")
    c = run_replications(sc, 1, 3).changes
    done = c[c["merged"].notna()]
    assert len(done) > 100
    assert np.allclose(done["merged"] - done["first_review"], 0.5, atol=1e-9)
    assert np.allclose(done["first_review"] - done["arrived"], done["wait_review_days"], atol=1e-9)

"""The test-node pool (``ci.nodes``, sim.model.nodes): exact event logs computed by hand, the node
queue against Erlang C, the job tables' node counts, and an unbounded pool leaving every output as it was."""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from simtest import MONOLITH, SCENARIOS, assert_within_se

from sim import theory
from sim.engine.clock import Clock
from sim.engine.rng import Stream, stream_seed
from sim.model.ci import job_tables
from sim.model.gate import Gate, GateItem
from sim.model.nodes import CHECK, GATE, NodePool
from sim.model.records import Outcome
from sim.runs import metrics
from sim.scenario import load_scenario
from sim.simulate import simulate

PASS, FALSE_FAIL = int(Outcome.PASS), int(Outcome.FALSE_FAILURE)


def pool_of(nodes: int) -> tuple[Clock, NodePool]:
    clock = Clock()
    return clock, NodePool(clock, nodes)


def ask(clock: Clock, pool: NodePool, at: float, jobs: int, duration: float, pipeline: int, area: int,
        started: list[tuple[int, float]]) -> None:
    """At time ``at``, a run of ``area`` asks for ``jobs`` nodes; ``started`` gets (area, time its last job started)."""
    def request() -> None:
        pool.run(jobs, duration, pipeline, area, lambda: started.append((area, clock.now())))
    clock.after(at, request)


# ------------------------------------------------------------------------------ exact logs


def test_one_node_second_run_waits_exactly_the_first_runs_duration() -> None:
    clock, pool = pool_of(1)
    started: list[tuple[int, float]] = []
    ask(clock, pool, 0.0, 1, 0.75, CHECK, 0, started)
    ask(clock, pool, 0.0, 1, 0.5, CHECK, 1, started)
    clock.run()
    assert started == [(0, 0.0), (1, 0.75)]
    assert pool.log.runs == [(0.0, 0.0, CHECK, 0, 1), (0.0, 0.75, CHECK, 1, 1)]
    assert clock.now() == 1.25 and pool.resource.count == 0  # the second job freed its node at 0.75 + 0.5


def test_gate_jobs_are_served_before_check_jobs_that_asked_earlier() -> None:
    clock, pool = pool_of(1)
    started: list[tuple[int, float]] = []
    ask(clock, pool, 0.0, 1, 1.0, CHECK, 0, started)  # holds the node until 1
    ask(clock, pool, 0.25, 1, 1.0, CHECK, 1, started)
    ask(clock, pool, 0.5, 1, 1.0, GATE, 2, started)
    clock.run()
    assert started == [(0, 0.0), (2, 1.0), (1, 2.0)]


def test_each_job_holds_its_node_for_its_own_duration() -> None:
    """Two nodes. R0 (2 jobs) runs 0-1. R1 (3 jobs, asked at 0.5) gets two nodes at 1 and its third at 2,
    when its first two jobs end; R2 (asked at 1.5, behind R1's third job) gets the other one at 2."""
    clock, pool = pool_of(2)
    started: list[tuple[int, float]] = []
    ask(clock, pool, 0.0, 2, 1.0, GATE, 0, started)
    ask(clock, pool, 0.5, 3, 1.0, GATE, 1, started)
    ask(clock, pool, 1.5, 1, 1.0, GATE, 2, started)
    clock.run()
    assert started == [(0, 0.0), (1, 2.0), (2, 2.0)]
    assert pool.log.runs == [(0.0, 0.0, GATE, 0, 2), (0.5, 2.0, GATE, 1, 3), (1.5, 2.0, GATE, 2, 1)]
    assert clock.now() == 3.0


def one_node_gate(clock: Clock, pool: NodePool | None) -> Gate:
    """A gate of deterministic 1-day runs on ``pool``; items are told apart by their area."""
    return Gate(clock, "test", run_time_days=1.0, run_time_cv=0.0, window=20, window_floor=20, window_increase=2,
                window_decrease_factor=2.0, stream=Stream("gate", stream_seed(1, 0, "gate")),
                on_merge=lambda change: None, on_reject=lambda change, true: None, nodes=pool)


def enqueue_at_zero(clock: Clock, gate: Gate, *items: GateItem) -> None:
    def enter() -> None:
        for item in items:
            gate.enqueue(item)
    clock.after(0.0, enter)


def test_gate_on_one_node_runs_its_items_one_after_the_other() -> None:
    clock, pool = pool_of(1)
    gate = one_node_gate(clock, pool)
    enqueue_at_zero(clock, gate, GateItem(None, 0, 1.0, 1.0, 1), GateItem(None, 1, 1.0, 1.0, 1))
    clock.run()
    assert gate.log.runs == [(1.0, 0, PASS, 1), (2.0, 1, PASS, 1)]
    assert gate.log.exits == [(1.0, 0, PASS), (2.0, 1, PASS)]
    assert pool.log.runs == [(0.0, 0.0, GATE, 0, 1), (0.0, 1.0, GATE, 1, 1)]  # item 1 waited item 0's run


def test_reset_withdraws_a_waiting_run_which_wasted_no_node() -> None:
    """Item 0 fails falsely at 1 while item 1 still waits for the only node: item 1's request is withdrawn
    (never logged), it wasted no job-hours, restarts at 1 and merges at 2. Without the pool it would have
    run 0-1 on top of item 0 and wasted 24 job-hours."""
    clock, pool = pool_of(1)
    gate = one_node_gate(clock, pool)
    enqueue_at_zero(clock, gate, GateItem(None, 0, 0.0, 1.0, 1), GateItem(None, 1, 1.0, 1.0, 1))
    clock.run()
    assert gate.log.runs == [(1.0, 0, FALSE_FAIL, 1), (2.0, 1, PASS, 1)]
    assert gate.log.resets == [(1.0, 0, 1, 0.0, 0)]
    assert gate.log.exits == [(1.0, 0, FALSE_FAIL), (2.0, 1, PASS)]
    assert pool.log.runs == [(0.0, 0.0, GATE, 0, 1), (1.0, 1.0, GATE, 1, 1)]
    assert pool.resource.count == 0 and not pool.resource.queue

    unbounded_clock = Clock()
    unbounded = one_node_gate(unbounded_clock, None)
    enqueue_at_zero(unbounded_clock, unbounded, GateItem(None, 0, 0.0, 1.0, 1), GateItem(None, 1, 1.0, 1.0, 1))
    unbounded_clock.run()
    assert unbounded.log.resets == [(1.0, 0, 1, 24.0, 0)]


def test_reset_frees_the_nodes_of_a_running_item() -> None:
    """Two nodes, 1-day runs. Items 0 and 1 (1 job each) get them at 0; item 2 (2 jobs) waits. At 1 item 0's run
    end comes before item 1's: item 0 fails falsely and resets items 1 and 2. Item 1 ran 1 day on its node
    (24 job-hours wasted), item 2 none; item 1's node is freed by the reset, item 2's requests withdrawn.
    Restarted, item 1 runs 1-2 and item 2 gets one node at 1 and its second at 2 (item 1's): it runs 2-3."""
    clock, pool = pool_of(2)
    gate = one_node_gate(clock, pool)
    enqueue_at_zero(clock, gate, GateItem(None, 0, 0.0, 1.0, 1), GateItem(None, 1, 1.0, 1.0, 1),
                    GateItem(None, 2, 1.0, 1.0, 2))
    clock.run()
    assert gate.log.resets == [(1.0, 0, 2, 24.0, 0)]
    assert gate.log.exits == [(1.0, 0, FALSE_FAIL), (2.0, 1, PASS), (3.0, 2, PASS)]
    assert pool.log.runs == [(0.0, 0.0, GATE, 0, 1), (0.0, 0.0, GATE, 1, 1), (1.0, 1.0, GATE, 1, 1),
                             (1.0, 2.0, GATE, 2, 2)]
    assert pool.resource.count == 0 and not pool.resource.queue


# ------------------------------------------------------------------------------ M/M/c


def mmc_node_waits(nodes: int, arrival_rate: float, service_rate: float, seed: int, horizon: float,
                   warmup: float) -> float:
    """Mean node wait of single-job runs arriving as a Poisson stream, each holding a node an exponential time."""
    clock, pool = pool_of(nodes)
    rng = np.random.default_rng(seed)

    def arrive() -> None:
        pool.run(1, float(rng.exponential(1.0 / service_rate)), CHECK, 0, lambda: None)
        clock.after(float(rng.exponential(1.0 / arrival_rate)), arrive)

    clock.after(float(rng.exponential(1.0 / arrival_rate)), arrive)
    clock.run(until=horizon)
    runs = np.asarray(pool.log.run_values, dtype=float).reshape(-1, 5)
    measured = runs[runs[:, 0] >= warmup]
    return float((measured[:, 1] - measured[:, 0]).mean())


def test_node_queue_mean_wait_is_erlang_c() -> None:
    """M/M/3 at 80 % load: the mean wait for a node over 20 replications against W_q = C(c, a) / (c mu - lambda).

    Waits of runs that asked before the horizon but never started are not logged; at 80 % load over 3000 days
    they are a handful against ~7000 runs.
    """
    nodes, lam, mu = 3, 2.4, 1.0
    waits = np.array([mmc_node_waits(nodes, lam, mu, seed, horizon=3000.0, warmup=300.0) for seed in range(20)])
    expected = theory.mmc_mean_wait(lam, mu, nodes)
    assert expected == pytest.approx(theory.erlang_c(3, 2.4) / 0.6)
    assert_within_se(waits, expected, "M/M/3 node wait")


# ------------------------------------------------------------------------------ job tables


@pytest.fixture(scope="module")
def split_with_config_jobs() -> Callable[..., object]:
    def load(**sets: object) -> object:
        overrides = ["gate.config_jobs_per_driver=2"] + [f"{k}={v}" for k, v in sets.items()]
        return load_scenario(SCENARIOS / "split.toml", overrides=overrides)
    return load


def test_split_drivers_configuration_jobs_stay_in_novas_pipelines(split_with_config_jobs) -> None:
    kept = split_with_config_jobs()
    moved = split_with_config_jobs(**{"policy.split.config_jobs_in_nova": "false"})
    names = kept.area_names
    split = kept.mechanism_drivers("split")
    assert split, "split.toml splits out drivers"
    nova_area = next(i for i, name in enumerate(names) if name not in kept.driver_areas)
    in_nova = [d for d in kept.driver_areas if d not in split]
    k, m = job_tables(kept), job_tables(moved)
    # Every driver's 2 configuration jobs run on a change outside the drivers; without the rule only those in nova.
    assert k.gate_jobs[nova_area] - m.gate_jobs[nova_area] == 2 * len(split)
    assert k.gate_nodes[nova_area] - m.gate_nodes[nova_area] == 2 * len(split)
    assert k.check_nodes[nova_area] - m.check_nodes[nova_area] == 2 * len(split)
    assert k.gate_pass[nova_area] == pytest.approx(m.gate_pass[nova_area] * 0.99 ** (2 * len(split)))
    assert k.check_pass[nova_area] == pytest.approx(m.check_pass[nova_area] * 0.99 ** (2 * len(split)))
    gate_common = sum(g.count for g in kept.gate.jobs)
    assert k.gate_nodes[nova_area] == gate_common + 2 * (len(in_nova) + len(split))
    # A split driver's own repository runs them too, whichever way (they test it against nova).
    for driver in split:
        a = names.index(driver)
        assert k.gate_jobs[a] == m.gate_jobs[a]
        driver_jobs = sum(g.count for g in kept.policy.split.driver_jobs)
        assert k.gate_nodes[a] == k.check_nodes[a] == driver_jobs + 2  # third-party CI takes no test node


def test_third_party_ci_takes_no_test_node() -> None:
    sc = load_scenario(MONOLITH, overrides=["gate.third_party_gating=true"])
    tables = job_tables(sc)
    nova_area = next(i for i, name in enumerate(sc.area_names) if name not in sc.driver_areas)
    third_party = sum(ci.jobs for ci in sc.gate.third_party.values())
    assert tables.gate_jobs[nova_area] - tables.gate_nodes[nova_area] == third_party > 0


# ------------------------------------------------------------------------------ in the whole model


def digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
    return h.hexdigest()[:16]


# Records of replication 0 at run.warmup_days=20, measured on the commit before the pool existed
# (b3247a7; the digest of tests/hash_outputs.py). The split at that commit's reading of its adoption
# changes (abandoned like any change: tests/test_split_adoption.py pins that reading too). Both on
# the Juno calibration of that time (fixtures/before_refit/juno.toml: the refit of issue 14 moved the
# shipped one), which also pins that the per-area attention and authors' pace added since, at their
# default 1, leave the records as they were.
BEFORE_THE_POOL = {"monolith": "c47ea8e2d99886e4", "split": "0f7eab37cbe13a4a"}
READING_BEFORE = {"monolith": [], "split": ["policy.split.followup_abandon_factor=1"]}
CALIBRATION_BEFORE = Path(__file__).resolve().parent / "fixtures" / "before_refit" / "juno.toml"


@pytest.mark.parametrize("name", sorted(BEFORE_THE_POOL))
def test_unbounded_pool_leaves_the_records_as_they_were(name: str, tmp_path: Path) -> None:
    (tmp_path / "calibrated").mkdir()
    shutil.copy(CALIBRATION_BEFORE, tmp_path / "calibrated" / "juno.toml")
    (tmp_path / "scenarios").mkdir()
    for scenario in ("monolith", "split"):  # split extends monolith, which extends ../calibrated/juno.toml
        shutil.copy(SCENARIOS / f"{scenario}.toml", tmp_path / "scenarios" / f"{scenario}.toml")
    sc = load_scenario(tmp_path / "scenarios" / f"{name}.toml",
                       overrides=["run.warmup_days=20", *READING_BEFORE[name]])
    assert sc.ci.nodes is None
    rec = simulate(sc, 0)
    gates = {k: (v.run_values, v.reset_values, v.exit_values) for k, v in rec.gates.items()}
    assert rec.nodes is None
    assert digest(rec.changes, gates, rec.reviewers, rec.open_time_integral, rec.window,
                  sorted(rec.extra.items())) == BEFORE_THE_POOL[name]
    assert not {"check_node_wait_minutes", "gate_node_wait_minutes"} & set(metrics.replication_metrics(rec)["metric"])


def test_a_small_pool_makes_nova_wait_and_is_reported() -> None:
    """A short monolith on a pool too small for its load: nova's check runs wait (gate jobs go first), the
    wait shows in the metrics and in the changes' CI time; node waits are never negative."""
    overrides = ["run.warmup_days=10", "cycle.feature_freeze=false", "gate.background_rate_per_day=5"]
    free = simulate(load_scenario(MONOLITH, overrides=overrides), 0)
    tight = simulate(load_scenario(MONOLITH, overrides=[*overrides, "ci.nodes=100"]), 0)
    assert tight.nodes is not None
    runs = np.asarray(tight.nodes.run_values, dtype=float).reshape(-1, 5)
    assert np.all(runs[:, 1] >= runs[:, 0])
    values = metrics.node_metrics(tight)
    assert values["check_node_wait_minutes"] > values["gate_node_wait_minutes"] >= 0.0
    assert values["check_node_wait_minutes"] > 0.0
    ci_free = np.nanmean([c.ci_days for c in free.changes])
    ci_tight = np.nanmean([c.ci_days for c in tight.changes])
    assert ci_tight > ci_free
    assert math.isfinite(values["node_runs_per_week"]) and values["node_runs_per_week"] > 0


def test_what_if_scenarios_differ_only_in_policy_and_where_the_configuration_jobs_run() -> None:
    """monolith_all_ci and split_all_ci: the same pool and jobs; the split's drivers run theirs in their own
    repositories only, so nova's changes outside the drivers run 100 fewer jobs there."""
    mono = load_scenario(SCENARIOS / "whatif" / "monolith_all_ci.toml")
    split = load_scenario(SCENARIOS / "whatif" / "split_all_ci.toml")
    assert mono.ci.nodes == split.ci.nodes is not None
    assert mono.gate.config_jobs_per_driver == split.gate.config_jobs_per_driver == 20
    assert not split.policy.split.config_jobs_in_nova
    nova_area = next(i for i, name in enumerate(mono.area_names) if name not in mono.driver_areas)
    drivers = len(mono.driver_areas)
    m, s = job_tables(mono), job_tables(split)
    assert m.gate_nodes[nova_area] - s.gate_nodes[nova_area] == 20 * drivers == 100
    assert m.check_nodes[nova_area] - s.check_nodes[nova_area] == 100
    kept = job_tables(load_scenario(SCENARIOS / "whatif" / "split_all_ci.toml", overrides=["policy.split.config_jobs_in_nova=true"]))
    assert kept.gate_nodes[nova_area] == m.gate_nodes[nova_area]


def test_insertion_queue_keeps_simpys_order() -> None:
    """The pool's queue of waiting requests orders them as SimPy's SortedQueue does: by key, FIFO among equals."""
    from types import SimpleNamespace

    from simpy.resources.resource import SortedQueue

    from sim.model.nodes import InsertionQueue
    rng = np.random.default_rng(5)
    ours, simpys = InsertionQueue(), SortedQueue()
    for i in range(300):
        item = SimpleNamespace(key=(int(rng.integers(2)), float(rng.integers(20)), False), i=i)
        ours.append(item)
        simpys.append(item)
    assert [x.i for x in ours] == [x.i for x in simpys]

"""Staffing (sim.scenario.staffing, policy.staffing): who reviews, where every reviewer comes from,
and each role's review capacity.

- the roster the functions compute is the roster the world builds (ReviewerRecord.capacity), role
  by role, for every shipped policy that adds roles and for split with experts_move;
- the shipped scenarios compare at equal review capacity; their ``_added`` variants add exactly the
  new teams' capacity; ``from_cores`` takes exactly its share;
- hand-computed micro examples of the cores' own capacity (activity levels) and of
  ``core_time_share``; the refusal of a staffing that leaves the cores no time, through the CLI;
- what a run reports: summary.csv's capacity metrics (the same in every replication) and run.json's
  staffing section; ``core_rate_for`` and figure 8's ``staffing_scenarios``.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from scipy.stats import norm
from simtest import MONOLITH, SCENARIOS, run_cli
from test_policies import SMALL

from sim.model.records import Records
from sim.runs import metrics, sweeps
from sim.scenario import Scenario, ScenarioError, apply_overrides, load_scenario, staffing, validate_scenario
from sim.simulate import build_world, simulate

SHORT = ["run.warmup_days=0"]  # the roster is built before the first arrival; one cycle is plenty
TOL = 1e-9


def scenario(name: str, *overrides: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.toml", [*SHORT, *overrides])


def world_roster(records: Records) -> dict[str, tuple[int, float]]:
    """(headcount, capacity in reviews/day) per role, as the world built it."""
    out: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for r in records.reviewers:
        out[r.role][0] += 1
        out[r.role][1] += r.capacity
    return {role: (int(n), cap) for role, (n, cap) in out.items()}


def computed_roster(sc: Scenario) -> dict[str, tuple[int, float]]:
    """(headcount, capacity) per role, as staffing.roster says."""
    out: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for role in staffing.roster(sc):
        out[role.role][0] += role.headcount
        out[role.role][1] += role.reviews_per_day
    return {role: (int(n), cap) for role, (n, cap) in out.items() if n > 0}


def added_by_hand(sc: Scenario) -> float:
    """The new roles' capacity (reviews/day) read off the scenario's policy table, not via staffing."""
    policy = sc.policy
    drivers = sc.driver_areas
    total = 0.0
    if "lieutenants" in policy.mechanisms:
        listed = policy.lieutenants.drivers if policy.lieutenants.drivers is not None else drivers
        total += len(listed) * policy.lieutenants.per_driver * policy.lieutenants.reviews_per_day
    if "split" in policy.mechanisms:
        listed = policy.split.drivers if policy.split.drivers is not None else drivers
        for d in listed:
            team = policy.split.teams.get(d, policy.split.team)
            total += team.size * team.reviews_per_day
    return total


# ------------------------------------------------------------------------------ the world's roster


ROSTER_CASES = [
    ("monolith", []),
    ("lieutenants", []),
    ("lieutenants_added", []),
    ("lieutenants", ["policy.staffing.from_cores=0.5"]),
    ("split", []),
    ("split_added", []),
    ("split", ["policy.split.experts_move=true"]),
    ("split_added", ["policy.split.experts_move=true"]),
    ("lieutenants_runways", []),
]


@pytest.mark.parametrize("name, overrides", ROSTER_CASES, ids=[f"{n}{'+' + o[0] if o else ''}" for n, o in ROSTER_CASES])
def test_world_builds_the_roster_staffing_computes(name: str, overrides: list[str]) -> None:
    """One short replication: per role, the reviewers the world built (their headcount and the sum of
    their ReviewerRecord.capacity) are staffing.roster's; their total is total_capacity; the run's
    staffing metrics report the same numbers."""
    sc = scenario(name, *overrides)
    records = simulate(sc, 0, 5)
    built, computed = world_roster(records), computed_roster(sc)
    assert set(built) == set(computed), (built, computed)
    for role, (n, cap) in computed.items():
        assert built[role][0] == n, f"{role}: {built[role][0]} reviewers built, roster says {n}"
        assert built[role][1] == pytest.approx(cap, rel=TOL), f"{role} capacity"
    total = sum(r.capacity for r in records.reviewers)
    assert total == pytest.approx(staffing.total_capacity(sc), rel=TOL)
    # the metrics layer (summary.csv) reads the same roster
    values = metrics.staffing_metrics(records)
    assert values["review_capacity_per_day"] == pytest.approx(total, rel=TOL)
    for role in staffing.ROLES:
        stem = metrics.role_metric(role)
        n, cap = computed.get(role, (0, 0.0))
        assert values[f"{stem}_headcount"] == n
        assert values[f"{stem}_capacity_per_day"] == pytest.approx(cap, rel=TOL, abs=TOL)


@pytest.mark.parametrize("name", ["lieutenants", "split", "split_added"])
def test_every_new_role_sits_on_its_board(name: str) -> None:
    """Without experts_move every role of the roster is on the board it names (lieutenants on nova,
    each split team on its driver's board), each member with the role's per-person capacity."""
    sc = scenario(name)
    records = simulate(sc, 0, 2)
    by_board: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records.reviewers:
        by_board[(r.role, r.board)].append(r.capacity)
    for role in staffing.added_roles(sc):
        caps = by_board[(role.role, role.board)]
        if role.role == staffing.DRIVER_CORE:  # one team per board: exactly its members
            assert len(caps) == role.headcount
            assert caps == pytest.approx([role.reviews_per_day / role.headcount] * role.headcount, rel=TOL)
    lieutenants = by_board.get((staffing.LIEUTENANT, "nova"), [])
    assert len(lieutenants) == sum(r.headcount for r in staffing.added_roles(sc) if r.role == staffing.LIEUTENANT)


# ------------------------------------------------------------------------------ equal and added capacity


@pytest.mark.parametrize("name", ["lieutenants", "split", "lieutenants_runways"])
def test_shipped_policies_have_the_monoliths_capacity(name: str) -> None:
    """The shipped policy scenarios compare at equal review capacity (within the 2 % the findings
    call equal), their new roles staffed with cores' time."""
    mono = staffing.total_capacity(scenario("monolith"))
    sc = scenario(name)
    assert added_by_hand(sc) > 0, "the scenario adds roles"
    assert sc.policy.staffing.from_cores == 1.0
    assert abs(staffing.total_capacity(sc) - mono) <= 0.02 * mono
    assert staffing.core_time_share(sc) < 1.0  # the cores gave time


@pytest.mark.parametrize("added, equal", [("lieutenants_added", "lieutenants"), ("split_added", "split")])
def test_added_variants_add_exactly_the_new_teams(added: str, equal: str) -> None:
    """from_cores = 0: the cores keep all their time and the total is the monolith's plus the new
    teams' capacity, read off the policy table (size x reviews/day of every team)."""
    mono = scenario("monolith")
    sc = scenario(added)
    assert sc.policy.staffing.from_cores == 0.0 and staffing.core_time_share(sc) == 1.0
    extra = added_by_hand(sc)
    assert extra > 0
    assert staffing.total_capacity(sc) - staffing.total_capacity(mono) == pytest.approx(extra, rel=TOL)
    assert staffing.roster(sc)[0].reviews_per_day == pytest.approx(staffing.own_core_capacity(mono), rel=TOL)
    assert staffing.taken_from_cores(sc) == 0.0
    # lieutenants_added is lieutenants.toml with new people: the same teams
    if added == "lieutenants_added":
        assert added_by_hand(scenario(equal)) == extra


def test_from_cores_half_takes_exactly_half_of_the_new_roles() -> None:
    """lieutenants.toml with from_cores = 0.5: the cores give half the lieutenants' capacity, so the
    total grows by the other half."""
    full, half, none = (scenario("lieutenants", f"policy.staffing.from_cores={f}") for f in (1.0, 0.5, 0.0))
    added = added_by_hand(full)
    own = staffing.own_core_capacity(full)
    assert staffing.taken_from_cores(half) == pytest.approx(added / 2, rel=TOL)
    assert staffing.roster(half)[0].reviews_per_day == pytest.approx(own - added / 2, rel=TOL)
    assert staffing.total_capacity(half) == pytest.approx(own + added / 2, rel=TOL)
    assert staffing.core_time_share(half) == pytest.approx(1 - added / 2 / own, rel=TOL)
    # halfway between the two extremes, in capacity and in the cores' share of time
    assert staffing.total_capacity(half) == pytest.approx(
        (staffing.total_capacity(full) + staffing.total_capacity(none)) / 2, rel=TOL)
    assert staffing.core_time_share(half) == pytest.approx(
        (staffing.core_time_share(full) + staffing.core_time_share(none)) / 2, rel=TOL)


# ------------------------------------------------------------------------------ micro examples by hand


def micro(*overrides: str) -> Scenario:
    """SMALL (8 cores, two drivers drv and drv2) with lieutenants: 1 per driver at 1.5 reviews/day."""
    return validate_scenario(apply_overrides(SMALL, [
        "policy.mechanisms=['lieutenants']", "policy.lieutenants.per_driver=1", "policy.lieutenants.reviews_per_day=1.5",
        "review.cores=4", "review.reviews_per_core_per_day=2.0", "review.activity_sigma=0.0", *overrides,
    ]), origin="micro")


@pytest.mark.parametrize("from_cores, share", [(1.0, 1 - 3.0 / 8.0), (0.5, 1 - 1.5 / 8.0), (0.0, 1.0)])
def test_core_time_share_by_hand(from_cores: float, share: float) -> None:
    """4 cores x 2 reviews/day (equal activity) = 8 reviews/day of their own; two lieutenants x 1.5
    = 3 reviews/day added; from_cores f takes 3f: each core keeps 1 - 3f/8 of its time, and every
    core of the world reviews at 2 x that."""
    sc = micro(f"policy.staffing.from_cores={from_cores}")
    assert staffing.own_core_capacity(sc) == pytest.approx(8.0)
    assert staffing.taken_from_cores(sc) == pytest.approx(3.0 * from_cores)
    assert staffing.core_time_share(sc) == pytest.approx(share)
    assert staffing.total_capacity(sc) == pytest.approx(8.0 * share + 3.0)
    world = build_world(sc, 0, 1)
    cores = [r for r in world.policy.board.reviewers if r.role == staffing.CORE]
    lieutenants = [r for r in world.policy.board.reviewers if r.role == staffing.LIEUTENANT]
    assert [r.rate for r in cores] == pytest.approx([2.0 * share] * 4)
    assert [r.rate for r in lieutenants] == pytest.approx([1.5, 1.5])


def test_own_capacity_of_a_cut_roster_keeps_the_most_active_by_hand() -> None:
    """activity_sigma s = 0.6 measured on a roster of 4: members at the lognormal quantiles
    0.875, 0.625, 0.375, 0.125, scaled to mean 1 over the 4: the mean of exp(+-s a), exp(+-s b) is
    (cosh(s a) + cosh(s b)) / 2 with a = z(0.875), b = z(0.625). A roster cut to 2 keeps the two
    most active, exp(s a) + exp(s b); one grown to 6 adds two members of median activity, 1 each."""
    s, rate = 0.6, 2.0
    a, b = norm.ppf(0.875), norm.ppf(0.625)
    scale = (math.cosh(s * a) + math.cosh(s * b)) / 2
    cut = micro("review.cores=2", "review.reference_cores=4", f"review.activity_sigma={s}",
                "policy.lieutenants.reviews_per_day=0.5")
    grown = micro("review.cores=6", "review.reference_cores=4", f"review.activity_sigma={s}")
    own_cut = rate * (math.exp(s * a) + math.exp(s * b)) / scale
    own_grown = rate * (4.0 + 2.0 / scale)  # the reference four have mean 1; two more of median activity 1 / scale
    assert staffing.own_core_capacity(cut) == pytest.approx(own_cut)
    assert staffing.own_core_capacity(grown) == pytest.approx(own_grown)
    # the cut roster gives the lieutenants 2 x 0.5 = 1 review/day of its time, every core in proportion
    share = 1 - 1.0 / own_cut
    assert staffing.core_time_share(cut) == pytest.approx(share)
    world = build_world(cut, 0, 1)
    rates = sorted((r.rate for r in world.policy.board.reviewers if r.role == staffing.CORE), reverse=True)
    assert rates == pytest.approx([rate * share * math.exp(s * a) / scale, rate * share * math.exp(s * b) / scale])


# ------------------------------------------------------------------------------ refusal


def test_a_staffing_that_leaves_cores_no_time_is_refused_at_its_bound() -> None:
    """4 cores x 2 = 8 reviews/day of their own; lieutenants 2 x 2 x 2 = 8 reviews/day. The cores must
    keep 10 %: from_cores may take at most 7.2 of the 8, i.e. from_cores <= 0.9, which is accepted;
    above it the scenario is refused in one line naming the field and the bound."""
    raw = ["policy.lieutenants.per_driver=2", "policy.lieutenants.reviews_per_day=2.0"]
    assert staffing.core_time_share(micro(*raw, "policy.staffing.from_cores=0.9")) == pytest.approx(0.1)
    assert staffing.core_time_share(micro(*raw, "policy.staffing.from_cores=0.5")) == pytest.approx(0.5)
    with pytest.raises(ScenarioError) as exc:
        micro(*raw, "policy.staffing.from_cores=0.91")
    message = str(exc.value)
    assert "\n" not in message and message.startswith("micro: ")
    assert "policy.staffing.from_cores" in message and "allowed: <= 0.9" in message
    with pytest.raises(ScenarioError, match=r"policy\.staffing\.from_cores"):
        micro(*raw)  # the default, 1: 8 of 8


def _allowed(message: str) -> float:
    match = re.search(r"allowed: <= ([0-9.eE+-]+)\)", message)
    assert match, message
    return float(match.group(1))


def test_refusal_through_the_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    """`sim run` on lieutenants.toml with 5 drivers x 4 lieutenants x 2 reviews/day = 40 reviews/day,
    more than 90 % of the cores' own capacity: exit 2 before anything runs, one line naming the file,
    the field and the bound 0.9 x own / 40."""
    path = SCENARIOS / "lieutenants.toml"
    out = tmp_path / "out"
    proc = run_cli("run", str(path), "--replications", "1", "--out", str(out),
                   "--set", "policy.lieutenants.per_driver=4", "--set", "policy.lieutenants.reviews_per_day=2.0")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    line = lines[0]
    assert str(path) in line and "policy.staffing.from_cores" in line
    own = staffing.own_core_capacity(load_scenario(MONOLITH))
    bound = 0.9 * own / (5 * 4 * 2.0)
    assert bound - 1e-3 < _allowed(line) <= bound  # rounded down, so that the value named is accepted
    assert not out.exists()


def test_the_bound_the_refusal_names_is_accepted() -> None:
    """Taking the refusal at its word: from_cores set to the bound the message names loads."""
    overrides = ["policy.lieutenants.per_driver=4", "policy.lieutenants.reviews_per_day=2.0"]
    with pytest.raises(ScenarioError) as exc:
        scenario("lieutenants", *overrides)
    bound = _allowed(str(exc.value))
    scenario("lieutenants", *overrides, f"policy.staffing.from_cores={bound!r}")


# ------------------------------------------------------------------------------ what a run reports


@pytest.fixture(scope="module")
def lieutenants_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scenario]:
    """`python -m sim run lieutenants.toml` with two short replications."""
    out = tmp_path_factory.mktemp("staffing") / "lieutenants"
    proc = run_cli("run", str(SCENARIOS / "lieutenants.toml"), "--replications", "2", "--seed", "3", "--out", str(out),
                   *[a for o in SHORT for a in ("--set", o)])
    assert proc.returncode == 0, proc.stderr
    return out, scenario("lieutenants")


def test_summary_reports_the_capacity_with_a_zero_width_interval(lieutenants_run: tuple[Path, Scenario]) -> None:
    """The roster is the same in every replication: its capacity's 95 % CI has zero width, and its
    mean is the roster's."""
    out, sc = lieutenants_run
    summary = pd.read_csv(out / "summary.csv")
    rows = summary[summary["area"] == "all"].set_index("metric")
    computed = computed_roster(sc)
    expected = {
        "review_capacity_per_day": staffing.total_capacity(sc),
        "core_capacity_per_day": computed["core"][1],
        "lieutenant_capacity_per_day": computed["lieutenant"][1],
        "driver_core_capacity_per_day": 0.0,
        "core_headcount": sc.review.cores,
        "lieutenant_headcount": len(sc.driver_areas) * sc.policy.lieutenants.per_driver,
        "driver_core_headcount": 0,
    }
    for metric, value in expected.items():
        row = rows.loc[metric]
        assert row["n"] == 2, metric
        assert row["mean"] == pytest.approx(value, rel=1e-9, abs=1e-12), metric
        assert row["ci_low"] == row["mean"] == row["ci_high"], f"{metric}: CI of width {row['ci_high'] - row['ci_low']}"


def test_run_json_staffing_section_sums_up(lieutenants_run: tuple[Path, Scenario]) -> None:
    out, sc = lieutenants_run
    report: dict[str, Any] = json.loads((out / "run.json").read_text())["staffing"]
    roles = report["roles"]
    assert report["from_cores"] == 1.0
    assert [r["role"] for r in roles] == ["core"] + ["lieutenant"] * len(sc.driver_areas)
    assert {r["team"] for r in roles[1:]} == set(sc.driver_areas) and roles[0]["team"] == ""
    added = added_by_hand(sc)
    assert sum(r["reviews_per_day"] for r in roles[1:]) == pytest.approx(added)
    assert report["taken_from_cores_reviews_per_day"] == pytest.approx(added)
    assert roles[0]["reviews_per_day"] == pytest.approx(staffing.own_core_capacity(sc) - added)
    assert report["total_reviews_per_day"] == pytest.approx(sum(r["reviews_per_day"] for r in roles))
    assert sum(r["headcount"] for r in roles) == sc.review.cores + len(sc.driver_areas) * sc.policy.lieutenants.per_driver
    # the report and the summary agree
    summary = pd.read_csv(out / "summary.csv")
    mean = summary[(summary["area"] == "all") & (summary["metric"] == "review_capacity_per_day")]["mean"].iloc[0]
    assert report["total_reviews_per_day"] == pytest.approx(mean, rel=1e-9)


# ------------------------------------------------------------------------------ the cores' rate for a capacity


@pytest.mark.parametrize("overrides", [[], ["review.cores=15", "review.reference_cores=20"]])
@pytest.mark.parametrize("target", [20.0, 45.5])
def test_core_rate_for_gives_the_requested_capacity(overrides: list[str], target: float) -> None:
    mono = scenario("monolith", *overrides)
    rate = staffing.core_rate_for(mono, target)
    assert staffing.core_rate_for(mono, staffing.own_core_capacity(mono)) == pytest.approx(
        mono.review.reviews_per_core_per_day, rel=1e-12)
    scaled = scenario("monolith", *overrides, f"review.reviews_per_core_per_day={rate!r}")
    assert staffing.total_capacity(scaled) == pytest.approx(target, rel=1e-12)
    # and the world built from it has that capacity
    records = build_world(scaled, 0, 1).run()
    assert sum(r.capacity for r in records.reviewers) == pytest.approx(target, rel=1e-12)


@pytest.mark.parametrize("overrides", [[], ["review.cores=15"]])
def test_staffing_scenarios_pair_each_added_variant_with_a_monolith_of_its_capacity(overrides: list[str]) -> None:
    """Figure 8's scenarios: each added-people variant, then the monolith with the same total capacity
    given to its cores (the monolith but for the cores' rate and the names); --set overrides apply
    to both."""
    out = sweeps.staffing_scenarios(SCENARIOS, overrides)
    names = [sc.scenario.name for sc in out]
    expected = [n for _, added in sweeps.STAFFING_PAIRS for n in (added, sweeps.cores_plus(added))]
    assert names == expected == ["lieutenants_added", "cores_plus_lieutenants_added", "split_added",
                                 "cores_plus_split_added"]
    mono = load_scenario(MONOLITH, overrides)
    for variant, cores in zip(out[::2], out[1::2]):
        assert variant.policy.staffing.from_cores == 0.0
        assert cores.policy.mechanisms == ()
        assert staffing.total_capacity(cores) == pytest.approx(staffing.total_capacity(variant), rel=1e-12)
        assert staffing.total_capacity(cores) > staffing.total_capacity(mono)
        for sc in (variant, cores):
            assert sc.review.cores == mono.review.cores
        a, b = cores.model_dump(), mono.model_dump()
        assert a["review"].pop("reviews_per_core_per_day") > b["review"].pop("reviews_per_core_per_day")
        for dump in (a, b):
            dump.pop("scenario"), dump["policy"].pop("name")
        assert a == b, "cores_plus is the monolith but for the cores' rate and its names"

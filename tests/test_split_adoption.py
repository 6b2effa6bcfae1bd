"""The driver teams' part under split repos (sim.policies.split): adoption changes a driver needs
(interface follow-ups, breakage fixes) and whether their authors abandon them
(``policy.split.followup_abandon_factor``), and driver teams reviewing nova's interface changes
(``policy.split.interface_review_share``).

The records of the readings before these parameters existed (factor 1, share 0) are pinned by
hashes computed with the code of commit b3247a7 (before them), on the same small scenarios.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pytest
from simtest import Z
from test_policies import ADDED, Micro, micro_scenario, on_review_start, run_world, small

from sim.model.records import Records
from sim.runs import metrics
from sim.scenario import ScenarioError

SPLIT_DRV = ("policy.mechanisms=['split']", "policy.split.drivers=['drv']",
             "policy.split.team={size=3, reviews_per_day=2.0}", ADDED)
# Frequent breakage and cross-repository changes, and impatient authors: abandonment is common.
COSTLY = (*SPLIT_DRV, "areas.drv.breakage_share=0.08", "areas.drv.driver_only_share=0.6",
          "authors.patience_median_days=8.0")
FACTOR = "policy.split.followup_abandon_factor"
SHARE = "policy.split.interface_review_share"

# sha256 (first 16 hex digits) of the records of small(...) at seed 3, by b3247a7's code.
BEFORE = {
    "split": ("b7607860dcf4f35e", COSTLY),
    "runways": ("a3042e77ad9dded2", ("policy.mechanisms=['runways']",)),  # priority lanes of nova's own board
    "sponsorship": ("746a6260520cc59e", ("policy.mechanisms=['sponsorship']",)),
}


def digest(records: Records) -> str:
    """A hash of everything a replication records (changes, gate logs, reviewers, Little's law, extras)."""
    h = hashlib.sha256()
    gates = {k: (v.run_values, v.reset_values, v.exit_values) for k, v in records.gates.items()}
    for part in (records.changes, gates, records.reviewers, records.open_time_integral, sorted(records.extra.items())):
        h.update(repr(part).encode())
    return h.hexdigest()[:16]


def adoption_changes(world: Any) -> dict[str, list[Any]]:
    """The split's own changes by why they exist: a driver needs them (follow-ups, fixes) or a driver
    change depends on them (nova parts)."""
    drv = world.scenario.area_names.index("drv")
    made = [c for c in world.changes if c.parent >= 0]
    return {"needed": [c for c in made if c.area == drv], "nova_part": [c for c in made if c.area != drv]}


# ------------------------------------------------------------------------------ the old readings, unchanged


@pytest.mark.parametrize("overrides", [(f"{FACTOR}=1.0",), (f"{FACTOR}=1.0", f"{SHARE}=0.0")], ids=["factor1", "share0"])
def test_factor_one_and_share_zero_are_the_records_before_these_parameters(overrides: tuple[str, ...]) -> None:
    expected, base = BEFORE["split"]
    _, records = run_world(small(*base, *overrides), seed=3)
    assert digest(records) == expected


@pytest.mark.parametrize("name", ["runways", "sponsorship"])
def test_other_priority_lanes_are_unchanged(name: str) -> None:
    """A lane now names the board whose queue it draws from; a board's own lanes draw as before."""
    expected, overrides = BEFORE[name]
    _, records = run_world(small(*overrides), seed=3)
    assert digest(records) == expected


# ------------------------------------------------------------------------------ followup_abandon_factor


def test_factor_zero_no_follow_up_or_fix_is_ever_abandoned() -> None:
    often = (*COSTLY, "areas.drv.breakage_share=0.3")
    old_world, _ = run_world(small(*often, f"{FACTOR}=1.0"), seed=3)
    old = adoption_changes(old_world)
    assert sum(not math.isnan(c.abandoned) for c in old["needed"]) > 0, "the old reading abandons some (else no test)"
    world, _ = run_world(small(*often, f"{FACTOR}=0.0"), seed=3)
    made = adoption_changes(world)
    assert len(made["needed"]) > 100
    assert all(math.isnan(c.abandoned) for c in made["needed"])
    assert all(c.patience == math.inf for c in made["needed"])
    # A nova part serves an ordinary (optional) driver change: its author may give up on it.
    assert all(c.patience < math.inf for c in made["nova_part"]) and made["nova_part"]


def test_a_factor_between_is_the_share_of_adoption_changes_whose_author_may_give_up() -> None:
    factor = 0.4
    world, _ = run_world(small(*COSTLY, f"{FACTOR}={factor}", "areas.drv.breakage_share=0.3"), seed=3)
    needed = adoption_changes(world)["needed"]
    n = len(needed)
    finite = sum(c.patience < math.inf for c in needed)
    assert n > 80
    assert abs(finite - factor * n) <= Z * math.sqrt(n * factor * (1 - factor)), f"{finite} of {n} may give up"


def test_never_usable_share_falls_when_adoption_is_never_abandoned() -> None:
    """A driver team with capacity to spare (3 members at 4 reviews a day), follow-ups that need
    many revisions (6 latent defects on average) and authors who often stall (30 %, 30 days): with
    factor 1 about a third of the follow-ups are abandoned and their interface changes never become
    usable; with factor 0 none is, and a smaller share of interface changes stays unusable, at each
    of three seeds (16-week run; nova's own changes made easy, so most of them merge)."""
    base = (*SPLIT_DRV, "run.cycle_weeks=16", "areas.core.interface_share=0.3", "areas.core.defects_mean=0.5",
            "policy.split.team={size=3, reviews_per_day=4.0}", "policy.split.followup_defects_mean=6.0",
            "policy.split.interface_extra_defects=0.0", "policy.split.cross_repo=false",
            "authors.stall_prob=0.3", "authors.stall_mean_days=30.0")

    def unusable(factor: float, seed: int) -> tuple[float, int, int]:
        world, records = run_world(small(*base, f"{FACTOR}={factor}"), seed=seed)
        m = metrics.replication_metrics(records)
        value = m[(m["metric"] == "interface_unusable_fraction") & (m["area"] == "all")]["value"].iloc[0]
        needed = adoption_changes(world)["needed"]
        return float(value), sum(not math.isnan(c.abandoned) for c in needed), len(needed)

    for seed in (1, 2, 3):
        old, old_abandoned, n_old = unusable(1.0, seed)
        new, new_abandoned, _ = unusable(0.0, seed)
        assert old_abandoned > n_old / 5 and new_abandoned == 0, f"seed {seed}"
        assert new < old, f"seed {seed}: never-usable share {new:.3f} with factor 0, {old:.3f} with factor 1"


def test_the_factor_is_a_share() -> None:
    with pytest.raises(ScenarioError, match=r"followup_abandon_factor"):
        small(*SPLIT_DRV, f"{FACTOR}=1.5")
    with pytest.raises(ScenarioError, match=r"interface_review_share"):
        small(*SPLIT_DRV, f"{SHARE}=-0.1")


# ------------------------------------------------------------------------------ interface_review_share


def micro_interface(share: float) -> Micro:
    """Nova: one core (1 review a day, one vote). Driver ``drv`` split out with one team member at 4
    reviews a day; no breakage, no cross-repository part (driver-only changes), no extra defects.
    Injected: nova interface change n1 at 0 and driver change d at 0; interface change n2 at 0.1;
    nova change n3 (not touching the interface) at 1.5."""
    raw = micro_scenario(
        ["split"],
        {"split": {"drivers": ["drv"], "team": {"size": 1, "reviews_per_day": 4.0}, "interface_extra_defects": 0.0,
                   "cross_repo": False, "interface_review_share": share},
         "staffing": {"from_cores": 0.0}},
        areas={"core": {"rate_per_day": 1e-9, "defects_mean": 0.0},
               "drv": {"driver": True, "rate_per_day": 1e-9, "defects_mean": 0.0}},
    )
    m = Micro(raw)
    m.at(0.0, "n1", area=0, touches=True)
    m.at(0.0, "d", area=1, driver_only=True)
    m.at(0.1, "n2", area=0, touches=True)
    m.at(1.5, "n3", area=0)
    return m


def review_log(m: Micro) -> list[tuple[float, str, str, str]]:
    log = on_review_start(m.world, lambda board, reviewer, change: None)
    m.run()
    names = {c.id: name for name, c in m.c.items()}
    return [(t, board, reviewer.name, names[c.id]) for t, board, reviewer, c in log if c.id in names]


def test_a_driver_team_member_reviews_a_waiting_interface_change_and_its_vote_does_not_approve() -> None:
    """The member reviews d 0-0.25 (merged), then picks n2 (waiting in nova's queue; n1 is under
    review) 0.25-0.5: a +1, which does not approve it (one vote required, from nova). The core
    reviews n1 0-1, n2 1-2 (approved, merged at 2), n3 2-3. The member never reviews n3."""
    m = micro_interface(1.0)
    assert review_log(m) == [
        (0.0, "nova", "core-0", "n1"), (0.0, "drv", "drv-core-0", "d"), (0.25, "drv", "drv-core-0", "n2"),
        (1.0, "nova", "core-0", "n2"), (2.0, "nova", "core-0", "n3"),
    ]
    c = m.c
    assert (c["d"].merged, c["n1"].merged, c["n2"].merged, c["n3"].merged) == (0.25, 1.0, 2.0, 3.0)
    assert c["n2"].core_reviews == 2


def test_without_the_share_the_team_stays_in_its_repository() -> None:
    m = micro_interface(0.0)
    assert review_log(m) == [
        (0.0, "nova", "core-0", "n1"), (0.0, "drv", "drv-core-0", "d"),
        (1.0, "nova", "core-0", "n2"), (2.0, "nova", "core-0", "n3"),
    ]
    assert m.c["n2"].merged == 2.0 and m.c["n2"].core_reviews == 1


def test_driver_teams_review_nova_only_its_interface_changes() -> None:
    """Over a small run: driver team members review nova changes, and each of them touches the
    interface (never a follow-up, a nova part or another nova change)."""
    from test_policies import started_world

    world = started_world(small(*COSTLY, "areas.core.interface_share=0.3", f"{SHARE}=0.5"), 0, 3)
    drv = world.scenario.area_names.index("drv")
    team = {r.id for r in world.boards["drv"].reviewers}
    log = on_review_start(world, lambda board, reviewer, change: None)
    world.run()
    in_nova = [c for _, _, r, c in log if r.id in team and c.area != drv]
    assert len(in_nova) > 10
    assert all(c.touches_interface and c.parent < 0 for c in in_nova)
    cores = {r.id for r in world.boards["nova"].reviewers}
    assert not any(r.id in cores and c.area == drv for _, _, r, c in log), "nova cores never review the driver"

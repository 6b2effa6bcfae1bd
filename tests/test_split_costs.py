"""The split's own costs (sim.policies.split): nova changes that break an out-of-tree driver (a fix
change, a red driver gate), driver changes that also need a nova change (Depends-On), and the
measurement of both on Nova's history (sim.calibrate.observe.split_costs).

Checked on the records of a small replication (test_policies.SMALL) with the costs made frequent,
so that every invariant is exercised many times.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_policies import ADDED, mechanism, run_world, small

from sim.calibrate.data import load_changes, load_model_areas
from sim.calibrate.observe import cycle_data, split_costs
from sim.paths import DATA
from sim.policies.split import Split
from sim.scenario import ScenarioError, load_scenario

SPLIT_DRV = ("policy.mechanisms=['split']", "policy.split.drivers=['drv']",
             "policy.split.team={size=3, reviews_per_day=2.0}", ADDED)
COSTLY = (*SPLIT_DRV, "areas.drv.breakage_share=0.08", "areas.drv.driver_only_share=0.6")


def frame(records) -> pd.DataFrame:
    return pd.DataFrame(records.changes, columns=records.changes[0]._fields)


@pytest.fixture(scope="module")
def costly() -> tuple[pd.DataFrame, dict]:
    world, records = run_world(small(*COSTLY), seed=3)
    return frame(records), records.extra


def kinds_of_followups(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The policy-made changes by why they exist: interface follow-ups, breakage fixes, nova parts."""
    made = df[df["parent"] >= 0]
    parent = df.set_index("change").loc[made["parent"]]
    parent_area = parent["area"].to_numpy()
    parent_interface = parent["touches_interface"].to_numpy()
    drv = made["area"].eq("drv").to_numpy()
    return {
        "interface": made[drv & parent_interface],
        "fix": made[drv & ~parent_interface & (parent_area != "drv")],
        "nova_part": made[~drv & (parent_area == "drv")],
    }


def test_costs_occur_as_often_as_configured(costly) -> None:
    df, extra = costly
    made = kinds_of_followups(df)
    assert extra["driver_breakages"] > 10 and extra["cross_repo_nova_changes"] > 10
    # Every breakage gets a fix (more when a fix is abandoned); every nova part is counted.
    assert made["fix"]["parent"].nunique() <= extra["driver_breakages"]
    assert made["fix"]["parent"].nunique() >= 0.8 * extra["driver_breakages"], "fixes follow within days"
    assert len(made["nova_part"]) == extra["cross_repo_nova_changes"]
    assert (made["fix"]["kind"] == "bug").all(), "a fix is a bug fix, never held by a feature freeze"


def test_every_cross_repo_driver_change_has_one_nova_part_and_merges_after_it(costly) -> None:
    df, _ = costly
    indexed = df.set_index("change")
    crossing = df[(df["area"] == "drv") & ~df["driver_only"] & (df["parent"] < 0)]
    parts = kinds_of_followups(df)["nova_part"]
    assert len(crossing) > 10
    assert sorted(parts["parent"]) == sorted(crossing["change"]), "one nova part per cross-repository driver change"
    assert (parts["area"] == "core").all()
    for part in parts.itertuples():
        driver_change = indexed.loc[part.parent]
        if not math.isnan(driver_change["merged"]):
            assert part.merged <= driver_change["merged"], f"change {part.parent} merged before its nova part"
        if not math.isnan(part.abandoned):
            assert math.isnan(driver_change["merged"]), f"change {part.parent} merged though its nova part was abandoned"


def red_intervals(df: pd.DataFrame) -> list[tuple[float, float]]:
    """When the driver's gate was red: from each breaking nova change's merge to its fix's merge."""
    fixes = kinds_of_followups(df)["fix"]
    merged_at = df.set_index("change")["merged"]
    intervals = []
    for breaking, group in fixes.groupby("parent"):
        ends = group["merged"].dropna()
        intervals.append((float(merged_at[breaking]), float(ends.max()) if len(ends) else math.inf))
    return intervals


def test_a_red_driver_gate_merges_only_what_entered_it_before_the_break(costly) -> None:
    """A driver change merging while its driver is broken was approved before the break: it was in
    the gate already (approval sends a change to the gate; one kept from a red gate waits)."""
    df, _ = costly
    intervals = red_intervals(df)
    assert len(intervals) > 10
    fixes = set(kinds_of_followups(df)["fix"]["change"])
    ordinary = df[(df["area"] == "drv") & df["merged"].notna() & ~df["change"].isin(fixes)]
    checked = 0
    for start, end in intervals:
        inside = ordinary[(ordinary["merged"] > start) & (ordinary["merged"] < end)]
        checked += len(inside)
        late = inside[inside["approved"] > start]
        assert late.empty, f"driver changes {list(late['change'])} entered a red gate (broken at {start:.2f})"
    assert checked < len(ordinary) / 2, "most driver changes merge while the gate is green"


def test_without_costs_no_fix_no_nova_part_and_no_red_gate() -> None:
    world, records = run_world(small(*COSTLY, "policy.split.breakage_scale=0", "policy.split.cross_repo=false"), seed=3)
    made = kinds_of_followups(frame(records))
    assert made["fix"].empty and made["nova_part"].empty
    assert records.extra["driver_breakages"] == 0 and records.extra["cross_repo_nova_changes"] == 0
    split = mechanism(world, Split)
    assert not any(split.broken.values()) and not any(split.red.values())


def test_breakage_without_a_blocking_gate_still_costs_a_fix() -> None:
    world, records = run_world(small(*COSTLY, "policy.split.breakage_blocks_gate=false"), seed=3)
    made = kinds_of_followups(frame(records))
    assert len(made["fix"]) > 10
    split = mechanism(world, Split)
    assert not any(split.broken.values()) and not any(split.red.values()), "no red gate in this reading"


def test_a_fixes_author_answers_faster() -> None:
    world, _ = run_world(small(*COSTLY, "policy.split.fix_response_factor=0.1"), seed=3)
    split = mechanism(world, Split)
    fixes = [c for c in world.changes if c.id in split.fix_for]
    others = [c for c in world.changes if c.parent < 0]
    assert all(split.author_factor(c) == 0.1 for c in fixes)
    assert all(split.author_factor(c) == 1.0 for c in others)


def test_cross_repo_area_must_be_a_nova_area() -> None:
    with pytest.raises(ScenarioError, match=r"policy\.split\.cross_repo_area: 'drv' is not a non-driver area.*'core'"):
        small(*SPLIT_DRV, "policy.split.cross_repo_area='drv'")


def test_the_shipped_costs_are_what_junos_history_shows() -> None:
    """areas.<driver>.breakage_share and policy.split.cross_repo_area of the calibrated Juno scenario
    are measured on the project's copy of Nova's history, by the function the calibration uses."""
    template = DATA / "calibration" / "nova_template.toml"
    scenario = load_scenario(DATA / "calibrated" / "juno.toml")
    cd = cycle_data(load_changes(DATA / "nova" / "nova_changes.csv.gz"), "juno", load_model_areas(template),
                    scenario.driver_areas)
    costs = split_costs(cd)
    assert costs.breakage_shares == {d: scenario.areas[d].breakage_share for d in scenario.driver_areas}
    assert max(costs.breakage_shares.values()) < 0.05, "a few % of nova changes edit a driver"
    assert next(iter(costs.cross_repo_areas)) == scenario.policy.split.cross_repo_area

"""Figure 8's finding and the staffing clause that prefixes the comparison figures' findings
(sim.outputs.findings: staffing_clause, with_staffing, staffing_finding), on small comparison
tables made by hand (the columns of sim.runs.compare.COMPARISON_COLUMNS)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.outputs import findings
from sim.runs.compare import COMPARISON_COLUMNS
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS

CAP = "review_capacity_per_day"
TTM = "time_to_merge_median_days"


def row(scenario: str, metric: str, area: str, mean: float, diff: float = math.nan, low: float = math.nan,
        high: float = math.nan, n: int = 5, reference: str = "monolith") -> dict[str, object]:
    return {"scenario": scenario, "policy": scenario, "area": area, "metric": metric, "mean": mean, "ci_low": mean,
            "ci_high": mean, "n": n, "reference": reference, "diff": diff, "diff_ci_low": low, "diff_ci_high": high,
            "diff_n": n}


def capacity_table(capacities: dict[str, float], reference: str = "monolith") -> pd.DataFrame:
    """One capacity row per scenario (identical in every replication: a zero-width CI)."""
    ref = capacities[reference]
    rows = [row(name, CAP, ALL, cap, cap - ref, cap - ref, cap - ref, reference=reference)
            for name, cap in capacities.items()]
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


# ------------------------------------------------------------------------------ staffing_clause


def test_clause_at_equal_capacity() -> None:
    table = capacity_table({"monolith": 31.4, "lieutenants": 31.4, "split": 31.0})  # |31.0 - 31.4| < 2 % of 31.4
    assert findings.staffing_clause(table, ["monolith", "lieutenants", "split"]) == \
        "At equal review capacity (31.4 reviews/day)"


@pytest.mark.parametrize("other, equal", [(51.0, True), (49.0, True), (50.9, True), (51.5, False), (48.5, False)])
def test_clause_counts_two_percent_as_equal(other: float, equal: bool) -> None:
    """The reference has 50 reviews/day: within 1 (2 %, bounds included) is equal capacity."""
    table = capacity_table({"monolith": 50.0, "split": other})
    clause = findings.staffing_clause(table, ["monolith", "split"])
    if equal:
        assert clause == "At equal review capacity (50.0 reviews/day)"
    else:
        assert clause == f"Unequal review capacity (split repos {other - 50.0:+.1f} reviews/day vs 50.0)"


def test_clause_names_every_scenario_of_unequal_capacity() -> None:
    table = capacity_table({"monolith": 31.4, "lieutenants": 31.4, "lieutenants_added": 41.4, "split_added": 64.4,
                            "sponsorship": 30.0})
    names = ["monolith", "lieutenants", "lieutenants_added", "split_added", "sponsorship"]
    clause = findings.staffing_clause(table, names)
    assert clause == ("Unequal review capacity (lieutenants (added people) +10.0, split repos (added people) +33.0, "
                      "sponsorship -1.4 reviews/day vs 31.4)")
    assert "lieutenants " not in clause.replace("lieutenants (added", "")  # the equal one is not named
    # the order of the names given is the order of the sentence; the first name is the reference
    assert findings.staffing_clause(table, ["lieutenants_added", "monolith"]) == \
        "Unequal review capacity (the monolith -10.0 reviews/day vs 41.4)"


def test_clause_is_empty_without_the_reference_capacity() -> None:
    table = capacity_table({"monolith": 31.4, "split": 31.4})
    table = table[table["scenario"] != "monolith"]
    assert findings.staffing_clause(table, ["monolith", "split"]) == ""


def test_with_staffing_prefixes_the_finding() -> None:
    finding = "Driver changes' median time to merge falls 20% under split repos"
    equal = capacity_table({"monolith": 31.4, "split": 31.4})
    added = capacity_table({"monolith": 31.4, "split_added": 64.4})
    assert findings.with_staffing(finding, equal, ["monolith", "split"]) == \
        "At equal review capacity (31.4 reviews/day): driver changes' median time to merge falls 20% under split repos"
    assert findings.with_staffing(finding, added, ["monolith", "split_added"]) == (
        "Unequal review capacity (split repos (added people) +33.0 reviews/day vs 31.4): driver changes' median time "
        "to merge falls 20% under split repos")
    assert findings.with_staffing("", equal, ["monolith", "split"]) == ""
    no_capacity = equal[equal["metric"] != CAP]
    assert findings.with_staffing(finding, no_capacity, ["monolith", "split"]) == finding


# ------------------------------------------------------------------------------ figure 8's finding


GROUPS = [("lieutenants", "lieutenants_added", "cores_plus_lieutenants_added"),
          ("split", "split_added", "cores_plus_split_added")]


def staffing_table(effects: dict[str, tuple[float, float, float]], area: str = DRIVERS) -> pd.DataFrame:
    """The monolith (31.4 reviews/day), each group's equal-capacity scenario (31.4), added variant and
    cores_plus monolith (31.4 + 10 and 31.4 + 33), with the given paired effects on ``area``'s median
    time to merge (diff, low, high; the monolith's is 10 days)."""
    caps = {"monolith": 31.4, "lieutenants": 31.4, "lieutenants_added": 41.4, "cores_plus_lieutenants_added": 41.4,
            "split": 31.4, "split_added": 64.4, "cores_plus_split_added": 64.4}
    table = capacity_table(caps)
    rows = [row("monolith", TTM, area, 10.0, 0.0, 0.0, 0.0)]
    rows += [row(name, TTM, area, 10.0 + d, d, lo, hi) for name, (d, lo, hi) in effects.items()]
    return pd.concat([table, pd.DataFrame(rows, columns=COMPARISON_COLUMNS)], ignore_index=True)


def test_staffing_finding_states_each_staffing_beyond_noise_only() -> None:
    effects = {
        "lieutenants": (-2.0, -3.0, -1.0),  # beyond noise
        "lieutenants_added": (-0.5, -1.5, 0.5),  # within noise
        "cores_plus_lieutenants_added": (1.5, 0.5, 2.5),
        "split": (0.3, -0.2, 0.8),
        "split_added": (-4.04, -5.0, -3.0),
        # cores_plus_split_added: no row (not run) -> n/a
    }
    finding = findings.staffing_finding(staffing_table(effects), GROUPS)
    assert finding == (  # the headline names the staffings beyond noise (the one not run is left out)
        "Driver changes' median time to merge vs the monolith: "
        "lieutenants -2.0 d at equal capacity, +1.5 d as core time; "
        "split repos -4.0 d with 33 reviews/day added; the other staffings within noise")
    assert "lieutenants with added people -0.5 d (95% CI -1.5 to +0.5)" in finding.details  # every one, in the details
    quiet = {name: (0.1, -1.0, 1.0) for name in effects}
    assert findings.staffing_finding(staffing_table(quiet), GROUPS) == (
        "Driver changes' median time to merge vs the monolith: no staffing changes it beyond noise")


def test_staffing_finding_follows_the_area_and_the_numbers() -> None:
    effects = {name: (1.0, 0.2, 1.8) for group in GROUPS for name in group}
    drivers = findings.staffing_finding(staffing_table(effects, DRIVERS), GROUPS, area=DRIVERS)
    non_drivers = findings.staffing_finding(staffing_table(effects, NON_DRIVERS), GROUPS, area=NON_DRIVERS)
    assert drivers.startswith("Driver changes' median time to merge vs the monolith: ")
    assert non_drivers.startswith("Non-driver changes' median time to merge vs the monolith: ")
    assert drivers.count("+1.0 d") == 6 and "within noise" not in drivers
    # the added capacity in the sentence is read off the table's capacities
    table = staffing_table(effects)
    table.loc[(table["metric"] == CAP) & (table["scenario"] == "split_added"), "mean"] = 51.4
    assert "with 20 reviews/day added" in findings.staffing_finding(table, GROUPS)

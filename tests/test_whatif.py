"""What-if overrides and sensitivity design points: pure helpers behind notebooks 04 and 05."""

from __future__ import annotations

import numpy as np
import pytest
from simtest import SCENARIOS

from sim.outputs.report import headline_frame
from sim.runs.compare import compare
from sim.scenario import load_scenario
from sim.sensitivity import EffectRunner, Factor, overrides_at
from sim.whatif import warmup_bias, warmup_overrides, what_if_overrides

DRIVERS = ["libvirt", "vmwareapi", "hyperv", "xenapi", "ironic"]


def test_what_if_with_nothing_set_is_the_monolith_with_another_core_count() -> None:
    sc = load_scenario(SCENARIOS / "monolith.toml", what_if_overrides(DRIVERS, cores=15))
    assert sc.policy.mechanisms == () and sc.review.cores == 15 and sc.scenario.name == "what-if"


def test_what_if_composes_mechanisms_and_keeps_lieutenants_off_split_drivers() -> None:
    overrides = what_if_overrides(DRIVERS, cores=20, runway_slots=5, lieutenants=2, split=["vmwareapi", "hyperv"],
                                  config_jobs=3, job_failure=0.02)
    sc = load_scenario(SCENARIOS / "split.toml", overrides)
    assert sc.policy.mechanisms == ("runways", "lieutenants", "split")
    assert sc.policy.runways.slots == 5 and sc.policy.lieutenants.per_driver == 2
    assert sc.mechanism_drivers("split") == ("vmwareapi", "hyperv")
    assert set(sc.mechanism_drivers("lieutenants")) == {"libvirt", "xenapi", "ironic"}
    assert sc.gate.config_jobs_per_driver == 3 and sc.gate.config_job_false_failure_prob == 0.02
    assert sc.ci.nodes is None and not sc.policy.runways.exclusive  # the calibrated defaults unless asked


def test_what_if_sets_the_test_nodes_and_the_exclusive_runways_reading() -> None:
    sc = load_scenario(SCENARIOS / "monolith.toml",
                       what_if_overrides(DRIVERS, cores=20, runway_slots=3, runways_exclusive=True, nodes=400))
    assert sc.ci.nodes == 400 and sc.policy.runways.exclusive and sc.policy.runways.slots == 3
    no_runways = load_scenario(SCENARIOS / "monolith.toml", what_if_overrides(DRIVERS, cores=20, runways_exclusive=True))
    assert "runways" not in no_runways.policy.mechanisms and not no_runways.policy.runways.exclusive


def test_overrides_at_writes_every_key_and_rounds_integer_factors() -> None:
    factors = {"teams": Factor(("policy.split.team.reviews_per_day", "policy.split.teams.libvirt.reviews_per_day"),
                               0.5, 3.0),
               "slots": Factor(("policy.runways.slots",), 1, 20, integer=True)}
    out = overrides_at(factors, {"teams": 1.25, "slots": 6.6}, ["run.warmup_days=30"])
    assert out == ["run.warmup_days=30", "policy.split.team.reviews_per_day=1.25",
                   "policy.split.teams.libvirt.reviews_per_day=1.25", "policy.runways.slots=7"]


def test_effects_at_a_design_point_are_paired_differences_from_the_monolith() -> None:
    factors = {"capacity": Factor(("review.reviews_per_core_per_day",), 1.0, 3.0)}
    runner = EffectRunner(factors, ["runways"], SCENARIOS, replications=2, seed=3,
                          base_overrides=["run.warmup_days=30"], workers=1)
    effects = runner.effects_at({"capacity": 2.0})
    assert effects.shape == (1,) and np.isfinite(effects).all()
    design = np.array([[2.0]])
    assert np.array_equal(runner.evaluate(["capacity"], design)[0], effects)  # same seed: same effect
    assert runner.points == 1 and runner.replications_run == 4


def test_warmup_overrides_keep_the_scenarios_own_when_negative() -> None:
    assert warmup_overrides(-1) == []
    assert load_scenario(SCENARIOS / "monolith.toml", warmup_overrides(45.0)).run.warmup_days == 45.0


def test_warmup_bias_is_the_paired_difference_short_minus_own_warmup() -> None:
    short_cycle = ["review.cores=18"]  # overrides apply to both runs
    own = load_scenario(SCENARIOS / "monolith.toml").run.warmup_days
    bias = warmup_bias(SCENARIOS / "monolith.toml", 20.0, 2, 5, overrides=short_cycle)
    assert list(bias.columns) == [f"{own:g}-day warm-up", "20-day warm-up", "bias", "bias CI low", "bias CI high"]
    label = "median time to merge (d)"
    row = bias.loc[label]
    assert np.isclose(row["bias"], row["20-day warm-up"] - row[f"{own:g}-day warm-up"], rtol=0, atol=1e-9)
    assert row["bias CI low"] <= row["bias"] <= row["bias CI high"]
    # Each column is that warm-up's own run: the short one matches a run of it alone (same seed).
    alone = load_scenario(SCENARIOS / "monolith.toml", [*short_cycle, *warmup_overrides(20.0)])
    frame = headline_frame(compare([alone], 2, 5))
    assert frame.set_index("label").loc[label, "mean"] == row["20-day warm-up"]
    with pytest.raises(ValueError, match="warmup_days"):
        warmup_bias(SCENARIOS / "monolith.toml", own, 2, 5)

"""The scenario schema: loading, ``--set`` overrides, validation messages and cross-field rules."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from simtest import MMC, MONOLITH, SCENARIOS

from sim.scenario import (
    KINDS,
    Review,
    Scenario,
    ScenarioError,
    allowed_range,
    apply_overrides,
    load_scenario,
    validate_scenario,
)
from sim.scenario.loading import AREA_KEYED_TABLES, ENTRY_LABELS, EXTENDS_MAX_DEPTH
from sim.scenario.schema import keyed_tables

MINIMAL = "[areas.x]\nrate_per_day = 1.0\n"


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ loading


def test_shipped_scenarios_load(mmc: Scenario) -> None:
    mono = load_scenario(MONOLITH)
    assert mono.scenario.name == "monolith" and mono.review.cores == 20 and mono.review.votes_required == 2
    assert mono.area_names == ("api", "compute", "other", "misc", "libvirt", "vmwareapi", "xenapi", "hyperv", "ironic")
    assert len(mono.arrivals.weekly_profile) == mono.run.cycle_weeks == 26
    assert mono.cycle_days == 182.0 and mono.horizon_days == 182.0 + 182.0
    assert mmc.horizon_days == 30 + 2 * 182
    assert mmc.areas["all"].kind_mix == {"bug": 1.0, "blueprint": 0.0, "other": 0.0}


def test_minimal_scenario_gets_every_default(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, MINIMAL))
    assert sc.review == Review() and sc.review.cores == 20
    assert sc.areas["x"].kind_mix == {"bug": 0.42, "blueprint": 0.21, "other": 0.37}
    assert set(sc.areas["x"].kind_mix) == set(KINDS)


def test_scenario_round_trips_through_its_plain_dict(mmc: Scenario) -> None:
    mono = load_scenario(MONOLITH)
    for sc in (mmc, mono):
        assert validate_scenario(sc.to_toml_dict()) == sc


def test_scenario_is_frozen(mmc: Scenario) -> None:
    with pytest.raises(pydantic.ValidationError):
        mmc.review.cores = 3  # type: ignore[misc]


# ------------------------------------------------------------------------------ overrides


def test_overrides_parse_toml_values() -> None:
    raw = {"review": {"cores": 20}, "areas": {"a": {"rate_per_day": 1.0}}}
    out = apply_overrides(raw, [
        "review.cores=7", "review.detect_prob=0.25", "authors.abandonment=false", "scenario.name=hello world",
        "scenario.description=\"quoted\"", "arrivals.weekly_profile=[1, 2.5]",
        "gate.jobs=[{name='x', count=3, false_failure_prob=0.1}]", "new=areas.b", "areas.b.kind_mix={bug=1.0}",
    ])
    assert out["review"] == {"cores": 7, "detect_prob": 0.25}
    assert out["authors"]["abandonment"] is False
    assert out["scenario"] == {"name": "hello world", "description": "quoted"}  # not TOML: taken as a string
    assert out["arrivals"]["weekly_profile"] == [1, 2.5]
    assert out["gate"]["jobs"] == [{"name": "x", "count": 3, "false_failure_prob": 0.1}]
    assert out["areas"] == {"a": {"rate_per_day": 1.0}, "b": {"kind_mix": {"bug": 1.0}}}
    assert raw == {"review": {"cores": 20}, "areas": {"a": {"rate_per_day": 1.0}}}, "input must not be mutated"


def test_load_scenario_applies_overrides() -> None:
    sc = load_scenario(MMC, ["areas.all.rate_per_day=3", "review.cores=6", "gate.enabled=true"])
    assert sc.areas["all"].rate_per_day == 3.0 and sc.review.cores == 6 and sc.gate.enabled


@pytest.mark.parametrize("item, message", [
    ("review.cores", "expected section.key=value"),
    ("cores=3", "key must be section.key"),
    ("run.cycles.x=1", "cycles is not a table"),
])
def test_malformed_overrides_are_rejected(item: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as err:
        load_scenario(MMC, [item])
    assert str(MMC) in str(err.value)


# ------------------------------------------------------------------------------ error messages


def error_of(path: Path, overrides: list[str] | None = None) -> str:
    with pytest.raises(ScenarioError) as err:
        load_scenario(path, overrides or [])
    message = str(err.value)
    assert "\n" not in message
    return message


def test_out_of_range_names_file_field_value_and_range() -> None:
    msg = error_of(MONOLITH, ["areas.libvirt.rate_per_day=-1"])
    assert msg.startswith(f"{MONOLITH}: areas.libvirt.rate_per_day = -1")
    assert "0 <= x <= 1000" in msg
    msg = error_of(MONOLITH, ["review.detect_prob=1.5"])
    assert "review.detect_prob = 1.5" in msg and "0 <= x <= 1" in msg
    msg = error_of(MONOLITH, ["gate.jobs=[{name='a', count=2, false_failure_prob=1.0}]"])
    assert "gate.jobs.0.false_failure_prob = 1.0" in msg and "0 <= x < 1" in msg
    msg = error_of(MONOLITH, ["review.reviews_per_core_per_day=0"])
    assert "review.reviews_per_core_per_day = 0" in msg and "0 < x <= 100" in msg


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_rejected(value: str) -> None:
    for field in ("review.detect_prob", "areas.all.rate_per_day", "run.warmup_days", "authors.stall_mean_days"):
        msg = error_of(MMC, [f"{field}={value}"])
        assert field in msg


def test_wrong_type_is_reported_with_the_field() -> None:
    msg = error_of(MMC, ["review.cores=many"])
    assert "review.cores = 'many'" in msg and "integer" in msg


def test_unknown_keys_are_rejected_at_every_level(tmp_path: Path) -> None:
    assert "unknown key 'review.corez'" in error_of(MMC, ["review.corez=3"])
    assert "unknown key 'bogus'" in error_of(write(tmp_path, MINIMAL + "[bogus]\na = 1\n"))
    assert "unknown key 'areas.x.rate'" in error_of(write(tmp_path, MINIMAL + "rate = 2\n"))
    assert "unknown key 'gate.jobs.0.prob'" in error_of(MMC, ["gate.jobs=[{name='a', count=1, prob=0.1}]"])


def test_several_errors_are_reported_on_one_line() -> None:
    msg = error_of(MMC, ["review.cores=-1", "review.detect_prob=2"])
    assert "review.cores" in msg and "review.detect_prob" in msg and "and 1 more" in msg


def test_file_errors(tmp_path: Path) -> None:
    assert error_of(tmp_path / "missing.toml") == f"{tmp_path / 'missing.toml'}: file not found"
    assert error_of(write(tmp_path, "  \n\n")).endswith("file is empty")
    msg = error_of(write(tmp_path, "[areas.x\nrate = 1\n"))
    assert msg.startswith(f"{tmp_path / 's.toml'}: malformed TOML") and "line 1" in msg
    assert "areas: required field is missing" in error_of(write(tmp_path, "[review]\ncores = 3\n"))


# ------------------------------------------------------------------------------ cross-field rules


def test_weekly_profile_length_must_equal_cycle_weeks() -> None:
    msg = error_of(MMC, ["arrivals.weekly_profile=[1.0, 1.0, 1.0]"])
    assert "arrivals.weekly_profile has 3 weeks" in msg and "run.cycle_weeks is 26" in msg
    msg = error_of(MMC, ["arrivals.blueprint_weekly_profile=[1.0]"])
    assert "arrivals.blueprint_weekly_profile has 1 weeks" in msg
    ok = load_scenario(MMC, ["run.cycle_weeks=4", "arrivals.weekly_profile=[1, 2, 0, 1]"])
    assert ok.arrivals.weekly_profile == (1.0, 2.0, 0.0, 1.0)
    assert "multipliers >= 0" in error_of(MMC, ["run.cycle_weeks=4", "arrivals.weekly_profile=[1, 2, -1, 1]"])


def test_weekly_activity_has_one_positive_multiplier_per_cycle_week() -> None:
    msg = error_of(MMC, ["review.weekly_activity=[1.0, 1.0]"])
    assert "review.weekly_activity has 2 weeks" in msg and "run.cycle_weeks is 26" in msg
    assert "multipliers > 0" in error_of(MMC, ["run.cycle_weeks=4", "review.weekly_activity=[1, 2, 0, 1]"])
    ok = load_scenario(MMC, ["run.cycle_weeks=4", "review.weekly_activity=[0.5, 1.5, 1, 1]"])
    assert ok.review.weekly_activity == (0.5, 1.5, 1.0, 1.0)


def test_kind_mix_must_sum_to_one_over_known_kinds() -> None:
    msg = error_of(MMC, ["areas.all.kind_mix={bug=0.5, other=0.4}"])
    assert "areas.all.kind_mix" in msg and "sum to 1" in msg
    assert "unknown kind" in error_of(MMC, ["areas.all.kind_mix={bug=0.5, feature=0.5}"])
    assert "sum to 1" in error_of(MMC, ["areas.all.kind_mix={bug=1.5, other=-0.5}"])
    sc = load_scenario(MMC, ["areas.all.kind_mix={bug=0.3, blueprint=0.3, other=0.4}"])
    assert sc.areas["all"].kind_mix == {"bug": 0.3, "blueprint": 0.3, "other": 0.4}


def test_other_cross_field_rules() -> None:
    assert "window (5) must be >= window_floor (20)" in error_of(MMC, ["gate.window=5"])
    assert "feature_freeze_week (30) is after the cycle's end (26)" in error_of(
        MMC, ["cycle.feature_freeze=true", "cycle.feature_freeze_week=30"]
    )
    assert "total rate_per_day must be > 0" in error_of(MMC, ["areas.all.rate_per_day=0"])
    with pytest.raises(ScenarioError, match="at least one area"):
        validate_scenario({"areas": {}}, origin="x.toml")


def test_allowed_range_strings() -> None:
    fields = Scenario.model_fields["review"].annotation.model_fields
    assert allowed_range(fields["detect_prob"]) == "0 <= x <= 1"
    assert allowed_range(fields["reviews_per_core_per_day"]) == "0 < x <= 100"
    assert allowed_range(Scenario.model_fields["review"]) == ""


def test_all_zero_weekly_profiles_are_rejected() -> None:
    zeros = "[0, 0, 0, 0]"
    msg = error_of(MMC, ["run.cycle_weeks=4", f"arrivals.weekly_profile={zeros}"])
    assert "arrivals.weekly_profile" in msg and "no change would ever arrive" in msg and "at least one week must be > 0" in msg
    msg = error_of(MMC, ["run.cycle_weeks=4", f"arrivals.blueprint_weekly_profile={zeros}"])
    assert "arrivals.blueprint_weekly_profile" in msg and "no blueprint change would ever arrive" in msg
    assert "kind_mix" in msg  # the way to leave a kind out


def test_unknown_kinds_offer_the_nearest_kind() -> None:
    assert "did you mean 'bug'?" in error_of(MMC, ["areas.all.kind_mix={bugs=1.0}"])


# ------------------------------------------------------------------------------ who can approve what


def small(tmp_path: Path, text: str = "") -> Path:
    """A non-driver area and two driver areas (half the cores know each), no extends."""
    return write(tmp_path, """
[areas.core]
rate_per_day = 2.0
[areas.drv]
driver = true
rate_per_day = 1.0
expert_share = 0.5
[areas.drv2]
driver = true
rate_per_day = 1.0
expert_share = 0.5
[review]
cores = 4
""" + text)


def test_votes_required_above_the_cores_is_rejected() -> None:
    msg = error_of(MONOLITH, ["review.cores=1"])
    assert "review.votes_required (2) exceeds the 1 nova cores who can vote" in msg and "area 'api'" in msg
    assert "review.cores = 1" in msg and "allowed: <= 1" in msg
    assert "exceeds the 2 nova cores" in error_of(MMC, ["review.cores=2", "review.votes_required=3"])
    assert load_scenario(MMC, ["review.cores=2", "review.votes_required=2"]).review.cores == 2


def test_no_cores_is_rejected_when_an_area_needs_them() -> None:
    msg = error_of(MONOLITH, ["review.cores=0"])
    assert "no reviewers for area 'api' (areas.api.rate_per_day = " in msg and " > 0): review.cores = 0, so" in msg
    # an area without arrivals needs no reviewer
    assert load_scenario(MMC, ["new=areas.quiet", "areas.quiet.rate_per_day=0"]).areas["quiet"].rate_per_day == 0


def test_an_area_no_core_may_pick_is_rejected(tmp_path: Path) -> None:
    """expert_share x cores rounds to 0 and non-experts never pick: the model never reviews the area."""
    path = small(tmp_path, "non_expert_weight = 0.0\n")
    msg = error_of(path, ["areas.drv.expert_share=0.1"])  # round(0.4) = 0 experts
    assert "no reviewers for area 'drv'" in msg and "review.non_expert_weight = 0" in msg
    assert "round(areas.drv.expert_share x review.cores) = 0 experts" in msg
    # one expert, two votes: never approved
    msg = error_of(path, ["areas.drv.expert_share=0.25"])
    assert "exceeds the 1 nova cores who can vote on its changes of area 'drv'" in msg
    assert load_scenario(path).review.non_expert_weight == 0.0  # two experts each: fine
    # non-experts who pick rarely still review
    assert load_scenario(path, ["areas.drv.expert_share=0.0", "review.non_expert_weight=0.05"])


def test_lieutenants_votes_are_counted_with_the_cores(tmp_path: Path) -> None:
    # New people (staffing.from_cores = 0): these set-ups have too few cores to give the lieutenants their time.
    path = small(tmp_path, '[policy]\nmechanisms = ["lieutenants"]\nlieutenants = { drivers = ["drv"] }\n'
                           'staffing = { from_cores = 0.0 }\n')
    msg = error_of(path, ["review.cores=1", "review.votes_required=2", "policy.lieutenants.core_votes_required=2"])
    assert "policy.lieutenants.core_votes_required (2) exceeds review.votes_required" not in msg
    assert "exceeds the 1 nova cores who can vote on its changes of area 'core'" in msg
    # driver-only changes: one core vote and lieutenants; the other areas need no more than the cores have
    only_drivers = ["areas.core.rate_per_day=0", "areas.drv2.rate_per_day=0", "review.votes_required=3"]
    assert load_scenario(path, [*only_drivers, "review.cores=1", "policy.lieutenants.per_driver=2"])
    msg = error_of(path, [*only_drivers, "review.cores=1", "policy.lieutenants.per_driver=1"])
    assert "review.votes_required (3) exceeds the 2 reviewers who can vote on driver-only changes of area 'drv'" in msg
    assert "policy.lieutenants.per_driver = 1" in msg
    msg = error_of(path, [*only_drivers, "review.cores=1", "policy.lieutenants.core_votes_required=2"])
    assert "policy.lieutenants.core_votes_required (2) exceeds the 1 nova cores" in msg and "area 'drv'" in msg
    # lieutenants alone approve driver-only changes: no core needed
    assert load_scenario(path, [*only_drivers, "review.cores=0", "policy.lieutenants.core_votes_required=0",
                                "policy.lieutenants.per_driver=3"]).review.cores == 0
    # ... but changes that also touch nova need the cores' votes
    msg = error_of(path, [*only_drivers, "review.cores=0", "policy.lieutenants.core_votes_required=0",
                          "policy.lieutenants.per_driver=3", "areas.drv.driver_only_share=0.5"])
    assert "no reviewers for area 'drv'" in msg


def test_split_drivers_need_no_nova_core_but_nova_areas_do(tmp_path: Path) -> None:
    path = small(tmp_path, '[policy]\nmechanisms = ["split"]\nstaffing = { from_cores = 0.0 }\n')  # teams: new people
    assert load_scenario(path, ["areas.core.rate_per_day=0", "review.cores=0"]).review.cores == 0
    assert "no reviewers for area 'core'" in error_of(path, ["review.cores=0"])
    # experts_move: every core knows drv, so every core leaves nova for its team
    msg = error_of(path, ["policy.split.experts_move=true", "areas.drv.expert_share=1.0"])
    assert "no reviewers for area 'core'" in msg and "policy.split.experts_move takes 4 to the drv team" in msg
    msg = error_of(path, ["policy.split.experts_move=true", "areas.drv.expert_share=0.75"])
    assert "exceeds the 1 nova cores who can vote on its changes of area 'core'" in msg
    assert load_scenario(path, ["policy.split.experts_move=true"]).policy.split.experts_move


def test_sponsors_must_be_cores_left_in_nova(tmp_path: Path) -> None:
    path = small(tmp_path, '[policy]\nmechanisms = ["split", "sponsorship"]\nsplit = { experts_move = true }\n'
                           'staffing = { from_cores = 0.0 }\n')
    msg = error_of(path, ["policy.sponsorship.sponsors=3"])
    assert "policy.sponsorship.sponsors (3) exceeds the 2 cores left in nova" in msg and "experts_move" in msg
    assert load_scenario(path, ["policy.sponsorship.sponsors=2"]).policy.sponsorship.sponsors == 2


def test_third_party_ci_must_belong_to_a_driver_area(tmp_path: Path) -> None:
    msg = error_of(small(tmp_path, "[gate.third_party.drv2x]\njobs = 1\n"))
    assert "gate.third_party.drv2x: 'drv2x' is not a driver area" in msg and "did you mean 'drv2'?" in msg
    assert "is not a driver area" in error_of(small(tmp_path, "[gate.third_party.core]\njobs = 1\n"))
    assert set(load_scenario(small(tmp_path, "[gate.third_party.drv]\njobs = 1\n")).gate.third_party) == {"drv"}
    # the schema's default CIs stay (inert) in a scenario without those drivers
    assert set(load_scenario(small(tmp_path)).gate.third_party) == {"vmwareapi", "hyperv", "xenapi"}


@pytest.mark.parametrize("table, field", [
    ("[policy.split.teams.drvv]\nsize = 3\n", "policy.split.teams"),
    ("[policy.lieutenants]\ndrivers = ['drvv']\n", "policy.lieutenants.drivers"),
    ("[policy.split]\ndrivers = ['drvv']\n", "policy.split.drivers"),
])
def test_policy_driver_names_offer_the_nearest_driver(tmp_path: Path, table: str, field: str) -> None:
    msg = error_of(small(tmp_path, table))
    assert msg.startswith(f"{tmp_path / 's.toml'}: {field}: ['drvv'] are not driver areas")
    assert "did you mean 'drv'?" in msg


# ------------------------------------------------------------------------------ names must exist


def child(tmp_path: Path, text: str, base: Path = MONOLITH) -> Path:
    return write(tmp_path, f'extends = "{base}"\n{text}', "child.toml")


def test_unknown_area_in_an_extending_file_is_rejected(tmp_path: Path) -> None:
    path = child(tmp_path, "[areas.libvirtt]\nrate_per_day = 5.0\n")
    msg = error_of(path)
    assert msg.startswith(f"{path}: areas.libvirtt: unknown area 'libvirtt' (not in the scenario it extends, {MONOLITH}")
    assert "known: api, compute," in msg
    assert msg.endswith("; did you mean 'libvirt'? Declare a new one with new = [\"areas.libvirtt\"]")
    # an inline table is the same table
    assert "unknown area 'libvirtt'" in error_of(child(tmp_path, "areas = { libvirtt = { rate_per_day = 5.0 } }\n"))
    # a name far from every known one: the known names, no guess
    msg = error_of(child(tmp_path, "[areas.zzz]\nrate_per_day = 5.0\n"))
    assert "did you mean" not in msg and 'known: api, compute, other, misc, libvirt, vmwareapi, xenapi, hyperv, ironic); ' \
        'declare a new one with new = ["areas.zzz"]' in msg


def test_new_names_are_declared_in_the_file(tmp_path: Path) -> None:
    sc = load_scenario(child(tmp_path, 'new = ["areas.mydriver"]\n[areas.mydriver]\ndriver = true\nrate_per_day = 0.5\n'
                                       "[gate.third_party.mydriver]\njobs = 2\n"))
    assert sc.areas["mydriver"].driver and sc.areas["mydriver"].rate_per_day == 0.5
    assert sc.areas["mydriver"].defects_mean == Scenario.model_fields["areas"].annotation.__args__[1]().defects_mean
    assert sc.gate.third_party["mydriver"].jobs == 2 and sc.areas["libvirt"] == load_scenario(MONOLITH).areas["libvirt"]
    # the declaration is inherited: a file extending this one knows the area
    grandchild = write(tmp_path, 'extends = "child.toml"\n[areas.mydriver]\nrate_per_day = 1.0\n', "grandchild.toml")
    assert load_scenario(grandchild).areas["mydriver"].rate_per_day == 1.0


@pytest.mark.parametrize("text, fragments", [
    ('new = ["areas.libvirt"]\n[areas.libvirt]\nrate_per_day = 1.0\n',
     ["new: areas.libvirt already exists in the scenario it extends", "silently"]),
    ('new = ["areas.mine"]\n', ["new: areas.mine is declared new but the file defines no areas.mine"]),
    ('new = ["review.cores"]\n', ["new: 'review.cores' is not an entry of a table keyed by names",
                                   "allowed: areas.NAME, gate.third_party.NAME, policy.split.teams.NAME"]),
    ("new = 3\n", ["new = 3: expected a list of names"]),
])
def test_bad_declarations_are_rejected(tmp_path: Path, text: str, fragments: list[str]) -> None:
    msg = error_of(child(tmp_path, text))
    assert msg.startswith(str(tmp_path / "child.toml"))
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


def test_third_party_and_split_teams_know_the_driver_areas(tmp_path: Path) -> None:
    """Keyed by driver areas: any driver area of the scenario is a known name there (split.toml's
    per-driver teams need no declaration)."""
    assert set(load_scenario(SCENARIOS / "split.toml").policy.split.teams) == {"libvirt", "vmwareapi", "xenapi"}
    sc = load_scenario(child(tmp_path, "[gate.third_party.ironic]\njobs = 3\n[policy.split.teams.ironic]\nsize = 2\n"))
    assert sc.gate.third_party["ironic"].jobs == 3 and sc.policy.split.teams["ironic"].size == 2
    msg = error_of(child(tmp_path, "[gate.third_party.vmwareap]\njobs = 1\n"))
    assert "gate.third_party.vmwareap: unknown third-party CI 'vmwareap'" in msg and "did you mean 'vmwareapi'?" in msg
    assert 'new driver area with new = ["areas.vmwareap"]' in msg
    msg = error_of(child(tmp_path, "[policy.split.teams.hyperV]\nsize = 2\n"))
    assert "unknown driver team 'hyperV'" in msg and "did you mean 'hyperv'?" in msg
    assert "unknown third-party CI 'api'" in error_of(child(tmp_path, "[gate.third_party.api]\njobs = 1\n"))


def test_unknown_names_in_overrides_are_rejected() -> None:
    msg = error_of(MONOLITH, ["areas.libvirtt.rate_per_day=5"])
    assert msg.startswith(f"{MONOLITH}: --set areas.libvirtt.rate_per_day: unknown area 'libvirtt'")
    assert msg.endswith("did you mean 'libvirt'? Declare a new one with --set new=areas.libvirtt")
    assert "did you mean 'vmwareapi'?" in error_of(MONOLITH, ["gate.third_party.vmwareap.jobs=2"])
    assert "did you mean 'vmwareapi'?" in error_of(MONOLITH, ["gate.third_party={vmwareap={jobs=2}}"])
    assert "did you mean 'libvirt'?" in error_of(MONOLITH, ["policy.split.teams.libvirtt.size=6"])
    assert "unknown area 'b' (not in the scenario; known: all)" in error_of(MMC, ["areas.b.rate_per_day=1"])
    with pytest.raises(ScenarioError, match="unknown area 'b'"):
        apply_overrides({"areas": {"a": {}}}, ["areas.b.rate_per_day=1"])


def test_new_names_are_declared_on_the_command_line() -> None:
    sc = load_scenario(MONOLITH, ["areas.mydriver.rate_per_day=0.5", "new=areas.mydriver", "areas.mydriver.driver=true",
                                  "gate.third_party.mydriver.jobs=2", "policy.split.teams.ironic.size=2"])
    assert sc.areas["mydriver"].rate_per_day == 0.5 and sc.gate.third_party["mydriver"].jobs == 2
    sc = load_scenario(MMC, ['new=["areas.a", "areas.b"]', "areas.a.rate_per_day=1", "areas.b.rate_per_day=2"])
    assert sc.area_names == ("all", "a", "b")
    assert "--set new: areas.libvirt already exists" in error_of(MONOLITH, ["new=areas.libvirt",
                                                                           "areas.libvirt.rate_per_day=1"])
    assert "--set new: areas.c is declared new but --set defines no areas.c" in error_of(MMC, ["new=areas.c"])
    assert "not an entry of a table keyed by names" in error_of(MMC, ["new=review.cores"])


def test_unknown_keys_offer_the_nearest_key(tmp_path: Path) -> None:
    assert error_of(MMC, ["review.core=3"]) == f"{MMC}: unknown key 'review.core'; did you mean 'cores'?"
    assert "unknown key 'areas.all.rate_pr_day'; did you mean 'rate_per_day'?" in error_of(MMC, ["areas.all.rate_pr_day=3"])
    assert "unknown key 'extend'; did you mean 'extends'?" in error_of(write(tmp_path, 'extend = "x.toml"\n' + MINIMAL))
    assert "unknown key 'polcy'; did you mean 'policy'?" in error_of(write(tmp_path, MINIMAL + "[polcy]\nname = 'x'\n"))
    msg = error_of(write(tmp_path, MINIMAL + "[zzz]\na = 1\n"))
    assert "unknown key 'zzz' (allowed: scenario, run, arrivals, areas, review," in msg


def test_every_table_keyed_by_names_is_handled() -> None:
    """A new dict[str, Model] table in the schema must get a label (and say whether it is keyed by areas)."""
    assert set(keyed_tables()) == {"areas", "gate.third_party", "policy.split.teams"}
    assert set(ENTRY_LABELS) == set(keyed_tables()) and AREA_KEYED_TABLES < set(keyed_tables())


# ------------------------------------------------------------------------------ extends chains


def test_a_deep_extends_chain_is_a_one_line_error(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "f0.toml")
    for i in range(1, 1000):
        write(tmp_path, f'extends = "f{i - 1}.toml"\n', f"f{i}.toml")
    msg = error_of(tmp_path / "f999.toml")
    assert msg.startswith(f"{tmp_path / 'f999.toml'}: extends: chain of more than {EXTENDS_MAX_DEPTH} extends")
    assert EXTENDS_MAX_DEPTH == 32 and "allowed: <= 32" in msg
    assert load_scenario(tmp_path / f"f{EXTENDS_MAX_DEPTH}.toml").areas["x"].rate_per_day == 1.0
    assert "chain of more than" in error_of(tmp_path / f"f{EXTENDS_MAX_DEPTH + 1}.toml")

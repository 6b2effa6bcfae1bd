"""The scenario schema: loading, ``--set`` overrides, validation messages and cross-field rules."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from simtest import MMC, MONOLITH

from sim.params import allowed_range
from sim.scenario import (
    KINDS,
    Review,
    Scenario,
    ScenarioError,
    apply_overrides,
    load_scenario,
    validate_scenario,
)

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
        "gate.jobs=[{name='x', count=3, false_failure_prob=0.1}]", "areas.b.kind_mix={bug=1.0}",
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

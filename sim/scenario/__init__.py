"""Scenarios: the schema of every parameter (``schema``), loading files and overrides (``loading``),
and the generated parameter table (``table``). ``from sim.scenario import Scenario, load_scenario``.
"""

from __future__ import annotations

from sim.scenario.loading import (
    AREA_KEYED_TABLES,
    NEW_KEY,
    ScenarioError,
    apply_overrides,
    load_scenario,
    merge_tables,
    read_scenario_tables,
    validate_scenario,
)
from sim.scenario.schema import (
    DSVM_FALSE_FAILURES,
    KINDS,
    Area,
    Arrivals,
    Authors,
    Check,
    Cycle,
    DriverTeam,
    Gate,
    Info,
    JobGroup,
    LieutenantsConfig,
    NonCore,
    PolicyConfig,
    Review,
    Run,
    RunwaysConfig,
    Scenario,
    SplitConfig,
    SponsorshipConfig,
    ThirdPartyCI,
    allowed_range,
    field_at,
    keyed_tables,
    model_of,
    param,
    upper_bound,
)

__all__ = [
    "AREA_KEYED_TABLES", "NEW_KEY", "DSVM_FALSE_FAILURES", "KINDS", "Area", "Arrivals", "Authors", "Check", "Cycle", "DriverTeam", "Gate", "Info",
    "JobGroup", "LieutenantsConfig", "NonCore", "PolicyConfig", "Review", "Run", "RunwaysConfig", "Scenario",
    "ScenarioError", "SplitConfig", "SponsorshipConfig", "ThirdPartyCI", "allowed_range", "apply_overrides",
    "field_at", "keyed_tables", "load_scenario", "merge_tables", "model_of", "param", "read_scenario_tables", "upper_bound",
    "validate_scenario",
]

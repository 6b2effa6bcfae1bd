"""Governance policies: each decides who reviews a change, what approves it and which gate tests it."""

from __future__ import annotations

from sim.policies.base import Policy
from sim.policies.monolith import Monolith
from sim.scenario import Scenario

POLICIES: dict[str, type[Policy]] = {"monolith": Monolith}


def make_policy(scenario: Scenario) -> Policy:
    """The policy object the scenario's ``[policy]`` table asks for."""
    return POLICIES[scenario.policy.kind](scenario)


__all__ = ["POLICIES", "Policy", "make_policy"]

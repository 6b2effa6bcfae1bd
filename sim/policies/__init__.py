"""Governance policies: the monolith plus composable mechanisms (runways, lieutenants, split, sponsorship)."""

from __future__ import annotations

from sim.model.policy import Mechanism, Policy
from sim.policies.lieutenants import Lieutenants
from sim.policies.runways import Runways
from sim.policies.split import Split
from sim.policies.sponsorship import Sponsorship
from sim.scenario import Scenario

MECHANISMS: dict[str, type[Mechanism]] = {
    "runways": Runways,
    "lieutenants": Lieutenants,
    "split": Split,
    "sponsorship": Sponsorship,
}


def make_policy(scenario: Scenario) -> Policy:
    """The policy the scenario's ``[policy]`` table composes: the monolith plus its mechanisms, in order."""
    return Policy(scenario, [MECHANISMS[name] for name in scenario.policy.mechanisms])


__all__ = ["MECHANISMS", "make_policy"]

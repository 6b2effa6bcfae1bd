"""Governance policies: the monolith plus composable mechanisms (runways, lieutenants, split, sponsorship)."""

from __future__ import annotations

from sim.model.policy import Mechanism, Policy
from sim.policies.lieutenants import Lieutenants
from sim.policies.runways import ExclusiveRunways, Runways
from sim.policies.split import Split
from sim.policies.sponsorship import Sponsorship
from sim.scenario import Scenario

MECHANISMS: dict[str, type[Mechanism]] = {
    "runways": Runways,
    "lieutenants": Lieutenants,
    "split": Split,
    "sponsorship": Sponsorship,
}


def mechanism_class(scenario: Scenario, name: str) -> type[Mechanism]:
    """The class of mechanism ``name`` in ``scenario`` (a reading may pick another: exclusive runways)."""
    if name == "runways" and scenario.policy.runways.exclusive:
        return ExclusiveRunways
    return MECHANISMS[name]


def make_policy(scenario: Scenario) -> Policy:
    """The policy the scenario's ``[policy]`` table composes: the monolith plus its mechanisms, in order."""
    return Policy(scenario, [mechanism_class(scenario, name) for name in scenario.policy.mechanisms])


__all__ = ["MECHANISMS", "make_policy", "mechanism_class"]

"""The composition root: one replication of a scenario, its policy's mechanisms from the registry.

The model (:mod:`sim.model`) knows the policy seam but not the mechanisms; :mod:`sim.policies`
knows the mechanisms; this module puts the two together, so that neither imports the other.
"""

from __future__ import annotations

from sim.model.records import Records
from sim.model.world import World
from sim.policies import make_policy
from sim.scenario import Scenario


def build_world(scenario: Scenario, replication: int = 0, seed: int | None = None) -> World:
    """The world of replication ``replication`` of ``scenario`` under ``seed``, before any arrival."""
    return World(scenario, make_policy(scenario), replication, seed)


def simulate(scenario: Scenario, replication: int = 0, seed: int | None = None) -> Records:
    """Run one replication of ``scenario`` and return its records."""
    world = build_world(scenario, replication, seed)
    world.start_arrivals()
    return world.run()

"""The monolith (status quo of 2014): one repository, one core team, one integrated gate."""

from sim.policies.base import Policy


class Monolith(Policy):
    """Nothing to change: the base policy is the monolith."""

"""SimPy's environment with its time kept by the clock (:class:`sim.engine.clock.Clock`).

The model reads the simulated time on every step it takes (about three reads per engine event). On a
plain ``simpy.Environment`` that is an instance-dictionary lookup; here SimPy's ``_now`` is a property
over the clock's own ``t``, so the clock reads and sets a plain attribute, while SimPy (``step``,
``schedule``, ``now``, its processes and resources) reads and sets the same time through the property.
The trade: each of SimPy's own reads is a Python call. Measured in instructions (callgrind, compiled
build, replication 0): the calibrated monolith, whose events are all the clock's calls, 7 % fewer; a
run on a finite test-node pool (``ci.nodes``), where most events are SimPy's resource requests, 6 % more.
This module is not compiled: a compiled class cannot extend SimPy's.
"""

from __future__ import annotations

from typing import Protocol

import simpy


class HasTime(Protocol):
    t: float


class ClockEnvironment(simpy.Environment):
    """A ``simpy.Environment`` whose time, in days, is ``clock.t``."""

    def __init__(self, clock: HasTime) -> None:
        self._clock = clock
        super().__init__()  # sets the start time, through the property

    @property  # type: ignore[override]
    def _now(self) -> float:
        return self._clock.t

    @_now.setter
    def _now(self, value: float) -> None:
        self._clock.t = value

"""Scheduling a plain function call after a delay: one SimPy event, no process.

Most of the model's steps are "in d days, do f". A callback on a ``Timeout`` is the cheapest way
SimPy offers to do that (one engine event, no generator), which keeps the model's overhead small
next to the engine's own cost per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy


def _call(event: simpy.Event) -> None:
    fn, args = event._value  # type: ignore[attr-defined]
    fn(*args)


def after(env: simpy.Environment, delay: float, fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn(*args)`` when ``delay`` days have passed (the call rides on the timeout's value)."""
    env.timeout(delay, (fn, args)).callbacks.append(_call)

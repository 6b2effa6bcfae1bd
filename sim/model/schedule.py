"""Scheduling a plain function call after a delay: one SimPy engine event, no process.

Most of the model's steps are "in d days, do f". SimPy's engine (``Environment.step``) pops
``(time, priority, id, event)`` from its heap and calls each of ``event.callbacks``; any object
with ``callbacks`` and ``_ok`` attributes is a valid event. :class:`Call` is the smallest such
object: it skips the argument checks and bookkeeping of a full ``Timeout`` (which the model never
needs: nothing waits on these events, they are never triggered twice and never fail), so the
model's cost per engine event stays small next to the engine's own.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any, ClassVar, Final

import simpy
from simpy.events import NORMAL, URGENT

# Final aliases: a compiled build (``make fast``) reads them as constants, not as module globals.
_heappush: Final = heappush
_NORMAL: Final = NORMAL


class Call:
    """A function call scheduled on SimPy's event heap."""

    __slots__ = ("callbacks", "fn", "args")
    _ok: ClassVar[bool] = True  # read by the engine after the callbacks; a Call never fails

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.callbacks: Any = _FIRE  # the engine sets it to None once fired
        self.fn = fn
        self.args = args


def _fire(call: Call) -> None:
    fn = call.fn  # read first: compiled, ``call.fn(...)`` would be a generic method lookup
    fn(*call.args)


_FIRE: Final = (_fire,)


def after(env: simpy.Environment, delay: float, fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn(*args)`` when ``delay`` (>= 0) days have passed; FIFO among equal times, like SimPy."""
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), Call(fn, args)))  # type: ignore[attr-defined,misc]


class Scheduler:
    """:func:`after` for one environment, with its heap and event counter looked up once."""

    __slots__ = ("env", "queue", "next_id")

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.queue: list[Any] = env._queue  # type: ignore[attr-defined]
        self.next_id: Callable[[], Any] = env._eid.__next__  # type: ignore[attr-defined]  # = next(env._eid)

    def after(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        """As :func:`after`."""
        now: float = self.env._now  # type: ignore[attr-defined]
        _heappush(self.queue, (now + delay, _NORMAL, self.next_id(), Call(fn, args)))


def start(env: simpy.Environment, fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn(*args)`` now, ahead of the events already due now: as SimPy starts a process."""
    heappush(env._queue, (env._now, URGENT, next(env._eid), Call(fn, args)))  # type: ignore[attr-defined,misc]

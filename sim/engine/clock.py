"""The clock of one replication: simulated time, and "call f in d days", on SimPy's engine.

Most of the model's steps are "in d days, do f". SimPy's engine (``Environment.step``) pops
``(time, priority, id, event)`` from its heap and calls each of ``event.callbacks``; any object
with ``callbacks`` and ``_ok`` attributes is a valid event. :class:`Call` is the smallest such
object: it skips the argument checks and bookkeeping of a full ``Timeout`` (which the model never
needs: nothing waits on these events, they are never triggered twice and never fail), so the
model's cost per engine event stays small next to the engine's own.

:meth:`Clock.run` processes that heap with SimPy's own loop, written out so that a :class:`Call`
is one direct call (the same events in the same order: ``tests/test_clock.py``). The time is the
clock's own attribute ``t``, which SimPy reads and sets as its ``_now`` through
:class:`~sim.engine.environment.ClockEnvironment`. This module and that one are the only code that
touches SimPy's internals: its time (``_now``), its event heap (``_queue``) and its event counter
(``_eid``). The model reads the time with :meth:`Clock.now` and schedules with :meth:`Clock.after`
and :meth:`Clock.start`.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any, ClassVar, Final

import simpy
from simpy.events import NORMAL, URGENT

from sim.engine.environment import ClockEnvironment

# Final aliases: a compiled build (``make fast``) reads them as constants, not as module globals.
_heappush: Final = heappush
_heappop: Final = heappop
_NORMAL: Final = NORMAL
_URGENT: Final = URGENT


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
_STOP: Final = object()  # the marker :meth:`Clock.run` schedules at its ``until``


class Clock:
    """Simulated time (days) of one SimPy environment, and calls scheduled on it."""

    __slots__ = ("t", "env", "queue", "next_id", "reserved")

    def __init__(self) -> None:
        self.t = 0.0  # the simulated time, in days: SimPy's too (ClockEnvironment)
        self.env: simpy.Environment = ClockEnvironment(self)
        self.queue: list[Any] = self.env._queue  # type: ignore[attr-defined]
        self.next_id: Callable[[], Any] = self.env._eid.__next__  # type: ignore[attr-defined]  # = next(env._eid)
        self.reserved = 0  # ids taken by :meth:`reserve` and not (yet) scheduled with :meth:`at`

    def now(self) -> float:
        """The simulated time, in days (``env.now`` without the property call)."""
        return self.t

    def after(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` when ``delay`` (>= 0) days have passed; FIFO among equal times, like SimPy."""
        assert delay >= 0.0, f"negative delay {delay} scheduled for {fn}"
        _heappush(self.queue, (self.t + delay, _NORMAL, self.next_id(), Call(fn, args)))

    def reserve(self) -> int:
        """An engine event id, taken now, for an event that may be scheduled later with :meth:`at`, or never."""
        self.reserved += 1
        event_id: int = self.next_id()
        return event_id

    def at(self, time: float, event_id: int, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` at ``time`` (days, >= now) under an id taken earlier with :meth:`reserve`.

        For a model that keeps its own candidate events and puts only the earliest on the engine's
        heap (the gate): the event keeps the place, among events due at the same time, that the
        id taken when it was created gives it, exactly as if :meth:`after` had scheduled it then.
        """
        self.reserved -= 1
        _heappush(self.queue, (time, _NORMAL, event_id, Call(fn, args)))

    def start(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` now, ahead of the events already due now: as SimPy starts a process."""
        _heappush(self.queue, (self.t, _URGENT, self.next_id(), Call(fn, args)))

    def run(self, until: float | None = None) -> None:
        """Process events until simulated time ``until`` (days), or until none is left.

        The loop of ``Environment.run``, in the same order, with one shortcut: a :class:`Call` (most
        of the model's events) is popped and called directly; any other SimPy event (a resource
        request, a process) is left to ``Environment.step``. As ``Environment.run(until)``, the stop
        is an urgent event at ``until`` with the next id: events due then run only if urgent and
        scheduled earlier.
        """
        env = self.env
        queue = self.queue
        stop: object = _STOP
        if until is not None:
            if until <= self.t:
                raise ValueError(f"until ({until}) must be greater than the current simulation time")
            _heappush(queue, (float(until), _URGENT, self.next_id(), stop))
        while queue:
            event = queue[0][3]
            if type(event) is Call:
                when, _, _, call = _heappop(queue)
                self.t = when
                call.callbacks = None
                fn = call.fn
                fn(*call.args)
            elif event is stop:
                self.t = _heappop(queue)[0]
                return
            else:
                env.step()

    def scheduled(self) -> int:
        """Event ids taken so far (events scheduled, plus ids reserved), read without consuming one.

        SimPy numbers scheduled events with an ``itertools.count``; its repr, ``count(N)``, holds
        the next id, which equals the number taken.
        """
        text = repr(self.env._eid)  # type: ignore[attr-defined]
        return int(text[text.index("(") + 1:-1])

    def processed(self) -> int:
        """Events the engine processed: ids taken minus events still queued and ids never scheduled."""
        return self.scheduled() - len(self.queue) - self.reserved

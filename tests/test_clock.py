"""The clock's own event loop (``Clock.run``) against SimPy's (``Environment.run``): the same events
in the same order at the same times, whatever mix of the model's calls and SimPy's own events
(processes, timeouts, resource requests) is on the heap, and the same ``until`` semantics."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import simpy

from sim.engine.clock import Clock

Trace = list[tuple[str, float]]


def busy_schedule(clock: Clock, trace: Trace) -> None:
    """Calls, urgent starts, SimPy processes and a one-slot resource, many of them due at equal times."""
    env = clock.env
    note: Callable[[str], None] = lambda label: trace.append((label, env.now))

    def chain(name: str, gaps: list[float]) -> None:
        note(name)
        if gaps:
            clock.after(gaps[0], chain, name, gaps[1:])

    clock.after(1.0, chain, "a", [1.0, 0.0, 2.0, 1.0])
    clock.after(1.0, chain, "b", [0.0, 1.0, 1.0])
    clock.start(note, "start")
    resource = simpy.Resource(env, capacity=1)

    def user(name: str, hold: float):
        with resource.request() as request:
            yield request
            note(f"{name} holds")
            clock.after(0.0, note, f"{name} call")
            yield env.timeout(hold)
        note(f"{name} releases")

    for i, hold in enumerate((1.0, 2.0, 1.0)):
        env.process(user(f"user{i}", hold))
    env.timeout(3.0).callbacks.append(lambda _e: note("timeout"))
    clock.after(6.0, chain, "late", [])


def traced(run: Callable[[Clock], None]) -> tuple[Trace, float, int]:
    clock = Clock()
    trace: Trace = []
    busy_schedule(clock, trace)
    run(clock)
    return trace, clock.now(), clock.processed()


@pytest.mark.parametrize("until", [None, 3.0, 5.5, 6.0])
def test_the_clock_runs_events_as_simpy_does(until: float | None) -> None:
    mine = traced(lambda clock: clock.run(until))
    simpys = traced(lambda clock: clock.env.run(until=until))
    assert len(mine[0]) >= 12
    assert mine == simpys


def test_an_urgent_start_due_at_the_stop_runs_only_if_scheduled_before_it() -> None:
    for run in (lambda clock: clock.run(2.0), lambda clock: clock.env.run(until=2.0)):
        clock = Clock()
        trace: Trace = []
        clock.after(1.0, lambda: clock.start(lambda: trace.append(("early", clock.now()))))
        clock.after(2.0, lambda: trace.append(("normal at the stop", clock.now())))
        run(clock)
        assert trace == [("early", 1.0)] and clock.now() == 2.0


def test_a_stop_in_the_past_is_refused() -> None:
    clock = Clock()
    clock.run(1.0)
    with pytest.raises(ValueError, match="must be greater"):
        clock.run(1.0)


def failures(run: Callable[[Clock, float], None]) -> list[tuple[str, float]]:
    """What a failed event does to a run, and to the runs after it (the stop left on the heap by the
    interrupted run is still due), then a defused failure (ignored)."""
    clock = Clock()
    seen: list[tuple[str, float]] = []
    clock.after(0.5, lambda: clock.env.event().fail(RuntimeError("boom")))
    for until in (2.0, 3.0):
        try:
            run(clock, until)
            seen.append(("stopped", clock.now()))
        except RuntimeError as error:
            seen.append((str(error), clock.now()))
    defused = clock.env.event()
    defused.fail(RuntimeError("ignored"))
    defused.defused = True
    run(clock, 4.0)
    seen.append(("stopped", clock.now()))
    return seen


def test_a_failed_event_raises_as_in_simpy() -> None:
    mine = failures(lambda clock, until: clock.run(until))
    assert mine[0] == ("boom", 0.5)
    assert mine == failures(lambda clock, until: clock.env.run(until=until))


def test_the_clock_and_simpy_share_one_time() -> None:
    """The clock's time is SimPy's: whichever loop advances it (SimPy's own run or the clock's), both read the same."""
    clock = Clock()
    env = clock.env
    seen: list[tuple[float, float]] = []
    env.timeout(1.5).callbacks.append(lambda _e: seen.append((clock.now(), env.now)))
    clock.after(2.25, lambda: seen.append((clock.now(), env.now)))
    env.run(until=2.0)
    assert seen == [(1.5, 1.5)] and clock.now() == env.now == 2.0
    clock.run(until=3.0)
    assert seen == [(1.5, 1.5), (2.25, 2.25)] and clock.now() == env.now == 3.0

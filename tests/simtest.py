"""Shared helpers of the test suite (imported as ``simtest``; fixtures live in conftest.py).

Statistical tests follow one rule: a simulated mean matches theory when it is within k standard
errors over n independent replications (SE = sample sd / sqrt(n)), where k gives the two-sided
false-alarm rate of a 3-sigma rule (0.27 %). The SE is estimated from the replications, so k comes
from Student's t with n - 1 degrees of freedom (k = 3.58 at n = 20, 3.38 at n = 30), not 3: with 3
a correct model fails ~1 % of seeds at n = 20. Counts and proportions over thousands of draws use
Z = 3 with their exact binomial/Poisson SE. Seeds are fixed, so every test is deterministic;
tolerances come from the SE, never from a hand-picked margin.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

import numpy as np
import pandas as pd
from scipy import stats

from sim.model.world import World
from sim.runs.runner import RunResult
from sim.scenario import Scenario
from sim.simulate import build_world

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "data" / "scenarios"
MMC = SCENARIOS / "mmc.toml"
MONOLITH = SCENARIOS / "monolith.toml"
Z = 3.0
FALSE_ALARM = 2 * stats.norm.sf(Z)  # 0.27 %, two-sided

# A shortened monolith: the real parameters, a 60-day warm-up (enough to fill the queues).
SHORT_MONOLITH = ["run.warmup_days=60"]


def started_world(scenario: Scenario, replication: int = 0, seed: int | None = None) -> World:
    """The world of a replication with its arrivals started (``run()`` simulates it)."""
    world = build_world(scenario, replication, seed)
    world.start_arrivals()
    return world


def per_replication(result: RunResult, metric: str, area: str = "all") -> np.ndarray:
    """One value of ``metric`` per replication, in replication order (first row per replication)."""
    pr = result.per_replication
    rows = pr[(pr["metric"] == metric) & (pr["area"] == area)]
    values = rows.groupby("replication", sort=True)["value"].first()
    assert len(values) == result.replications, f"{metric}/{area}: one value per replication expected"
    return values.to_numpy(dtype=float)


def mean_se(values: np.ndarray) -> tuple[float, float]:
    x = np.asarray(values, dtype=float)
    assert len(x) >= 2 and np.all(np.isfinite(x))
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def t_limit(n: int, one_sided: bool = False) -> float:
    """SEs a mean of n replications may stray with probability FALSE_ALARM (Student's t, n - 1 df)."""
    return float(stats.t.isf(FALSE_ALARM if one_sided else FALSE_ALARM / 2, n - 1))


def assert_within_se(values: np.ndarray, expected: float, label: str) -> None:
    mean, se = mean_se(values)
    k = t_limit(len(values))
    assert se > 0, f"{label}: replications are identical (no sampling error?)"
    assert abs(mean - expected) <= k * se, (
        f"{label}: simulated {mean:.5g} +- {se:.3g} (SE, n={len(values)}), theory {expected:.5g}: "
        f"off by {abs(mean - expected) / se:.1f} SE (limit {k:.2f})"
    )


def assert_positive(values: np.ndarray, label: str) -> None:
    """The mean of paired differences is above zero beyond noise (one-sided, same false-alarm rate)."""
    mean, se = mean_se(values)
    k = t_limit(len(values), one_sided=True)
    assert mean > k * se, f"{label}: paired difference {mean:.4g} +- {se:.3g} (SE, n={len(values)}), limit {k:.2f} SE"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m sim ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout,
        check=False,
    )


class TimeLimit(BaseException):  # not an Exception: the CLI's handlers let it through
    """A command run in this process went on longer than its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeLimit` in the main thread after ``seconds`` (a hang fails, not waits)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeLimit(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def fresh_sim_logger() -> Iterator[None]:
    """The CLI binds its log handler to the sys.stderr of its first call: give each call its own."""
    logger = logging.getLogger("sim")
    saved = list(logger.handlers)
    logger.handlers.clear()
    try:
        yield
    finally:
        logger.handlers[:] = saved


def run_in_process(argv: Sequence[str], seconds: float = 60.0) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``python -m sim ARGV`` run by ``sim.cli.main`` in this process,
    failing with :class:`TimeLimit` after ``seconds``."""
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), fresh_sim_logger(), \
            time_limit(seconds):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return code, out.getvalue(), err.getvalue()


def frame_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


def kill_mid_study(proc: subprocess.Popen[bytes], done: Path, at_least: int, total: int, seconds: float) -> int:
    """SIGKILL ``proc`` (a study writing one marker per finished task into ``done``) once at least
    ``at_least`` tasks are done, or after ``seconds``; assert the kill came mid-way and return the
    number of tasks done then."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if done.is_dir() and len(list(done.glob("*.json"))) >= at_least:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = len(list(done.glob("*.json")))
    assert at_least <= at_kill < total, f"killed with {at_kill} of {total} tasks cached: not mid-way"
    return at_kill

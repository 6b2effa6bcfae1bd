"""Fault injection: kill a multi-worker run at several points, by SIGTERM, SIGKILL and SIGINT.

After each kill: no process of the run survives (the workers end with their parent), the target
holds either nothing or a complete previous result (never a partial one), and a re-run to the same
target writes exactly the bytes of an undisturbed run (and removes what the killed run left).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from simtest import MONOLITH, ROOT

# 20 replications of the monolith with a 60-day warm-up: several seconds on two workers, so every
# kill below lands before the run ends.
RUN = ["run", str(MONOLITH), "--replications", "20", "--workers", "2", "--seed", "5", "--set", "run.warmup_days=60"]
OUTPUTS = ["changes.parquet", "run.json", "summary.csv"]
EXIT_WAIT_SECONDS = 30  # a guard against a hang, not a timing assertion


def start(out: Path) -> subprocess.Popen[str]:
    """The run in a session of its own, so every process it starts can be found afterwards."""
    return subprocess.Popen([sys.executable, "-m", "sim", *RUN, "--out", str(out)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def survivors(session: int) -> list[int]:
    """Live (not zombie) processes of a session."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # state, ppid, pgrp, session, ...
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def wait_until_gone(session: int) -> list[int]:
    deadline = time.monotonic() + 5.0
    while (alive := survivors(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def wait_for_workers(proc: subprocess.Popen[str]) -> None:
    """Until the run has started its two workers (the parent plus two in its session)."""
    deadline = time.monotonic() + 60
    while len(survivors(proc.pid)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def interruptible() -> Iterator[None]:
    """Ctrl-C as in a terminal: a script's background job (``cmd &``) inherits SIGINT ignored, and so
    would the runs started here, which would then rightly run on through the test's Ctrl-C. A Python
    handler here is reset to the default in the started process, which then raises on Ctrl-C."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("reference") / "out"
    proc = start(out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return {name: (out / name).read_bytes() for name in OUTPUTS}


@pytest.mark.slow
@pytest.mark.parametrize(("how", "after_workers"), [
    (signal.SIGTERM, 0.0), (signal.SIGTERM, 1.5),
    (signal.SIGKILL, 0.0), (signal.SIGKILL, 1.5),
    (signal.SIGINT, 0.5),  # to the whole group, as Ctrl-C in a terminal
    (signal.SIGTERM, None),  # before the workers exist (while importing)
])
def test_a_killed_run_leaves_no_process_no_partial_result_and_reruns_identically(
    how: signal.Signals, after_workers: float | None, reference: dict[str, bytes], tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    proc = start(out)
    if after_workers is None:
        time.sleep(0.2)
    else:
        wait_for_workers(proc)
        time.sleep(after_workers)
    if how == signal.SIGINT:
        os.killpg(proc.pid, how)
    else:
        proc.send_signal(how)
    _, err = proc.communicate(timeout=EXIT_WAIT_SECONDS)
    assert wait_until_gone(proc.pid) == [], "a worker outlived its parent"
    assert proc.returncode in (-how, 128 + how), (proc.returncode, err)
    assert "Traceback" not in err
    assert not out.exists(), "a partial result was left under the target"
    if how != signal.SIGKILL:
        assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["out"]), "temporary output left behind"

    rerun = start(out)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "the re-run left or kept a temporary"
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == reference

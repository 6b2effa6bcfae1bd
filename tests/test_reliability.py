"""Nothing lost, nothing hangs: the command line refuses bad outputs before simulating, caps its
workers and replications, and stops a diverging run with one line (issue 12's reproductions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simtest import MMC, MONOLITH, SCENARIOS, run_cli

from sim.errors import SimulationDiverged
from sim.runs.pool import available_cores, usable_workers, worker_pool
from sim.runs.runner import run_replications
from sim.scenario import load_scenario

# A run that would take hours: if any of the commands below started simulating before checking
# its output, it would hit run_cli's timeout instead of exiting 2.
ENDLESS = ["--replications", "10000"]
SHORT_MMC = ["--set", "run.cycles=1", "--set", "run.warmup_days=0"]


def one_error_line(proc, *fragments: str) -> str:  # noqa: ANN001 - a CompletedProcess
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# ------------------------------------------------------------------------------ outputs


def test_out_holding_foreign_files_is_refused_before_simulating(tmp_path: Path) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep").write_text("x")
    proc = run_cli("run", str(MONOLITH), *ENDLESS, "--out", str(out), timeout=60)
    one_error_line(proc, str(out), "not a driversplit result", "--force")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    assert [p.name for p in out.iterdir()] == ["keep"] and (out / "keep").read_text() == "x"


def test_out_dot_does_not_empty_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("x")
    proc = run_cli("run", str(MONOLITH), *ENDLESS, "--out", ".", cwd=tmp_path, timeout=60)
    one_error_line(proc, "--out .")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


@pytest.mark.parametrize("shape", ["existing_file", "under_a_file"])
def test_out_that_cannot_be_a_directory_is_refused_before_simulating(shape: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" if shape == "existing_file" else tmp_path / "f" / "sub"
    proc = run_cli("run", str(MONOLITH), *ENDLESS, "--out", str(out), timeout=60)
    one_error_line(proc, str(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"], "a hidden temporary was left behind"


@pytest.mark.parametrize("command", [
    ["compare", str(MONOLITH), str(SCENARIOS / "split.toml"), *ENDLESS, "--out"],
    ["figures", "--replications", "10000", "--out"],
    ["check-baseline", "--update", *ENDLESS, "--baseline"],
])
def test_every_writing_command_refuses_a_foreign_directory_first(command: list[str], tmp_path: Path) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "README.md").write_text("the user's")
    proc = run_cli(*command, str(out), timeout=60)
    one_error_line(proc, str(out))
    assert (out / "README.md").read_text() == "the user's" and len(list(out.iterdir())) == 1


def test_force_writes_beside_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep").write_text("x")
    proc = run_cli("run", str(MMC), "--replications", "1", *SHORT_MMC, "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["changes.parquet", "keep", "run.json", "summary.csv"]
    assert json.loads((out / "run.json").read_text())["versions"]["driversplit"]


# ------------------------------------------------------------------------------ bounded work


def test_replications_above_the_schema_cap_are_refused() -> None:
    proc = run_cli("run", str(MMC), "--replications", "10001", timeout=60)
    assert proc.returncode == 2 and "'10001' is not a whole number from 1 to 10,000" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_workers_are_capped_at_the_tasks_and_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRIVERSPLIT_OVERSUBSCRIBE", raising=False)
    cores = available_cores()
    assert usable_workers(64, 3) == min(3, cores)
    assert usable_workers(64) == cores
    assert usable_workers(0, 5) == 1
    monkeypatch.setenv("DRIVERSPLIT_OVERSUBSCRIBE", "1")
    assert usable_workers(64, 3) == 3
    with worker_pool(64, 3) as pool:
        assert pool is not None and pool._max_workers == 3  # noqa: SLF001 - the pool's size
    with worker_pool(64, 1) as pool:
        assert pool is None  # one task runs here, no process started


def test_a_diverging_run_stops_with_offered_load_vs_capacity(tmp_path: Path) -> None:
    proc = run_cli("run", str(MMC), "--replications", "2", "--workers", "2", "--set", "areas.all.rate_per_day=500.0",
                   "--out", str(tmp_path / "out"), timeout=120)
    line = one_error_line(proc, "diverges at day", "run.max_open_changes = 10000", "area 'all'",
                          "reviews/day", "x its capacity", "areas.all.rate_per_day")
    assert "new changes/day x 1 votes" in line
    assert list(tmp_path.iterdir()) == []


def test_the_events_budget_stops_a_run_and_names_it() -> None:
    sc = load_scenario(MMC, ["run.max_events_per_day=5"])
    with pytest.raises(SimulationDiverged, match=r"engine events per simulated day \(run.max_events_per_day = 5\)"):
        run_replications(sc, 1, 1)


def test_budgets_change_nothing_in_a_run_that_stays_within_them() -> None:
    base = load_scenario(MMC, SHORT_MMC[1::2])
    roomy = load_scenario(MMC, [*SHORT_MMC[1::2], "run.max_open_changes=10000000", "run.max_events_per_day=1e9"])
    a, b = run_replications(base, 2, 3), run_replications(roomy, 2, 3)
    assert a.changes.equals(b.changes) and a.summary.equals(b.summary)


def _interrupt_state() -> tuple[bool, bool]:
    """(SIGINT ignored, SIGINT blocked) in the calling process."""
    import signal

    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN, signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_a_ctrl_c_while_workers_start_waits_until_they_ignore_it() -> None:
    """Workers are forked with SIGINT blocked (a Ctrl-C to the group then cannot interrupt one before its
    initializer ignores it) and run with it ignored and unblocked; the parent gets a Ctrl-C that came while
    it was blocked as soon as the block ends."""
    import os
    import signal

    from sim.runs.pool import sigint_blocked

    # As in a terminal: Ctrl-C raises (a test run in the background of a script inherits it ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with worker_pool(2, tasks=2) as pool:
            assert pool is not None
            assert pool.submit(_interrupt_state).result() == (True, False)
        assert _interrupt_state() == (False, False)
        with pytest.raises(KeyboardInterrupt):
            with sigint_blocked():
                assert _interrupt_state() == (False, True)
                os.kill(os.getpid(), signal.SIGINT)  # held back: nothing happens inside the block
                reached = True
        assert reached
    finally:
        signal.signal(signal.SIGINT, previous)

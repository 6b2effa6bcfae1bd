"""Progress without a terminal: log lines with counts, elapsed time and the time left."""

from __future__ import annotations

import io

from simtest import MMC, run_cli

from sim.progress import Progress, duration


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_duration_reads_like_a_person_would_write_it() -> None:
    assert [duration(s) for s in (0.4, 42, 185, 3725)] == ["0 s", "42 s", "3 min 5 s", "1 h 02 min"]


def test_a_line_every_interval_and_at_the_end_with_the_time_left() -> None:
    clock, out = FakeClock(), io.StringIO()
    with Progress(10, "figures", every=30.0, stream=out, clock=clock) as bar:
        for _ in range(10):
            clock.t += 10.0  # one unit per 10 s
            bar.update()
    lines = out.getvalue().splitlines()
    # Units finish at 10, 20, ... 100 s: a line once 30 s have passed since the last one, and at the end.
    assert lines == [
        "figures: 3/10 replications (30%), 30 s; about 1 min 10 s left",
        "figures: 6/10 replications (60%), 1 min 0 s; about 40 s left",
        "figures: 9/10 replications (90%), 1 min 30 s; about 10 s left",
        "figures: 10/10 replications (100%), 1 min 40 s",
    ]


def test_nothing_but_the_end_when_work_is_quick() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(4, "run", every=30.0, stream=out, clock=clock)
    bar.update(2)
    bar.update(2)
    assert out.getvalue() == "run: 4/4 replications (100%), 0 s\n"


def test_a_command_in_a_log_reports_progress_on_stderr(tmp_path) -> None:
    proc = run_cli("run", str(MMC), "--replications", "2", "--set", "run.warmup_days=5", "--set", "run.cycles=1",
                   "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "mmc: 2/2 replications (100%)" in proc.stderr

"""Progress of a long command on standard error: a bar on a terminal, log lines otherwise.

On a terminal, tqdm draws its bar. Without one (``make figures > log``, CI), a bar would be noise
and silence looks like a hang, so :class:`Progress` prints a plain line (done / total, per cent,
elapsed, estimated time left) at most every ``every`` seconds, and one when the work is done.
With ``python -m sim -q`` (the ``sim`` logger set above INFO) there is neither bar nor line.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Self

LOG_EVERY_SECONDS = 30.0


def duration(seconds: float) -> str:
    """``seconds`` for a log line: 42 s, 3 min 5 s, 1 h 02 min."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """Count finished units of work (``update(n)``) out of ``total``; usable as a context manager."""

    def __init__(self, total: int, desc: str, unit: str = "replications", *, every: float = LOG_EVERY_SECONDS,
                 stream: IO[str] | None = None, clock: Callable[[], float] | None = None) -> None:
        self.total, self.desc, self.unit, self.every = total, desc, unit, every
        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock or time.perf_counter
        self.start = self._clock()
        self.last_line = self.start
        self.done = 0
        self.bar = None
        # -q sets the logger's own level to WARNING; an unset level (library use) keeps progress on.
        self.quiet = logging.getLogger("sim").level > logging.INFO
        if self.stream.isatty() and not self.quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="rep", file=self.stream)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(n)
            return
        now = self._clock()
        if self.done >= self.total or now - self.last_line >= self.every:
            self.last_line = now
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def elapsed(self) -> float:
        """Seconds since the start."""
        return self._clock() - self.start

    def line(self, now: float) -> str:
        """``desc: done/total unit (pct), elapsed; about T left`` (no estimate before the first unit)."""
        elapsed = now - self.start
        share = self.done / self.total if self.total else 1.0
        text = f"{self.desc}: {self.done}/{self.total} {self.unit} ({share:.0%}), {duration(elapsed)}"
        if 0 < self.done < self.total:
            text += f"; about {duration(elapsed * (self.total - self.done) / self.done)} left"
        return text

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

"""One named random stream per random source, derived from ``numpy.random.SeedSequence``.

A stream is identified by (root seed, replication, name) only, so replication r of every policy
sees the same arrivals, sizes, defects and patience draws (common random numbers), and changing
the gate's parameters never changes the arrivals drawn. Draws are buffered in blocks: one numpy
call fills thousands of variates, and the simulation takes them one at a time from a list.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_right
from typing import Final

import numpy as np
from scipy.special import pdtr, pdtrik

BLOCK: Final = 4096

# The random sources of the model. A new source gets a new name; existing streams are unaffected.
STREAM_NAMES: tuple[str, ...] = (
    "arrivals",  # inter-arrival times and which area/kind arrives
    "attributes",  # size, interface flag
    "defects",  # latent defects per change
    "patience",  # author patience per change
    "attractiveness",  # per-change attention weight
    "roster",  # which cores know which area
    "review",  # review effort and outcome
    "selection",  # which change a reviewer picks
    "author",  # revision delays and stalls
    "noncore",  # non-core reviews
    "check",  # check pipeline outcomes and durations
    "gate",  # gate outcomes and durations
    "background",  # other projects' changes in the shared gate queue
    "policy",  # random choices made by a governance policy
)


def stream_seed(seed: int, replication: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` in ``replication`` of root ``seed``.

    The name enters through a CRC32 spawn key, so streams stay fixed when others are added.
    """
    return np.random.SeedSequence(entropy=seed, spawn_key=(replication, zlib.crc32(name.encode())))


def poisson_ppf(u: float, mean: float) -> int:
    """``int(scipy.stats.poisson.ppf(u, mean))`` for ``0 <= u < 1``: the same special functions as
    scipy's ``poisson._ppf``, without the generic distribution wrapper (which costs ~0.2 ms a call)."""
    if u <= 0.0:
        return -1  # scipy: the ppf of 0 is the support's lower end minus one
    vals = np.ceil(pdtrik(u, mean))
    vals1 = np.maximum(vals - 1, 0)
    return int(vals1 if pdtr(vals1, mean) >= u else vals)


class Stream:
    """A block-buffered source of variates from one named generator.

    Methods return Python floats; every method consumes a fixed number of underlying draws
    per call, so a stream's sequence depends only on the calls made on that stream.
    """

    __slots__ = ("name", "generator", "_u", "_ui", "_e", "_ei", "_z", "_zi", "_g")

    def __init__(self, name: str, seed_sequence: np.random.SeedSequence) -> None:
        self.name = name
        self.generator = np.random.Generator(np.random.PCG64(seed_sequence))
        # Each block is read forward from its index (cheaper, compiled, than popping from a reversed list).
        self._u: list[float] = []
        self._ui = 0
        self._e: list[float] = []
        self._ei = 0
        self._z: list[float] = []
        self._zi = 0
        self._g: dict[float, list[float]] = {}

    def uniform(self) -> float:
        """U(0, 1)."""
        i = self._ui
        if i == len(self._u):
            self._u = self.generator.random(BLOCK).tolist()
            i = 0
        self._ui = i + 1
        return self._u[i]

    def exponential(self, mean: float) -> float:
        """Exponential with the given mean."""
        i = self._ei
        if i == len(self._e):
            self._e = self.generator.standard_exponential(BLOCK).tolist()
            i = 0
        self._ei = i + 1
        return self._e[i] * mean

    def normal(self) -> float:
        """Standard normal."""
        i = self._zi
        if i == len(self._z):
            self._z = self.generator.standard_normal(BLOCK).tolist()
            i = 0
        self._zi = i + 1
        return self._z[i]

    def lognormal(self, median: float, sigma: float) -> float:
        """Lognormal with the given median and log-sd."""
        return median * math.exp(sigma * self.normal())

    def gamma_unit_mean(self, cv: float) -> float:
        """Gamma variate with mean 1 and coefficient of variation ``cv`` (1: exponential, 0: 1.0)."""
        if cv == 1.0:
            return self.exponential(1.0)
        if cv == 0.0:
            return 1.0
        block = self._g.get(cv)
        if not block:
            shape = 1.0 / (cv * cv)
            block = self._g[cv] = (self.generator.standard_gamma(shape, BLOCK) / shape).tolist()
            block.reverse()
        return block.pop()

    def script_gamma(self, cv: float, values: list[float]) -> None:
        """The next ``gamma_unit_mean(cv)`` draws are ``values``, in order, then the generator's
        again: a scripted stream for tests that compare exact event logs."""
        self._g[cv] = values[::-1]

    def poisson(self, mean: float) -> int:
        """Poisson count with the given mean, by inversion of one buffered uniform (one draw per call)."""
        if mean <= 0.0:
            self.uniform()
            return 0
        u = self.uniform()
        if mean > 30.0:  # the recurrence from exp(-mean) loses precision (and underflows past ~745)
            return poisson_ppf(u, mean)
        k, p = 0, math.exp(-mean)
        cumulative = p
        while u > cumulative and p > 0.0:
            k += 1
            p *= mean / k
            cumulative += p
        return k

    def choice_index(self, cumulative: list[float]) -> int:
        """Index drawn with probabilities proportional to the increments of ``cumulative``."""
        i = bisect_right(cumulative, self.uniform() * cumulative[-1])
        last = len(cumulative) - 1
        return i if i < last else last  # noqa: FURB136  (min() is a call; this runs on every weighted draw)


class Streams:
    """All named streams of one replication."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._streams: dict[str, Stream] = {}

    def __getitem__(self, name: str) -> Stream:
        if name not in STREAM_NAMES:
            raise KeyError(f"unknown random stream {name!r}; declare it in sim.engine.rng.STREAM_NAMES")
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = Stream(name, stream_seed(self.seed, self.replication, name))
        return stream

"""Named random streams: seeds per (root seed, replication, name), block buffering, and the
distributions the model draws from."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from scipy import stats
from simtest import Z

from sim.engine import rng
from sim.engine.rng import BLOCK, STREAM_NAMES, Stream, Streams, stream_seed


def first(name: str, seed: int = 1, replication: int = 0, n: int = 5) -> list[float]:
    s = Stream(name, stream_seed(seed, replication, name))
    return [s.uniform() for _ in range(n)]


def assert_mean(values: np.ndarray, expected: float) -> None:
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - expected) <= Z * se, (values.mean(), expected, se)


# ------------------------------------------------------------------------------ seeds


def test_stream_seed_differs_per_name_replication_and_root() -> None:
    base = first("arrivals")
    assert first("arrivals") == base  # deterministic
    assert first("gate") != base
    assert first("arrivals", replication=1) != base
    assert first("arrivals", seed=2) != base
    sequences = {tuple(first(name)) for name in STREAM_NAMES}
    assert len(sequences) == len(STREAM_NAMES)
    assert len({zlib.crc32(n.encode()) for n in STREAM_NAMES}) == len(STREAM_NAMES)


def test_stream_seed_is_a_function_of_seed_replication_and_name_only() -> None:
    ss = stream_seed(20140904, 3, "review")
    assert ss.entropy == 20140904
    assert ss.spawn_key == (3, zlib.crc32(b"review"))
    assert stream_seed(20140904, 3, "review").generate_state(4).tolist() == ss.generate_state(4).tolist()


def test_adding_a_stream_does_not_change_existing_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    before = Streams(5, 2)
    expected = {name: [before[name].uniform() for _ in range(3)] for name in ("arrivals", "gate", "policy")}
    monkeypatch.setattr(rng, "STREAM_NAMES", ("a_new_source", *STREAM_NAMES, "another_one"))
    after = Streams(5, 2)
    after["a_new_source"].uniform()  # using the new streams first changes nothing either
    after["another_one"].normal()
    for name, values in expected.items():
        assert [after[name].uniform() for _ in range(3)] == values


def test_streams_are_independent_of_creation_order_and_of_each_other() -> None:
    a, b = Streams(1, 0), Streams(1, 0)
    for _ in range(10_000):  # heavy use of another stream
        a["gate"].uniform()
    b_review = [b["review"].exponential(1.0) for _ in range(10)]
    assert [a["review"].exponential(1.0) for _ in range(10)] == b_review


def test_unknown_stream_name_is_rejected() -> None:
    with pytest.raises(KeyError, match="unknown random stream"):
        Streams(1, 0)["no_such_stream"]


# ------------------------------------------------------------------------------ buffering


def test_uniform_is_the_generator_sequence_across_block_boundaries() -> None:
    ss = stream_seed(9, 0, "arrivals")
    s = Stream("arrivals", ss)
    got = [s.uniform() for _ in range(2 * BLOCK + 7)]
    g = np.random.Generator(np.random.PCG64(stream_seed(9, 0, "arrivals")))
    want = np.concatenate([g.random(BLOCK), g.random(BLOCK), g.random(BLOCK)])[: len(got)]
    assert got == want.tolist()
    assert all(isinstance(x, float) for x in got[:3])


def test_exponential_and_normal_come_from_their_own_blocks() -> None:
    s = Stream("x", stream_seed(9, 0, "x"))
    e = [s.exponential(2.0) for _ in range(5)]
    g = np.random.Generator(np.random.PCG64(stream_seed(9, 0, "x")))
    assert e == pytest.approx((g.standard_exponential(BLOCK)[:5] * 2.0).tolist(), rel=1e-15)
    z = [s.normal() for _ in range(5)]
    assert z == g.standard_normal(BLOCK)[:5].tolist()


def test_each_call_consumes_a_fixed_number_of_draws() -> None:
    """poisson() takes one uniform whatever its mean, so later uniforms do not depend on it."""
    a, b = Stream("d", stream_seed(1, 0, "d")), Stream("d", stream_seed(1, 0, "d"))
    for mean in (0.0, 0.3, 5.0, 25.0):
        a.poisson(mean)
        b.uniform()
    assert a.uniform() == b.uniform()
    c, d = Stream("c", stream_seed(1, 0, "c")), Stream("c", stream_seed(1, 0, "c"))
    c.choice_index([1.0, 5.0, 6.0])
    d.uniform()
    assert c.uniform() == d.uniform()


# ------------------------------------------------------------------------------ distributions

N = 40_000


def test_exponential_mean() -> None:
    s = Stream("e", stream_seed(3, 0, "e"))
    assert_mean(np.array([s.exponential(2.5) for _ in range(N)]), 2.5)


def test_lognormal_median_and_sigma() -> None:
    s = Stream("l", stream_seed(3, 0, "l"))
    x = np.log([s.lognormal(1.5, 0.8) for _ in range(N)])
    assert_mean(x, math.log(1.5))
    assert x.std(ddof=1) == pytest.approx(0.8, rel=0.02)


@pytest.mark.parametrize("cv", [0.2, 0.5, 1.0, 2.0])
def test_gamma_unit_mean_has_mean_one_and_the_cv(cv: float) -> None:
    s = Stream("g", stream_seed(3, 0, "g"))
    x = np.array([s.gamma_unit_mean(cv) for _ in range(N)])
    assert_mean(x, 1.0)
    assert x.std(ddof=1) == pytest.approx(cv, rel=0.05)
    assert (x > 0).all()


def test_gamma_unit_mean_with_cv_zero_is_one_and_draws_nothing() -> None:
    s, t = Stream("g", stream_seed(3, 0, "g")), Stream("g", stream_seed(3, 0, "g"))
    assert [s.gamma_unit_mean(0.0) for _ in range(10)] == [1.0] * 10
    assert s.uniform() == t.uniform() and s.exponential(1) == t.exponential(1)


@pytest.mark.parametrize("mean", [0.0, 0.4, 3.0, 25.0])
def test_poisson_distribution(mean: float) -> None:
    s = Stream("p", stream_seed(3, 0, "p"))
    x = np.array([s.poisson(mean) for _ in range(N)])
    if mean == 0.0:
        assert (x == 0).all()
        return
    assert_mean(x, mean)
    assert x.var(ddof=1) == pytest.approx(mean, rel=0.05)
    # the probability of zero is exp(-mean)
    p0 = math.exp(-mean)
    assert abs((x == 0).mean() - p0) <= Z * math.sqrt(p0 * (1 - p0) / N) + 1e-12


def test_poisson_ppf_is_scipys() -> None:
    """The shortcut for means above 30 returns exactly what ``scipy.stats.poisson.ppf`` does."""
    g = np.random.default_rng(5)
    us = [*g.random(3000).tolist(), 0.0, 1e-300, 1e-12, 0.5, float(np.nextafter(1.0, 0.0))]
    means = [*(30.0 + g.exponential(100.0, 3000)).tolist(), 30.000001, 745.0, 1e4, 1e6, 31.0]
    for u, mean in zip(us, means):
        assert rng.poisson_ppf(u, mean) == int(stats.poisson.ppf(u, mean)), (u, mean)


@pytest.mark.parametrize("mean", [29.0, 31.0, 100.0, 800.0, 5000.0])
def test_poisson_large_mean(mean: float) -> None:
    """Regression: inversion from exp(-mean) underflowed past mean ~745 and returned 0 every time
    (reachable: defects_mean <= 50 times (size / median) ** defects_size_elasticity <= 2)."""
    s = Stream("p", stream_seed(3, 0, "p"))
    x = np.array([s.poisson(mean) for _ in range(4000)], dtype=float)
    assert_mean(x, mean)
    assert x.var(ddof=1) == pytest.approx(mean, rel=0.1)


def test_poisson_draws_stay_aligned_whatever_the_other_means() -> None:
    """Changes of a small-mean area get the same defect counts whether another area's mean is 40
    or 60: each poisson() call consumes exactly one uniform."""
    results = []
    for big in (40.0, 60.0):
        s = Stream("defects", stream_seed(3, 0, "defects"))
        small = []
        for _ in range(3 * BLOCK):
            s.poisson(big)
            small.append(s.poisson(2.0))
        results.append(small)
    assert results[0] == results[1]


def test_choice_index_frequencies_and_zero_weights() -> None:
    s = Stream("c", stream_seed(3, 0, "c"))
    weights = [0.0, 1.0, 0.0, 3.0, 6.0, 0.0]
    cumulative = np.cumsum(weights).tolist()
    draws = np.array([s.choice_index(cumulative) for _ in range(N)])
    counts = np.bincount(draws, minlength=len(weights))
    assert counts[[0, 2, 5]].sum() == 0  # zero weight: never chosen
    expected = N * np.array([1.0, 3.0, 6.0]) / 10
    assert stats.chisquare(counts[[1, 3, 4]], expected).pvalue > 1e-3

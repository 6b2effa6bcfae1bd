"""The ECDF the figures draw (sim.outputs.prepare.ecdf_on_grid, by scipy.stats.ecdf) equals the count
of values <= x over n exactly, ties included: the committed figures keep their bytes."""

from __future__ import annotations

import numpy as np

from sim.outputs.prepare import ecdf_on_grid, log_grid


def test_ecdf_on_grid_is_the_exact_share_of_values_at_or_below_each_point() -> None:
    rng = np.random.default_rng(7)
    for size, decimals in [(1, 2), (7, 0), (500, 1), (4000, 3)]:
        values = np.round(rng.lognormal(2.0, 1.2, size), decimals)  # rounding makes ties
        grid = np.concatenate([log_grid([values]), values[:5]])  # grid points on values too
        expected = np.array([np.count_nonzero(values <= x) for x in grid]) / size
        assert np.array_equal(ecdf_on_grid(values, grid), expected)

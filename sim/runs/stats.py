"""Statistics over replications: Student-t intervals of a mean, pointwise bands, Welch's test.

Every interval the package reports comes from here, so that a summary's CI, a figure's band and
the baseline check's standard error are the same computation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def t_quantile(confidence: float, df: float | np.ndarray) -> float | np.ndarray:
    """Student's two-sided ``confidence`` quantile with ``df`` degrees of freedom."""
    # Imported here, not at the top: importing scipy.stats costs ~1 s, and workers never need it.
    from scipy import stats

    return stats.t.ppf(0.5 + confidence / 2, df)


def t_half_width(sd: float | np.ndarray, n: int | np.ndarray, confidence: float = 0.95) -> float | np.ndarray:
    """Half-width of the Student-t ``confidence`` interval of a mean over ``n`` values whose sample
    sd is ``sd`` (same unit as ``sd``); a single value takes the quantile of one degree of freedom."""
    return t_quantile(confidence, np.maximum(n - 1, 1)) * sd / np.sqrt(n)


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and Student-t confidence interval over replications, ignoring undefined values.

    With fewer than two defined values, or identical ones, the interval collapses to the mean.
    Returns (mean, low, high, n defined).
    """
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    mean = float(x.mean())
    if n < 2 or np.all(x == x[0]):
        return mean, mean, mean, n
    half = float(t_half_width(x.std(ddof=1), n, confidence))
    return mean, mean - half, mean + half, n


def t_band(matrix: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over rows and the pointwise Student-t interval of the mean (rows = replications)."""
    n = matrix.shape[0]
    mean = matrix.mean(axis=0)
    if n < 2:
        return mean, mean, mean
    half = t_half_width(matrix.std(axis=0, ddof=1), n, confidence)
    return mean, mean - half, mean + half


def se_from_ci(low: np.ndarray, high: np.ndarray, n: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """Standard errors of means read back from their Student-t intervals (:func:`mean_ci`); NaN when n < 2."""
    n = np.asarray(n, dtype=float)
    half = (np.asarray(high, dtype=float) - np.asarray(low, dtype=float)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        q = t_quantile(confidence, np.where(n >= 2, n - 1, np.nan))
        return np.where(n >= 2, half / q, np.nan)


def welch(se1: float, n1: int, se2: float, n2: int) -> tuple[float, float]:
    """SE of a difference of two independent means and its Welch-Satterthwaite degrees of freedom.

    Side 1 is the reference (n1 >= 2); when side 2 has a single value its variance is taken as
    side 1's (SE_diff = sqrt(2) SE_1 when n2 = n1). NaN when side 1 has no SE.
    """
    if n1 < 2 or n2 < 1 or not np.isfinite(se1):
        return np.nan, np.nan
    if n2 < 2 or not np.isfinite(se2):
        v1 = se1 ** 2
        return math.sqrt(v1 + v1 * n1 / n2), float(n1 - 1)
    v1, v2 = se1 ** 2, se2 ** 2
    se = math.sqrt(v1 + v2)
    if se == 0:
        return 0.0, float(n1 + n2 - 2)
    denom = (v1 ** 2 / (n1 - 1) if v1 else 0.0) + (v2 ** 2 / (n2 - 1) if v2 else 0.0)
    return se, float((v1 + v2) ** 2 / denom)


def welch_test(mean1: float, se1: float, n1: int, mean2: float, se2: float, n2: int) -> tuple[float, float]:
    """Welch's t statistic of ``mean2 - mean1`` and its two-sided p-value, from two means with their
    standard errors (the metric's unit) and replication counts.

    ``scipy.stats.ttest_ind_from_stats`` (unequal variances; sd = SE x sqrt(n)). When side 2 has a
    single value (no SE) its variance is taken as side 1's, as in :func:`welch`, with n1 - 1 degrees
    of freedom: a case the library does not cover. NaN when :func:`welch` has no SE.
    """
    from scipy import stats

    if n1 >= 2 and n2 >= 2 and np.isfinite(se1) and np.isfinite(se2):
        result = stats.ttest_ind_from_stats(mean2, se2 * math.sqrt(n2), n2, mean1, se1 * math.sqrt(n1), n1,
                                            equal_var=False)
        return float(result.statistic), float(result.pvalue)
    se, df = welch(se1, n1, se2, n2)
    if not se > 0:
        return np.nan, np.nan
    t = (mean2 - mean1) / se
    return t, float(2 * stats.t.sf(abs(t), df))

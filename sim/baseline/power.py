"""The check's minimum detectable change: the smallest shift in a metric's mean it flags with 80 % power.

The check (:mod:`sim.baseline.check`) flags a metric when |new mean - stored mean| > t_c x SE_diff,
t_c Student's two-sided quantile at the Bonferroni level alpha / m. Before the rerun its spread is
known only from the baseline: the recorded between-replication SE of the mean, SE = sd / sqrt(n),
read back from the stored 95 % interval. Assuming the rerun has the same n replications and the
same spread (the null hypothesis, and a shift that moves the mean only),

    SE_diff = sqrt(2) x SE,    df = 2 (n - 1)    (Welch's df with equal variances and n)

and a true shift delta makes the test statistic T = diff / SE_diff non-central Student t with df
degrees of freedom and non-centrality lambda = delta / SE_diff. The test's power is

    power(delta) = P(T > t_c) + P(T < -t_c),    t_c = t_{1 - (alpha / m) / 2, df}

and the minimum detectable change is the delta where power(delta) = 80 %:

    MDC = lambda* x sqrt(2) x SE,    lambda* solving power = 0.8 (close to t_c + t_{0.8, df})

in the metric's unit, and as a percentage of the stored mean. A metric constant over replications
(SE 0) has MDC 0: any difference beyond rounding is flagged. Undefined (NaN) when n < 2.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import optimize, stats

POWER = 0.8  # of the minimum detectable change


@lru_cache(maxsize=256)
def noncentrality(level: float, df: float, power: float = POWER) -> float:
    """lambda*: the shift in units of SE_diff that a two-sided t test at ``level`` (``df`` degrees of
    freedom) flags with probability ``power`` (scipy's non-central t, solved with Brent's method)."""
    t_c = float(stats.t.isf(level / 2, df))

    def shortfall(lam: float) -> float:
        # The lower tail P(T < -t_c) = P(T' > t_c) for non-centrality -lam; negligible for lam > 0
        # and NaN in scipy for some (df, lam), hence nan_to_num.
        lower = float(np.nan_to_num(stats.nct.sf(t_c, df, -lam)))
        return float(stats.nct.sf(t_c, df, lam)) + lower - power

    upper = t_c + float(stats.t.isf(1 - power, df)) + 1.0
    while shortfall(upper) < 0:  # heavy tails at few degrees of freedom: widen the bracket
        upper *= 2
    return float(optimize.brentq(shortfall, 0.0, upper, xtol=1e-12))


def minimum_detectable_change(se: float, n: int, level: float, power: float = POWER) -> float:
    """The smallest shift in mean (the metric's unit) that the check at two-sided ``level`` flags
    with probability ``power``, from the recorded SE of the mean over ``n`` replications (see the
    module docstring). 0 for a constant metric, NaN when ``n`` < 2 or the SE is undefined."""
    if n < 2 or not np.isfinite(se):
        return math.nan
    if se == 0:
        return 0.0
    return noncentrality(float(level), float(2 * (n - 1)), power) * math.sqrt(2.0) * float(se)


def percent_of(change: float, mean: float) -> float:
    """``change`` as a percentage of ``|mean|`` (NaN when the mean is 0 or undefined)."""
    if not (np.isfinite(change) and np.isfinite(mean)) or mean == 0:
        return math.nan
    return 100.0 * change / abs(mean)

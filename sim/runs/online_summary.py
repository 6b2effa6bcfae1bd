"""Summary rows aggregated online: :class:`OnlineSummary` keeps, per (area, metric), one float array.

It gives the same rows, bit for bit, as :func:`sim.runs.metrics.summarize` over the concatenated
per-replication frames (same groups in the same order, same values in the same order, the same
:func:`sim.runs.stats.mean_ci`), while the replications' frames are dropped as they arrive: 8 bytes
a value, ~4 KB a replication of the standard metrics.
"""

from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from sim.runs.stats import mean_ci

SUMMARY_COLUMNS = ["scenario", "policy", "area", "metric", "mean", "ci_low", "ci_high", "n"]


class OnlineSummary:
    """Per (area, metric), the values of every replication added so far, in the order added."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], array[float]] = {}

    def add(self, per_replication: pd.DataFrame) -> None:
        """Add one replication's metrics (columns area, metric, value)."""
        areas, names = per_replication["area"].tolist(), per_replication["metric"].tolist()
        for area, metric, value in zip(areas, names, per_replication["value"].tolist(), strict=True):
            self._values.setdefault((area, metric), array("d")).append(value)

    def summary(self, scenario: str, policy: str) -> pd.DataFrame:
        """``summary.csv`` rows, as :func:`sim.runs.metrics.summarize` gives them."""
        rows = [(scenario, policy, area, metric, *mean_ci(np.frombuffer(values, dtype=float)))
                for (area, metric), values in self._values.items()]
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)

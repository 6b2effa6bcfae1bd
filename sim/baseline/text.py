"""Check rows (``sim.baseline.check.CHECK_COLUMNS``) as a fixed-width text table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

HEADER = ("scenario", "area", "metric", "stored [95% CI]", "now [95% CI]", "diff", "change", "t", "limit", "status")
RIGHT_ALIGNED = frozenset({5, 6, 7, 8})  # the numeric columns diff, change, t, limit


def number(x: float | None) -> str:
    """A value in four significant digits; ``-`` for undefined, ``inf``/``-inf`` for infinite."""
    if x is None or not np.isfinite(x):
        return "-" if x is None or np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.4g}"


def format_table(rows: pd.DataFrame) -> str:
    """Fixed-width text table of check rows: stored and new mean with 95 % CI, difference
    (absolute and relative to the stored mean, in %), t, limit and status."""
    body = []
    for _, r in rows.iterrows():
        stored = f"{number(r['old_mean'])} [{number(r['old_ci_low'])}, {number(r['old_ci_high'])}]"
        now = (f"{number(r['new_mean'])} [{number(r['new_ci_low'])}, {number(r['new_ci_high'])}]"
               if r["new_n"] > 0 else "undefined" if r["status"] == "undefined" else "-")
        diff = "-" if not np.isfinite(r["diff"]) else f"{r['diff']:+.4g}"
        rel = (f"{100 * r['diff'] / abs(r['old_mean']):+.0f}%"
               if np.isfinite(r["diff"]) and np.isfinite(r["old_mean"]) and r["old_mean"] != 0 else "-")
        body.append((r["scenario"], r["area"], r["metric"], stored, now, diff, rel, number(r["t"]),
                     number(r["limit"]), r["status"]))
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *body, strict=True)]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(str(x).rjust(w) if j in RIGHT_ALIGNED else str(x).ljust(w)
                         for j, (x, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return "\n".join([fmt(HEADER), *(fmt(r) for r in body)])

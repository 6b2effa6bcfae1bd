"""Check rows (``sim.baseline.check.CHECK_COLUMNS``) as fixed-width text tables: the rows that moved
or went missing, and every checked metric's minimum detectable change."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

HEADER = ("scenario", "area", "metric", "stored [95% CI]", "now [95% CI]", "diff", "change", "t", "limit",
          "detectable (80%)", "status")
RIGHT_ALIGNED = frozenset({5, 6, 7, 8, 9})  # the numeric columns diff, change, t, limit, minimum detectable change


def number(x: float | None) -> str:
    """A value in four significant digits; ``-`` for undefined, ``inf``/``-inf`` for infinite."""
    if x is None or not np.isfinite(x):
        return "-" if x is None or np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.4g}"


def format_table(rows: pd.DataFrame) -> str:
    """Fixed-width text table of check rows: stored and new mean with 95 % CI, difference
    (absolute and relative to the stored mean, in %), t, limit, minimum detectable change and status."""
    body = []
    for _, r in rows.iterrows():
        stored = f"{number(r['old_mean'])} [{number(r['old_ci_low'])}, {number(r['old_ci_high'])}]"
        now = (f"{number(r['new_mean'])} [{number(r['new_ci_low'])}, {number(r['new_ci_high'])}]"
               if r["new_n"] > 0 else "undefined" if r["status"] == "undefined" else "-")
        diff = "-" if not np.isfinite(r["diff"]) else f"{r['diff']:+.4g}"
        rel = (f"{100 * r['diff'] / abs(r['old_mean']):+.0f}%"
               if np.isfinite(r["diff"]) and np.isfinite(r["old_mean"]) and r["old_mean"] != 0 else "-")
        body.append((r["scenario"], r["area"], r["metric"], stored, now, diff, rel, number(r["t"]),
                     number(r["limit"]), mdc_cell(r["mdc"], r["mdc_percent"]), r["status"]))
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *body, strict=True)]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(str(x).rjust(w) if j in RIGHT_ALIGNED else str(x).ljust(w)
                         for j, (x, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return "\n".join([fmt(HEADER), *(fmt(r) for r in body)])


def mdc_cell(mdc: float, percent: float) -> str:
    """A minimum detectable change and its percentage of the stored mean: ``0.41 (3.3%)``;
    ``0 (constant)`` for a metric constant over replications, ``-`` when undefined."""
    if not np.isfinite(mdc):
        return "-"
    if mdc == 0:
        return "0 (constant)"
    if not np.isfinite(percent):
        return f"{mdc:.3g}"
    return f"{mdc:.3g} ({percent:.0f}%)" if abs(percent) >= 10 else f"{mdc:.3g} ({percent:.2g}%)"


def format_mdc_table(rows: pd.DataFrame) -> str:
    """Each checked metric's minimum detectable change as a text table: one line per (area, metric),
    one column per scenario (in the rows' order), cells from :func:`mdc_cell`."""
    if rows.empty:
        return "(no checked metric)"
    scenarios = list(dict.fromkeys(rows["scenario"]))
    keys = list(dict.fromkeys(zip(rows["area"], rows["metric"], strict=True)))
    cells = {(r["scenario"], r["area"], r["metric"]): mdc_cell(r["mdc"], r["mdc_percent"]) for _, r in rows.iterrows()}
    header = ("area", "metric", *scenarios)
    body = [(area, metric, *(cells.get((s, area, metric), "") for s in scenarios)) for area, metric in keys]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(str(x).ljust(w) if j < 2 else str(x).rjust(w)
                         for j, (x, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return "\n".join([fmt(header), *(fmt(r) for r in body)])

"""The parameter ensemble's robustness table in words: which headline effects keep their sign over
the draws (:mod:`sim.runs.ensemble`), for figures/README.md and ``python -m sim ensemble``; and the
comparison table annotated with it, so that the findings' verbs follow the ensemble."""

from __future__ import annotations

import pandas as pd

from sim.runs.ensemble import AGREEMENT
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS

# The headline effects: (area, metric, what it means to a reader, unit).
HEADLINES: tuple[tuple[str, str, str, str], ...] = (
    (DRIVERS, "time_to_merge_median_days", "driver changes' median time to merge", "days"),
    (NON_DRIVERS, "time_to_merge_median_days", "other changes' median time to merge", "days"),
    (ALL, "merged_per_week", "changes merged per week", "changes/week"),
    (ALL, "open_at_end", "open changes at the end (backlog)", "changes"),
    (ALL, "abandoned_fraction", "share of changes abandoned", "fraction"),
    (ALL, "reviews_per_core_per_week", "reviews per nova core per week (load)", "reviews/week"),
    (ALL, "interface_usable_median_days", "interface changes' median time to usable everywhere", "days"),
    (ALL, "interface_unusable_fraction", "share of interface changes never usable everywhere in the run", "fraction"),
    (ALL, "nova_gate_resets_per_week", "resets of nova's gate per week", "resets/week"),
)


def robustness_markdown(table: pd.DataFrame, draws: int, replications: int, seed: int) -> str:
    """The robustness table for a reader: one line per policy and headline effect."""
    meaning = {(a, m): (text, unit) for a, m, text, unit in HEADLINES}
    lines = [
        f"Each effect is a policy's paired difference from the monolith, over {draws} draws of the fitted "
        f"parameters and the policy assumptions ({replications} replications per draw, root seed {seed}). "
        f"\"falls\"/\"rises\": at least {AGREEMENT:.0%} of draws agree on the sign; otherwise the parameter the "
        "effect depends on most is named (Spearman rank correlation over draws, when significant at 5 % after a "
        "Bonferroni correction over the drawn parameters; none named: no single parameter explains it).",
        "",
        "| policy | effect | median | 90 % of draws | draws agreeing | verdict | capacity -10 % | capacity +10 % "
        "| depends most on |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table.to_dict("records"):
        text, unit = meaning.get((row["area"], row["metric"]), (f"{row['metric']} ({row['area']})", ""))
        agree = max(row["share_negative"], row["share_positive"])
        depends = (f"`{row['depends_most_on']}` (rho {row['spearman_rho']:+.2f})"
                   if row["verdict"] == "depends" and row["depends_most_on"] else "")
        lines.append(
            f"| {row['scenario']} | {text} ({unit}) | {row['median']:+.3g} | {row['p05']:+.3g} to {row['p95']:+.3g} | "
            f"{agree:.0%} | {row['verdict']} | {_num(row.get('at capacity -10%'))} | "
            f"{_num(row.get('at capacity +10%'))} | {depends} |"
        )
    return "\n".join(lines) + "\n"


def _num(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:+.3g}"



# Columns a comparison table gains from the ensemble (read by sim.outputs.findings.table_effects).
ENSEMBLE_COLUMNS = ("ensemble_share_negative", "ensemble_share_positive", "ensemble_depends_on")


def annotate(comparison_table: pd.DataFrame, robustness: pd.DataFrame) -> pd.DataFrame:
    """``comparison_table`` (COMPARISON_COLUMNS) with the ensemble's shares of draws below and above
    zero and the parameter a sign depends on most, per (scenario, area, metric); NaN/"" elsewhere."""
    extra = robustness.rename(columns={"share_negative": "ensemble_share_negative",
                                       "share_positive": "ensemble_share_positive",
                                       "depends_most_on": "ensemble_depends_on"})
    extra = extra[["scenario", "area", "metric", *ENSEMBLE_COLUMNS]]
    out = comparison_table.drop(columns=[c for c in ENSEMBLE_COLUMNS if c in comparison_table], errors="ignore")
    out = out.merge(extra, on=["scenario", "area", "metric"], how="left")
    out["ensemble_depends_on"] = out["ensemble_depends_on"].fillna("")
    return out


def headline_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a robustness table that are headline effects (:data:`HEADLINES`), in that order."""
    order = {(a, m): i for i, (a, m, _, _) in enumerate(HEADLINES)}
    keys = list(zip(table["area"], table["metric"]))
    rows = table[[k in order for k in keys]]
    return rows.assign(_order=[order[k] for k in zip(rows["area"], rows["metric"])]).sort_values(
        ["scenario", "_order"], kind="stable").drop(columns="_order")

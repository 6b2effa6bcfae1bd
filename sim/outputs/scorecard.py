"""The one-page policy scorecard: every policy x outcome, as direction, size and robustness.

Computed from a :class:`~sim.runs.compare.Comparison` that has already run (nothing simulates or
draws here). Each cell is a policy's paired difference from the reference scenario (the monolith)
under common random numbers, with the 95 % CI of that difference over replications. A cell is
"better" or "worse" only when that CI excludes zero (:func:`sim.outputs.findings.excludes_zero`,
the package's one test of "beyond noise"), "within noise" otherwise; what counts as better is
stated per outcome in :data:`OUTCOMES`. ``ensemble_share`` is the robustness column an ensemble of
parameter draws will fill (the share of draws agreeing in direction); it is ``None`` until then.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.outputs.findings import (
    Effect,
    paired_effects,
    sentence_name,
    staffing_clause,
    table_effects,
)
from sim.outputs.prepare import backlog_per_replication, backlog_series, interface_usable_days
from sim.runs.compare import Comparison
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS

Better = Literal["lower", "higher"]
Verdict = Literal["better", "worse", "within noise", "n/a"]
BACKLOG = "backlog_open_mean"  # not a summary metric: the time-average of figure 2's open-change series


@dataclass(frozen=True)
class Outcome:
    """One column of the scorecard: where its number comes from, its unit and which way is better."""

    key: str
    label: str  # column heading
    metric: str  # summary metric, or BACKLOG
    area: str
    unit: str  # unit of the value and of the difference
    better: Better
    why: str  # what the number is and why that direction is better, in plain words
    digits: int = 1
    scale: float = 1.0  # value shown = metric value x scale (fractions as percentages)
    short_unit: str = ""  # the unit in a crowded cell (default: ``unit``)

    @property
    def cell_unit(self) -> str:
        return self.short_unit or self.unit


OUTCOMES: tuple[Outcome, ...] = (
    Outcome("driver_ttm", "Driver changes: median time to merge", "time_to_merge_median_days", DRIVERS, "d",
            "lower", "days from first upload to merge of virt-driver changes (median per replication); "
                     "shorter is better"),
    Outcome("nondriver_ttm", "Non-driver changes: median time to merge", "time_to_merge_median_days", NON_DRIVERS,
            "d", "lower", "the same for every other nova change; shorter is better"),
    Outcome("backlog", "Open review backlog", BACKLOG, ALL, "open changes", "lower",
            "changes uploaded and neither merged nor abandoned, averaged over the measured cycle (figure 2); "
            "fewer is better", digits=0, short_unit="open"),
    Outcome("core_load", "Nova core reviewer load", "reviews_per_core_per_week", ALL, "reviews/core/week", "lower",
            "reviews each nova core does per week; lower is better (less strain on the scarcest reviewers), "
            "read with the time to merge: a policy may lower it by moving work elsewhere", short_unit="/core/wk"),
    Outcome("interface_delay", "Interface change usable in every driver", "interface_usable_median_days",
            NON_DRIVERS, "d", "lower",
            "median days from upload of a nova change touching the virt-driver interface until every driver "
            "can use it (figure 6); shorter is better"),
    Outcome("interface_unusable", "Interface changes never usable in every driver", "interface_unusable_fraction",
            NON_DRIVERS, "%", "lower",
            "share of the nova interface changes uploaded in the measured cycle that were still not usable in every "
            "driver when it ended (the delay above counts only those that became usable); lower is better",
            scale=100.0),
    Outcome("gate_pain", "Gate pain: false rejections per merge", "gate_false_rejections_per_merged", ALL,
            "per merged change", "lower",
            "changes ejected from the gate by a flaky job failure (not a defect), per merged change, all changes; "
            "fewer is better", digits=2, short_unit="/merge"),
    Outcome("abandonment", "Abandoned share", "abandoned_fraction", ALL, "%", "lower",
            "share of closed changes that were abandoned rather than merged; lower is better", scale=100.0),
)


@dataclass(frozen=True)
class Cell:
    """One policy on one outcome: its value, the reference's, and the paired difference (95 % CI)."""

    policy: str
    outcome: str  # Outcome.key
    value: float  # mean over replications, in the outcome's unit
    reference_value: float
    diff: float  # paired mean difference policy - reference, outcome's unit
    low: float
    high: float
    n: int  # replications with a defined difference
    relative: float  # diff / reference_value (NaN when undefined)
    verdict: Verdict
    excludes_zero: bool
    ensemble_share: float | None = None  # share of ensemble draws with the sign of ``diff`` (None: no ensemble)


@dataclass(frozen=True)
class Scorecard:
    """Every non-reference policy x :data:`OUTCOMES`, plus the context the reading needs."""

    reference: str
    policies: tuple[str, ...]
    replications: int
    staffing: str  # "At equal review capacity (... reviews/day)" or which policies differ
    cells: tuple[Cell, ...]
    caveats: dict[str, list[str]] = field(default_factory=dict)  # per policy, computed from the runs

    def cell(self, policy: str, outcome: str) -> Cell:
        for c in self.cells:
            if c.policy == policy and c.outcome == outcome:
                return c
        raise KeyError((policy, outcome))

    def to_frame(self) -> pd.DataFrame:
        """One row per cell (policy, outcome, value, reference_value, diff, low, high, ...)."""
        return pd.DataFrame([asdict(c) for c in self.cells])

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the outcomes' definitions, the cells (NaN as null) and the caveats."""
        return {
            "reference": self.reference,
            "policies": list(self.policies),
            "replications": self.replications,
            "staffing": self.staffing,
            "robustness": ("paired 95% CI over replications excludes 0; ensemble_share: share of the parameter "
                           "ensemble's draws whose effect has the same sign (null: no ensemble run)"),
            "outcomes": [asdict(o) for o in OUTCOMES],
            "cells": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                       for k, v in asdict(c).items()} for c in self.cells],
            "caveats": self.caveats,
        }


OUTCOME_BY_KEY: dict[str, Outcome] = {o.key: o for o in OUTCOMES}
# What the parameter ensemble measures for each outcome (sim.runs.ensemble): the same summary
# metric, except the backlog, whose time-average is not a summary metric: its value at the end.
ENSEMBLE_METRICS: dict[str, tuple[str, str]] = {
    o.key: ((ALL, "open_at_end") if o.metric == BACKLOG else (o.area, o.metric)) for o in OUTCOMES
}


# ------------------------------------------------------------------------------ computing


def verdict(effect: Effect, better: Better) -> Verdict:
    """``better``/``worse`` when the paired CI excludes 0, ``within noise`` when not, ``n/a`` if undefined."""
    if not np.isfinite(effect.diff) or effect.n < 2:
        return "n/a"
    if not effect.significant:
        return "within noise"
    return "better" if (effect.diff < 0) == (better == "lower") else "worse"


def _cell(effect: Effect, outcome: Outcome) -> Cell:
    s = outcome.scale
    return Cell(effect.scenario, outcome.key, effect.value * s, effect.ref_value * s, effect.diff * s,
                effect.low * s, effect.high * s, effect.n, effect.relative, verdict(effect, outcome.better),
                effect.significant)


def outcome_effects(comparison: Comparison, outcome: Outcome) -> list[Effect]:
    """Every non-reference scenario's paired effect on ``outcome`` (in the metric's own unit)."""
    if outcome.metric == BACKLOG:
        per_replication = backlog_per_replication(backlog_series(comparison), comparison.names)
        return paired_effects(per_replication, comparison.names[0])
    return table_effects(comparison.comparison, outcome.metric, outcome.area)


def interface_counts(comparison: Comparison) -> dict[str, tuple[int, int]]:
    """Per scenario: (nova interface changes usable inside the window, those arriving inside it),
    summed over replications. The delay outcome rests on the first; the gap never became usable."""
    counts = {}
    for run in comparison.runs:
        a, b = run.window
        c = run.changes
        original = c[c["touches_interface"].astype(bool) & (c["parent"] < 0)
                     & ~c["area"].isin(run.scenario.driver_areas)]
        arrived = int(((original["arrived"] >= a) & (original["arrived"] < b)).sum())
        counts[run.scenario.scenario.name] = (len(interface_usable_days(run, NON_DRIVERS)), arrived)
    return counts


def policy_caveats(comparison: Comparison) -> dict[str, list[str]]:
    """What a reader of each policy's row should keep in mind, computed from the runs."""
    reps = comparison.replications
    counts = interface_counts(comparison)
    ref = comparison.names[0]
    caveats: dict[str, list[str]] = {}
    for name in comparison.names[1:]:
        notes = []
        if reps < 5:
            notes.append(f"only {reps} replications per policy: confidence intervals are wide and "
                         "'within noise' may hide a real effect")
        usable, arrived = counts.get(name, (0, 0))
        ref_usable, ref_arrived = counts.get(ref, (0, 0))
        # Worth a caveat when this policy leaves at least twice the reference's share unusable.
        if arrived > usable and (arrived - usable) / arrived >= 2 * max(ref_arrived - ref_usable, 0) / max(ref_arrived, 1):
            notes.append(f"the interface-change delay rests on {usable} interface changes usable inside the "
                         f"measured window (over {reps} replications; {ref_usable} under "
                         f"{sentence_name(ref)}); {max(arrived - usable, 0)} of the {arrived} that arrived in the "
                         "window were not yet usable by its end, so the delay is if anything understated")
        caveats[name] = notes
    return caveats


def build_scorecard(comparison: Comparison) -> Scorecard:
    """The scorecard of ``comparison`` (its first scenario is the reference)."""
    cells = []
    for outcome in OUTCOMES:
        for effect in outcome_effects(comparison, outcome):
            cells.append(_cell(effect, outcome))
    return Scorecard(
        reference=comparison.names[0],
        policies=tuple(comparison.names[1:]),
        replications=comparison.replications,
        staffing=staffing_clause(comparison.comparison, comparison.names),
        cells=tuple(cells),
        caveats=policy_caveats(comparison),
    )


def with_ensemble(card: Scorecard, robustness: pd.DataFrame) -> Scorecard:
    """``card`` with each cell's ``ensemble_share``: the share of the ensemble's draws
    (:func:`sim.runs.ensemble.robustness`) whose effect has the sign of the cell's difference."""
    table = robustness.set_index(["scenario", "area", "metric"])
    cells = []
    for c in card.cells:
        area, metric = ENSEMBLE_METRICS[c.outcome]
        share = None
        if (c.policy, area, metric) in table.index and np.isfinite(c.diff) and c.diff != 0:
            row = table.loc[(c.policy, area, metric)]
            share = float(row["share_positive"] if c.diff > 0 else row["share_negative"])
        cells.append(replace(c, ensemble_share=share))
    return replace(card, cells=tuple(cells))


# ------------------------------------------------------------------------------ words


ARROWS: dict[str, str] = {"up": "▲", "down": "▼", "flat": "●"}


def direction(cell: Cell) -> str:
    """``up``/``down`` when the policy moves the outcome beyond noise, else ``flat``."""
    if not cell.excludes_zero or not np.isfinite(cell.diff):
        return "flat"
    return "up" if cell.diff > 0 else "down"


def size_text(cell: Cell, outcome: Outcome, short: bool = False) -> str:
    """The difference with its unit (``short``: :attr:`Outcome.cell_unit`), and relative to the
    reference ("+10.9 d (+60%)"); percentages move in percentage points (pp)."""
    if not np.isfinite(cell.diff):
        return "n/a"
    unit = outcome.cell_unit if short else outcome.unit
    unit = " pp" if unit == "%" else f" {unit}"
    text = f"{cell.diff:+.{outcome.digits}f}{unit}"
    if np.isfinite(cell.relative):
        text += f" ({cell.relative:+.0%})"
    return text


def ci_text(cell: Cell, outcome: Outcome) -> str:
    """The paired 95 % CI of the difference ("95% CI +9.1 to +12.7")."""
    if not (np.isfinite(cell.low) and np.isfinite(cell.high)):
        return "CI n/a"
    return f"95% CI {cell.low:+.{outcome.digits}f} to {cell.high:+.{outcome.digits}f}"


def value_text(value: float, outcome: Outcome, short: bool = False) -> str:
    """A value with its unit ("18.2 d", "14.7 %"; ``short``: :attr:`Outcome.cell_unit`)."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.{outcome.digits}f} {outcome.cell_unit if short else outcome.unit}"


def markdown_table(card: Scorecard) -> str:
    """The scorecard as a Markdown table: one row per policy, one column per outcome (unit in its heading)."""
    heads = {o.key: f"{o.label} ({o.unit})" for o in OUTCOMES}
    rows = []
    ref_row = {"policy": f"{sentence_name(card.reference)} (reference)"}
    for o in OUTCOMES:
        ref_values = [c.reference_value for c in card.cells if c.outcome == o.key]
        ref_row[heads[o.key]] = value_text(ref_values[0], o, short=True) if ref_values else "n/a"
    rows.append(ref_row)
    for policy in card.policies:
        row = {"policy": sentence_name(policy)}
        for o in OUTCOMES:
            try:
                c = card.cell(policy, o.key)
            except KeyError:
                row[heads[o.key]] = "n/a"
                continue
            robust = f"<br>{c.ensemble_share:.0%} of draws agree" if c.ensemble_share is not None else ""
            row[heads[o.key]] = (f"{ARROWS[direction(c)]} **{c.verdict}** {size_text(c, o, short=True)}<br>"
                                 f"{ci_text(c, o)}{robust}")
        rows.append(row)
    return pd.DataFrame(rows).to_markdown(index=False)


def _clause(c: Cell, o: Outcome) -> str:
    label = o.label[0].lower() + o.label[1:]
    return f"{label} ({value_text(c.reference_value, o)} → {value_text(c.value, o)}, {size_text(c, o)})"


def policy_paragraph(card: Scorecard, policy: str) -> str:
    """A plain-language paragraph on ``policy``'s row, its caveats included, from the numbers."""
    cells = [(card.cell(policy, o.key), o) for o in OUTCOMES if any(
        c.policy == policy and c.outcome == o.key for c in card.cells)]
    better = [_clause(c, o) for c, o in cells if c.verdict == "better"]
    worse = [_clause(c, o) for c, o in cells if c.verdict == "worse"]
    flat = [o.label[0].lower() + o.label[1:] for c, o in cells if c.verdict == "within noise"]
    undefined = [o.label[0].lower() + o.label[1:] for c, o in cells if c.verdict == "n/a"]
    name = sentence_name(policy)
    parts = [f"**{name[0].upper() + name[1:]}** compared with {sentence_name(card.reference)}"
             + (f", {card.staffing[0].lower() + card.staffing[1:]}" if card.staffing else "") + "."]
    parts.append(("Better on " + "; ".join(better) + ".") if better else "Better on no outcome beyond noise.")
    parts.append(("Worse on " + "; ".join(worse) + ".") if worse else "Worse on no outcome beyond noise.")
    if flat:
        parts.append("No change beyond noise in " + ", ".join(flat) + ".")
    if undefined:
        parts.append("Not defined here: " + ", ".join(undefined) + ".")
    for note in card.caveats.get(policy, []):
        parts.append(f"Caveat: {note}.")
    return " ".join(parts)


def readme_lines(card: Scorecard, image: str | None = "scorecard.png") -> list[str]:
    """The scorecard section of figures/README.md: how to read it, the table, a paragraph per policy."""
    lines = ["## Scorecard: each policy against " + sentence_name(card.reference), ""]
    if image:
        lines += [f"![Policy scorecard]({image})", ""]
    lines += [
        (f"How to read this: each cell is the policy's difference from {sentence_name(card.reference)} "
         f"(mean over {card.replications} replications that share their random draws), with its 95% confidence "
         "interval. ▲/▼: the outcome rises/falls beyond noise (the interval excludes 0); ●: within noise. "
         "**better**/**worse** say whether that move is good for the project; relative sizes are against "
         f"{sentence_name(card.reference)}'s value."
         + (" \"N% of draws agree\": the share of the parameter ensemble's draws (fitted parameters and policy "
            "assumptions varied together, see Robustness below) in which the effect has the same sign."
            if any(c.ensemble_share is not None for c in card.cells) else "")
         + (f" {card.staffing}." if card.staffing else "")),
        "",
        markdown_table(card),
        "",
        "What counts as better:",
        "",
        *[f"- {o.label}: {o.why}." for o in OUTCOMES],
        "",
        *[line for p in card.policies for line in (policy_paragraph(card, p), "")],
    ]
    return lines


def cells_for(card: Scorecard, policy: str) -> Sequence[Cell]:
    """``policy``'s cells in :data:`OUTCOMES` order."""
    return [c for o in OUTCOMES for c in card.cells if c.policy == policy and c.outcome == o.key]

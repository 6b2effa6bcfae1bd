"""Drawing the policy scorecard (:mod:`sim.outputs.scorecard`) as a one-page table-figure.

Rows: the reference (its values) and each policy; columns: the outcomes. A cell shows the direction
(▲ rises, ▼ falls, ● within noise), the verdict in words, the size (unit and relative) and the
paired 95 % CI. Colour repeats the verdict for a quick read: Okabe-Ito blue for better, vermillion
for worse, grey for within noise (distinguishable with every common colour-vision deficiency; the
words and arrows carry the meaning without colour).
"""

from __future__ import annotations

import textwrap

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sim.outputs.findings import sentence_name
from sim.outputs.scorecard import (
    ARROWS,
    OUTCOMES,
    Scorecard,
    ci_text,
    direction,
    size_text,
    value_text,
)
from sim.outputs.style import OKABE_ITO, SLIDE, styled

# Background tint and text colour per verdict.
VERDICT_COLOURS: dict[str, tuple[str, str]] = {
    "better": ("#CCE3F0", OKABE_ITO["blue"]),
    "worse": ("#F7D9C4", "#A84300"),  # a darker vermillion, readable on its tint
    "within noise": ("#EFEFEF", "#555555"),
    "n/a": ("#FFFFFF", "#888888"),
}
HEADER_BG = "#FFFFFF"
REFERENCE_BG = "#F7F7F7"


@styled
def plot_scorecard(card: Scorecard) -> Figure:
    """The scorecard as a table-figure of slide size (inches :data:`~sim.outputs.style.SLIDE`)."""
    fig = Figure(figsize=SLIDE)
    ax = fig.add_axes((0.01, 0.10, 0.98, 0.76))
    ax.set_axis_off()
    n_cols = len(OUTCOMES) + 1
    n_rows = len(card.policies) + 2  # header, reference, policies
    first = 1.4  # the policy column is wider
    widths = [first] + [1.0] * len(OUTCOMES)
    total = sum(widths)
    xs = [sum(widths[:i]) / total for i in range(n_cols)]
    ws = [w / total for w in widths]
    h = 1.0 / n_rows
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)

    def box(row: int, col: int, colour: str) -> tuple[float, float]:
        y = 1 - (row + 1) * h
        ax.add_patch(Rectangle((xs[col], y), ws[col], h, facecolor=colour, edgecolor="white", linewidth=2))
        return xs[col] + ws[col] / 2, y + h / 2

    cx, cy = box(0, 0, HEADER_BG)
    ax.text(cx, cy, "policy", ha="center", va="center", fontsize=12, fontweight="bold")
    for j, o in enumerate(OUTCOMES, start=1):
        cx, cy = box(0, j, HEADER_BG)
        ax.text(cx, cy, "\n".join(textwrap.wrap(o.label, 16)) + f"\n({o.unit})", ha="center", va="center", fontsize=10.5,
                fontweight="bold")
    cx, cy = box(1, 0, REFERENCE_BG)
    ax.text(cx, cy, f"{sentence_name(card.reference)}\n(reference)", ha="center", va="center", fontsize=12)
    for j, o in enumerate(OUTCOMES, start=1):
        ref = [c.reference_value for c in card.cells if c.outcome == o.key]
        cx, cy = box(1, j, REFERENCE_BG)
        ax.text(cx, cy, value_text(ref[0], o, short=True) if ref else "n/a", ha="center", va="center", fontsize=11)
    for i, policy in enumerate(card.policies, start=2):
        cx, cy = box(i, 0, HEADER_BG)
        ax.text(cx, cy, sentence_name(policy), ha="center", va="center", fontsize=12, fontweight="bold")
        for j, o in enumerate(OUTCOMES, start=1):
            try:
                c = card.cell(policy, o.key)
            except KeyError:
                box(i, j, VERDICT_COLOURS["n/a"][0])
                continue
            bg, fg = VERDICT_COLOURS[c.verdict]
            cx, cy = box(i, j, bg)
            ax.text(cx, cy + h * 0.22, f"{ARROWS[direction(c)]} {c.verdict}", ha="center", va="center",
                    fontsize=11.5, fontweight="bold", color=fg)
            ax.text(cx, cy - h * 0.02, size_text(c, o, short=True), ha="center", va="center", fontsize=10)
            ax.text(cx, cy - h * 0.30, ci_text(c, o), ha="center", va="center", fontsize=8.5, color="#333333")

    fig.text(0.5, 0.965, f"Policy scorecard: each policy against {sentence_name(card.reference)}",
             ha="center", va="top", fontsize=17, fontweight="bold")
    sub = (f"{card.staffing}; " if card.staffing else "") + (
        f"{card.replications} replications per policy with shared random draws")
    fig.text(0.5, 0.91, sub, ha="center", va="top", fontsize=12)
    how = ("How to read this: ▲/▼ the outcome rises/falls beyond noise (the paired 95% confidence interval of the "
           "difference excludes 0), ● within noise. Blue = better, orange = worse, grey = within noise. "
           "Better = shorter times, smaller backlog, lower core load, fewer false gate rejections, fewer abandoned "
           "changes. Sizes: the difference from the reference (unit) and relative to its value (%).")
    fig.text(0.5, 0.085, "\n".join(textwrap.wrap(how, 170)), ha="center", va="top", fontsize=10)
    return fig

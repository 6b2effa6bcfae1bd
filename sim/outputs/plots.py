"""Figures for a governance body: one pure plotting function per figure.

Every function takes results that are already computed (a :class:`~sim.runs.compare.Comparison`, or
a small tidy DataFrame of a sweep) and returns ``(figure, finding)``: a matplotlib
:class:`~matplotlib.figure.Figure` whose title is ``finding``, a sentence computed from the
numbers. A difference between policies is stated as a change only when the 95 % confidence
interval of its paired (common-random-numbers) difference excludes zero; otherwise the sentence
says the policies do not differ beyond noise. Nothing here simulates.

Style: slide-sized (16:9) figures, large fonts, labelled axes with units, the Okabe-Ito
colour-blind-safe palette, one colour per policy across all figures (:func:`policy_colours`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.runs.compare import Comparison
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS, TIME_BUCKETS, open_series
from sim.runs.runner import RunResult
from sim.runs.stats import mean_ci

# ------------------------------------------------------------------------------ style

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
# One colour per policy in every figure (keyed by scenario name, then by policy name).
KNOWN_COLOURS: dict[str, str] = {
    "monolith": OKABE_ITO["black"],
    "runways": OKABE_ITO["orange"],
    "lieutenants": OKABE_ITO["sky_blue"],
    "split": OKABE_ITO["bluish_green"],
    "sponsorship": OKABE_ITO["reddish_purple"],
    "lieutenants_runways": OKABE_ITO["blue"],
    "lieutenants+runways": OKABE_ITO["blue"],
}
# Colours for other scenarios, in order (yellow last: weak on white).
SPARE_COLOURS: tuple[str, ...] = (
    OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["sky_blue"], OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"], OKABE_ITO["reddish_purple"], OKABE_ITO["yellow"],
)
LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))
# Where the time goes: a second colour-blind-safe palette (Paul Tol's "muted"), so bucket colours
# are never mistaken for policy colours.
BUCKET_COLOURS: dict[str, str] = {
    "wait_review_days": "#332288",
    "review_days": "#88CCEE",
    "author_days": "#44AA99",
    "ci_days": "#DDCC77",
    "gate_days": "#CC6677",
    "freeze_days": "#882255",
}
BUCKET_LABELS: dict[str, str] = {
    "wait_review_days": "waiting for a reviewer (incl. held by the policy)",
    "review_days": "in review",
    "author_days": "author revising",
    "ci_days": "CI (check runs, rechecks)",
    "gate_days": "in the gate",
    "freeze_days": "held by the feature freeze",
}
BUCKET_SHORT: dict[str, str] = {
    "wait_review_days": "waiting for a reviewer",
    "review_days": "being reviewed",
    "author_days": "authors revising",
    "ci_days": "CI",
    "gate_days": "the gate",
    "freeze_days": "the feature freeze",
}
# How a policy is named inside a sentence.
SENTENCE_NAMES: dict[str, str] = {
    "monolith": "the monolith",
    "runways": "runways",
    "lieutenants": "lieutenants",
    "split": "split repos",
    "sponsorship": "sponsorship",
    "lieutenants_runways": "lieutenants plus runways",
}
ROLE_ORDER: tuple[str, ...] = ("core", "lieutenant", "driver-core")
ROLE_LABELS: dict[str, str] = {"core": "nova core", "lieutenant": "lieutenant", "driver-core": "driver core"}
ROLE_MARKERS: dict[str, str] = {"core": "o", "lieutenant": "^", "driver-core": "s"}
ROLE_HATCHES: dict[str, str] = {"core": "", "lieutenant": "//", "driver-core": ".."}

SLIDE = (13.33, 7.5)  # inches: a 16:9 slide
STYLE: dict[str, Any] = {
    "font.size": 15,
    "axes.titlesize": 16,
    "axes.labelsize": 15,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 12,
    "legend.title_fontsize": 12,
    "figure.titlesize": 17,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.8,
    "lines.linewidth": 2.5,
    "lines.markersize": 8,
    "errorbar.capsize": 4,
    "svg.hashsalt": "driversplit",  # stable element ids: identical inputs give identical SVG files
}

Finding = str


def styled(func: Callable[..., tuple[Figure, Finding]]) -> Callable[..., tuple[Figure, Finding]]:
    """Run a plotting function inside the slide style (fonts are fixed when artists are created)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[Figure, Finding]:
        with mpl.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper


def policy_colours(names: Iterable[str], policies: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour per scenario: the known policy colour when there is one, else a spare Okabe-Ito colour."""
    names = list(dict.fromkeys(names))
    policies = dict(policies or {})
    colours: dict[str, str] = {}
    for name in names:
        for key in (name, policies.get(name)):
            if key in KNOWN_COLOURS and KNOWN_COLOURS[key] not in colours.values():
                colours[name] = KNOWN_COLOURS[key]
                break
    spare = [c for c in SPARE_COLOURS if c not in colours.values()] or list(SPARE_COLOURS)
    i = 0
    for name in names:
        if name not in colours:
            colours[name] = spare[i % len(spare)]
            i += 1
    return colours


def comparison_colours(comparison: Comparison) -> dict[str, str]:
    return policy_colours(comparison.names, {r.scenario.scenario.name: r.scenario.policy.name for r in comparison.runs})


def sentence_name(name: str) -> str:
    return SENTENCE_NAMES.get(name, name)


def _new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = SLIDE, **kwargs: Any) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def set_title(fig: Figure, finding: str) -> None:
    """The finding as the figure's title, wrapped to the figure's width."""
    size = mpl.rcParams["figure.titlesize"]
    size = float(size) if not isinstance(size, str) else 17.0
    width = max(40, int(fig.get_figwidth() * 72 / (size * 0.64)))
    fig.suptitle("\n".join(textwrap.wrap(finding, width)), fontsize=size, fontweight="bold", ha="center")


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _num(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if np.isfinite(value) else "n/a"


def _days(value: float) -> str:
    """Days for a sentence: one decimal below 10, none above."""
    return f"{value:.0f} d" if np.isfinite(value) and abs(value) >= 10 else f"{value:.1f} d"


def _pct(fraction: float) -> str:
    x = abs(fraction) * 100
    return f"{x:.0f}%" if x >= 1 else f"{x:.1f}%"


# ------------------------------------------------------------------------------ effects


@dataclass(frozen=True)
class Effect:
    """A scenario's mean and its paired difference from the reference, with the 95 % CI."""

    scenario: str
    reference: str
    value: float
    ref_value: float
    diff: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        """The paired 95 % CI excludes zero (needs at least two replications)."""
        return self.n >= 2 and np.isfinite(self.low) and np.isfinite(self.high) and (self.low > 0 or self.high < 0)

    @property
    def relative(self) -> float:
        if not np.isfinite(self.ref_value) or self.ref_value == 0 or not np.isfinite(self.diff):
            return math.nan
        return self.diff / self.ref_value


def table_effects(table: pd.DataFrame, metric: str, area: str = ALL) -> list[Effect]:
    """The paired effects of every non-reference scenario of a comparison table (COMPARISON_COLUMNS)."""
    rows = table[(table["metric"] == metric) & (table["area"] == area)]
    if rows.empty:
        return []
    reference = rows["reference"].iloc[0]
    ref_rows = rows[rows["scenario"] == reference]
    ref_value = float(ref_rows["mean"].iloc[0]) if not ref_rows.empty else math.nan
    return [
        Effect(r["scenario"], reference, float(r["mean"]), ref_value, float(r["diff"]), float(r["diff_ci_low"]),
               float(r["diff_ci_high"]), int(r["diff_n"]))
        for _, r in rows.iterrows() if r["scenario"] != reference
    ]


def paired_effects(values: pd.DataFrame, reference: str) -> list[Effect]:
    """Effects from per-replication values: index = replication, one column per scenario."""
    ref = values[reference]
    ref_value = mean_ci(ref)[0]
    effects = []
    for name in values.columns:
        if name == reference:
            continue
        diff, low, high, n = mean_ci((values[name] - ref).to_numpy())
        effects.append(Effect(str(name), reference, mean_ci(values[name])[0], ref_value, diff, low, high, n))
    return effects


def _amount(e: Effect, digits: int, unit: str) -> str:
    """How much a value moved: a percentage, an n-fold factor beyond doubling, or an absolute change."""
    if not np.isfinite(e.relative):
        return f"by {abs(e.diff):.{digits}f}{unit}"
    if e.relative >= 1.0:
        return f"{1.0 + e.relative:.1f}-fold"
    return _pct(e.relative)


def strongest(effects: Sequence[Effect]) -> Effect | None:
    """The effect beyond noise with the largest relative (else absolute) size, if any."""
    significant = [e for e in effects if e.significant]
    if not significant:
        return None
    return max(significant, key=lambda e: abs(e.relative) if np.isfinite(e.relative) else abs(e.diff))


def change_clause(effects: Sequence[Effect], subject: str, unit: str, digits: int = 1) -> str:
    """A clause stating the strongest effect beyond noise on ``subject``, or that there is none.

    ``subject`` is a singular noun phrase ("driver changes' median time to merge").
    """
    u = f" {unit}" if unit else ""
    if not effects:
        return ""
    e = strongest(effects)
    if e is None:
        if len(effects) == 1:
            e = effects[0]
            return (f"under {sentence_name(e.scenario)}, {subject} does not change beyond noise "
                    f"({_num(e.ref_value, digits)} vs {_num(e.value, digits)}{u}; "
                    f"paired 95% CI {e.low:+.{digits}f} to {e.high:+.{digits}f})")
        values = [e.value for e in effects]
        return (f"no policy changes {subject} beyond noise ({_num(effects[0].ref_value, digits)}{u} under "
                f"{sentence_name(effects[0].reference)}; {_num(min(values), digits)} to {_num(max(values), digits)}{u} "
                f"under the others)")
    verb = "falls" if e.diff < 0 else "rises"
    return (f"under {sentence_name(e.scenario)}, {subject} {verb} {_amount(e, digits, u)} "
            f"({_num(e.ref_value, digits)} → {_num(e.value, digits)}{u}; "
            f"paired 95% CI {e.low:+.{digits}f} to {e.high:+.{digits}f})")


# ------------------------------------------------------------------------------ helpers on results


def merged_in_window(run: RunResult) -> pd.DataFrame:
    a, b = run.window
    c = run.changes
    return c[(c["merged"] >= a) & (c["merged"] < b)]


def _has_driver_groups(comparison: Comparison) -> bool:
    table = comparison.comparison
    areas = set(table["area"])
    return DRIVERS in areas and NON_DRIVERS in areas


def _ecdf_on_grid(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    x = np.sort(values)
    return np.searchsorted(x, grid, side="right") / len(x)


def _log_grid(arrays: Sequence[np.ndarray], points: int = 400) -> np.ndarray:
    pooled = np.concatenate([a for a in arrays if len(a)]) if any(len(a) for a in arrays) else np.array([1.0])
    positive = pooled[pooled > 0]
    low = max(float(positive.min()) if len(positive) else 0.01, 1e-3)
    high = max(float(pooled.max()), low * 10)
    return np.geomspace(low, high, points)


def _ecdf_panel(ax: Axes, samples: Mapping[str, np.ndarray], colours: Mapping[str, str], xlabel: str) -> None:
    """ECDFs (pooled over replications) on a log-x axis, with a guide at the median level."""
    grid = _log_grid(list(samples.values()))
    ax.axhline(0.5, color="0.6", lw=1, ls=":", zorder=0)
    for i, (name, values) in enumerate(samples.items()):
        if not len(values):
            continue
        values = np.clip(values, grid[0], None)
        ax.plot(grid, _ecdf_on_grid(values, grid), color=colours[name], ls=LINESTYLES[i % len(LINESTYLES)],
                drawstyle="steps-post", label=name)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.01)
    ax.set_xlabel(xlabel)


def _median_panel(ax: Axes, medians: Mapping[str, tuple[float, float, float]], names: Sequence[str],
                  colours: Mapping[str, str], xlabel: str, effects: Sequence[Effect] = (), digits: int = 1) -> None:
    """One row per policy: the median (mean over replications) with its 95 % CI.

    Beside each: the value and, for non-reference policies, the paired difference from the
    reference with its 95 % CI (bold when the CI excludes 0). Marginal CIs may overlap while the
    paired difference is clear: common random numbers make the replications positively correlated.
    """
    by_name = {e.scenario: e for e in effects}
    ys = np.arange(len(names))[::-1]
    for y, name in zip(ys, names):
        med, low, high = medians.get(name, (math.nan, math.nan, math.nan))
        if not np.isfinite(med):
            continue
        has_ci = np.isfinite(low) and np.isfinite(high)
        xerr = [[max(med - low, 0)], [max(high - med, 0)]] if has_ci else None
        ax.errorbar([med], [y], xerr=xerr, fmt="o", color=colours[name], ms=10, elinewidth=3, capsize=5)
        text = f"{med:.{digits}f}"
        e = by_name.get(name)
        if e is not None and np.isfinite(e.diff):
            text += f"   Δ {e.diff:+.{digits}f} [{e.low:+.{digits}f}, {e.high:+.{digits}f}]"
        ax.annotate(text, (high if has_ci else med, y), xytext=(8, 0), textcoords="offset points", va="center",
                    ha="left", fontsize=12, color=colours[name],
                    fontweight="bold" if e is not None and e.significant else "normal")
    ax.set_yticks(ys, names)
    for tick, name in zip(ax.get_yticklabels(), names):
        tick.set_color(colours[name])
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.margins(x=0.45 if effects else 0.25)
    finite = [m[1] for m in medians.values() if np.isfinite(m[1])]
    if finite and min(finite) >= 0:
        ax.set_xlim(left=max(0.0, ax.get_xlim()[0]))
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel, fontsize=13)


def _median_cis(comparison: Comparison, metric: str, area: str) -> dict[str, tuple[float, float, float]]:
    t = comparison.comparison
    rows = t[(t["metric"] == metric) & (t["area"] == area)]
    return {r["scenario"]: (float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])) for _, r in rows.iterrows()}


# ------------------------------------------------------------------------------ figure 1


@styled
def plot_time_to_merge(comparison: Comparison) -> tuple[Figure, Finding]:
    """Figure 1: distributions (ECDF, log days) of time to merge, driver vs non-driver changes."""
    colours = comparison_colours(comparison)
    metric = "time_to_merge_median_days"
    if _has_driver_groups(comparison):
        panels = [(DRIVERS, "Driver changes (virt drivers)", True), (NON_DRIVERS, 'Non-driver ("core" nova) changes', False)]
    else:
        panels = [(ALL, "All changes", None)]
    fig = Figure(figsize=SLIDE, layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False, height_ratios=[3, 1.3])
    for col, (area, label, drivers) in enumerate(panels):
        ax, med_ax = axes[0][col], axes[1][col]
        samples = {}
        for run in comparison.runs:
            merged = merged_in_window(run)
            if drivers is not None:
                in_drivers = merged["area"].isin(run.scenario.driver_areas)
                merged = merged[in_drivers if drivers else ~in_drivers]
            samples[run.scenario.scenario.name] = (merged["merged"] - merged["arrived"]).to_numpy(dtype=float)
        _ecdf_panel(ax, samples, colours, "time to merge (days, log scale)")
        n = sum(len(v) for v in samples.values())
        ax.set_title(f"{label}\n({n:,} merged changes over {comparison.replications} replications)", fontsize=14)
        _median_panel(med_ax, _median_cis(comparison, metric, area), comparison.names, colours,
                      "median (days) ± 95% CI" + (f"; Δ: paired difference from {comparison.names[0]}"
                                                  if len(comparison.names) > 1 else ""),
                      table_effects(comparison.comparison, metric, area))
        if col:
            ax.sharey(axes[0][0])
            ax.tick_params(labelleft=False)
    axes[0][-1].legend(loc="lower right", frameon=True, framealpha=0.9)
    axes[0][0].set_ylabel("fraction of merged\nchanges merged\nwithin x days")
    table = comparison.comparison
    if len(panels) == 2:
        first = change_clause(table_effects(table, metric, DRIVERS), "driver changes' median time to merge", "d")
        second = change_clause(table_effects(table, metric, NON_DRIVERS), "non-driver changes' median time to merge", "d")
        finding = "; ".join(c for c in (first, second) if c)
    else:
        finding = change_clause(table_effects(table, metric, ALL), "the median time to merge", "d")
    if not finding:
        parts = []
        for area, label, _ in panels:
            med = _median_cis(comparison, metric, area).get(comparison.names[0], (math.nan,) * 3)[0]
            parts.append(f"{_num(med, 1)} d" + ("" if area == ALL else f" for {label.split(' (')[0].lower()}"))
        finding = f"under {sentence_name(comparison.names[0])}, the median time to merge is " + ", ".join(parts)
    finding = _capitalise(finding)
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 2


def backlog_series(comparison: Comparison) -> pd.DataFrame:
    """Open changes per day of the window, per scenario and replication (``metrics.open_series``)."""
    frames = []
    for run in comparison.runs:
        s = open_series(run.changes, run.window)
        s.insert(0, "scenario", run.scenario.scenario.name)
        frames.append(s)
    return pd.concat(frames, ignore_index=True)


def _t_band(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over rows and the pointwise 95 % t-interval of the mean (rows = replications)."""
    from scipy import stats

    n = matrix.shape[0]
    mean = matrix.mean(axis=0)
    if n < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.975, n - 1) * matrix.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


@styled
def plot_backlog(comparison: Comparison) -> tuple[Figure, Finding]:
    """Figure 2: open review backlog over the release cycle, mean with a 95 % CI band per policy."""
    colours = comparison_colours(comparison)
    series = backlog_series(comparison)
    fig, axes = _new_figure()
    ax = axes[0][0]
    for i, name in enumerate(comparison.names):
        s = series[series["scenario"] == name].pivot(index="replication", columns="day", values="open")
        mean, low, high = _t_band(s.to_numpy(dtype=float))
        days = s.columns.to_numpy(dtype=float)
        ax.plot(days, mean, color=colours[name], ls=LINESTYLES[i % len(LINESTYLES)], label=name)
        ax.fill_between(days, low, high, color=colours[name], alpha=0.18, lw=0)
    ref = comparison.runs[0].scenario
    if ref.cycle.feature_freeze:
        a, b = comparison.runs[0].window
        for start in np.arange(0.0, b - a, ref.cycle_days):
            ax.axvline(start + 7.0 * ref.cycle.feature_freeze_week, color="0.4", ls="--", lw=1.2)
            ax.annotate("feature freeze", (start + 7.0 * ref.cycle.feature_freeze_week, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(4, -4), textcoords="offset points",
                        ha="left", va="top", fontsize=12, color="0.3")
    ax.set_xlabel("day of the release cycle (days since the measurement window opened)")
    ax.set_ylabel("open changes\n(uploaded, neither merged nor abandoned)")
    ax.set_ylim(bottom=0)
    ax.legend(title=f"mean, band: 95% CI ({comparison.replications} replications)", loc="lower right", ncols=2)
    per_rep = series.groupby(["replication", "scenario"])["open"].mean().unstack("scenario")[comparison.names]
    effects = paired_effects(per_rep, comparison.names[0])
    finding = change_clause(effects, "the open review backlog", "open changes on average over the cycle", digits=0)
    if not finding:
        finding = (f"under {sentence_name(comparison.names[0])}, the open review backlog averages "
                   f"{per_rep.iloc[:, 0].mean():.0f} open changes over the cycle")
    finding = _capitalise(finding)
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 3


@styled
def plot_time_buckets(comparison: Comparison, area: str = ALL) -> tuple[Figure, Finding]:
    """Figure 3: where the time to merge goes, stacked mean days per merged change, CI of the total."""
    table = comparison.comparison
    rows = table[table["area"] == area]
    names = comparison.names
    colours = comparison_colours(comparison)

    def value(name: str, metric: str, column: str = "mean") -> float:
        hit = rows[(rows["scenario"] == name) & (rows["metric"] == metric)]
        return float(hit[column].iloc[0]) if not hit.empty else math.nan

    fig, axes = _new_figure()
    ax = axes[0][0]
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for column, metric in TIME_BUCKETS.items():
        heights = np.nan_to_num([value(n, metric) for n in names])
        ax.bar(x, heights, 0.62, bottom=bottom, color=BUCKET_COLOURS[column], label=BUCKET_LABELS[column],
               edgecolor="white", linewidth=0.8)
        bottom += heights
    total = np.array([value(n, "time_to_merge_mean_days") for n in names])
    low = np.array([value(n, "time_to_merge_mean_days", "ci_low") for n in names])
    high = np.array([value(n, "time_to_merge_mean_days", "ci_high") for n in names])
    ax.errorbar(x, total, yerr=[np.nan_to_num(total - low), np.nan_to_num(high - total)], fmt="none", ecolor="black",
                elinewidth=2, capsize=8, zorder=5)
    for xi, t, h in zip(x, total, high):
        if np.isfinite(t):
            ax.annotate(f"{t:.1f} d", (xi, h if np.isfinite(h) else t), xytext=(0, 6), textcoords="offset points",
                        ha="center", va="bottom", fontsize=13, fontweight="bold")
    ax.set_xticks(x, names)
    for tick, name in zip(ax.get_xticklabels(), names):
        tick.set_color(colours[name])
        tick.set_fontweight("bold")
    ax.set_ylabel("mean days per merged change")
    ax.set_xlabel("policy (error bar: 95% CI of the mean time to merge over replications)")
    ax.set_ylim(0, np.nanmax(np.append(high, bottom)) * 1.15 if len(names) else 1)
    ax.grid(axis="x", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), title="time spent")

    ref = names[0]
    parts = {c: value(ref, m) for c, m in TIME_BUCKETS.items()}
    ref_total = sum(v for v in parts.values() if np.isfinite(v))
    top = max(parts, key=lambda c: parts[c] if np.isfinite(parts[c]) else -1.0)
    where = "" if area == ALL else f" ({area})"
    first = (f"{_capitalise(BUCKET_SHORT[top])} is the largest part of the time to merge under {sentence_name(ref)} "
             f"({_pct(parts[top] / ref_total) if ref_total else 'n/a'} of {ref_total:.1f} d per merged change{where})")
    effects = table_effects(table, "time_to_merge_mean_days", area)
    clause = change_clause(effects, "the mean time to merge", "d")
    finding = first + ("; " + clause if clause else "")
    e = strongest(effects)
    if e is not None:
        diffs = {c: value(e.scenario, m, "mean") - value(ref, m, "mean") for c, m in TIME_BUCKETS.items()}
        same_way = {c: d for c, d in diffs.items() if np.isfinite(d) and np.sign(d) == np.sign(e.diff)}
        if same_way:
            c = max(same_way, key=lambda c: abs(same_way[c]))
            finding += f", mostly {BUCKET_SHORT[c]} ({same_way[c]:+.1f} d)"
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 4


@styled
def plot_gate_sweep(sweep: pd.DataFrame, theory: pd.DataFrame, reference: str | None = None) -> tuple[Figure, Finding]:
    """Figure 4: false gate rejections per merged change as the gating jobs grow, with the theory curve.

    ``sweep``: one row per scenario, sweep point and replication: columns ``scenario`` (policy),
    ``jobs`` (x: gating jobs a non-driver change runs in the reference's gate at this point),
    ``replication``, ``value`` (false rejections per merged non-driver change).
    ``theory``: columns ``scenario``, ``jobs`` (x), ``expected`` (q / (1 - q)), densely in x.
    """
    names = list(dict.fromkeys(sweep["scenario"]))
    reference = reference or names[0]
    colours = policy_colours(names)
    fig, axes = _new_figure()
    ax = axes[0][0]
    stats_by: dict[str, pd.DataFrame] = {}
    for i, name in enumerate(names):
        s = sweep[sweep["scenario"] == name]
        rows = []
        for jobs, g in s.groupby("jobs", sort=True):
            mean, low, high, n = mean_ci(g["value"])
            rows.append((jobs, mean, low, high, n))
        st = pd.DataFrame(rows, columns=["jobs", "mean", "low", "high", "n"])
        stats_by[name] = st
        ax.errorbar(st["jobs"], st["mean"], yerr=[st["mean"] - st["low"], st["high"] - st["mean"]], fmt="o",
                    color=colours[name], ms=10, elinewidth=2.5, capsize=6, label=f"{name}: simulation (mean, 95% CI)",
                    zorder=5)
        th = theory[theory["scenario"] == name].sort_values("jobs")
        if not th.empty:
            ax.plot(th["jobs"], th["expected"], color=colours[name], ls=LINESTYLES[1 + i % (len(LINESTYLES) - 1)],
                    lw=2, label=f"{name}: theory q/(1-q)")
    if "own_jobs" in sweep.columns:
        for name in names:
            if name == reference:
                continue
            own = sorted(set(sweep.loc[sweep["scenario"] == name, "own_jobs"]))
            if len(own) == 1:
                last = stats_by[name].iloc[-1]
                ax.annotate(f"{name}: nova's gate runs {own[0]} jobs at every x", (last["jobs"], last["high"]),
                            xytext=(0, 10), textcoords="offset points", ha="right", va="bottom", fontsize=13,
                            color=colours[name])
    ax.set_xlabel("gating jobs a non-driver nova change runs in the monolith's gate")
    ax.set_ylabel("false rejections per merged\nnon-driver nova change")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")

    ref = stats_by[reference]
    x0, x1 = ref["jobs"].min(), ref["jobs"].max()
    ref_rep = sweep[sweep["scenario"] == reference].pivot_table(index="replication", columns="jobs", values="value")
    grow = mean_ci((ref_rep[x1] - ref_rep[x0]).to_numpy())
    m0, m1 = float(ref.loc[ref["jobs"] == x0, "mean"].iloc[0]), float(ref.loc[ref["jobs"] == x1, "mean"].iloc[0])
    grows = grow[3] >= 2 and (grow[1] > 0 or grow[2] < 0)
    if grows:
        verb = "rise" if grow[0] > 0 else "fall"
        finding = (f"From {x0:.0f} to {x1:.0f} gating jobs, false rejections per merged non-driver nova change {verb} from "
                   f"{m0:.2f} to {m1:.2f} in {sentence_name(reference)}")
    else:
        finding = (f"False rejections per merged non-driver nova change do not grow beyond noise in {sentence_name(reference)} "
                   f"from {x0:.0f} to {x1:.0f} gating jobs ({m0:.2f} vs {m1:.2f})")
    th_ref = theory[(theory["scenario"] == reference) & (theory["jobs"] == x1)]
    if not th_ref.empty:
        finding += f" (theory q/(1-q): {float(th_ref['expected'].iloc[0]):.2f})"
    for name in names:
        if name == reference:
            continue
        other_rep = sweep[sweep["scenario"] == name].pivot_table(index="replication", columns="jobs", values="value")
        if x1 not in other_rep.columns:
            continue
        diff = mean_ci((other_rep[x1] - ref_rep[x1]).to_numpy())
        o1 = float(stats_by[name].loc[stats_by[name]["jobs"] == x1, "mean"].iloc[0])
        own = mean_ci((other_rep[x1] - other_rep[x0]).to_numpy()) if x0 in other_rep.columns else (math.nan,) * 3 + (0,)
        own_changes = own[3] >= 2 and (own[1] > 0 or own[2] < 0)
        level = f"{'moves to' if own_changes else 'stays at'} {o1:.2f}"
        if diff[3] >= 2 and (diff[1] > 0 or diff[2] < 0):
            ratio = m1 / o1 if o1 > 0 else math.inf
            compare_text = (f"{ratio:.1f}x fewer" if diff[0] < 0 else f"{1 / ratio:.1f}x more") if np.isfinite(ratio) else (
                "none" if diff[0] < 0 else "more")
            finding += f"; {sentence_name(name)}' nova gate {level} ({compare_text})"
        else:
            finding += f"; {sentence_name(name)}' nova gate {level}, within noise of {sentence_name(reference)}"
    finding = _capitalise(finding)
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 5

RUNWAY_PANELS: tuple[tuple[str, str, float], ...] = (
    ("merged_per_week", "blueprint changes\nmerged per week", 1.0),
    ("held_days_mean", "mean wait for a runway\n(days per merged blueprint change)", 1.0),
    ("abandoned_fraction", "blueprint changes abandoned\n(% of closed)", 100.0),
)


@styled
def plot_runways_sweep(sweep: pd.DataFrame) -> tuple[Figure, Finding]:
    """Figure 5: the runways trade-off as the number of slots varies.

    ``sweep``: columns ``slots`` (0 = no runways, the monolith), ``metric`` (``merged_per_week``,
    ``held_days_mean``, ``abandoned_fraction``, all of blueprint changes), ``replication``, ``value``.
    """
    colour_runways = KNOWN_COLOURS["runways"]
    colour_none = KNOWN_COLOURS["monolith"]
    slots = sorted(s for s in sweep["slots"].unique() if s > 0)
    fig, axes = _new_figure(len(RUNWAY_PANELS), sharex=True)
    values: dict[str, pd.DataFrame] = {}
    for ax, (metric, label, scale) in zip(axes[0], RUNWAY_PANELS):
        table = sweep[sweep["metric"] == metric].pivot_table(index="replication", columns="slots", values="value")
        values[metric] = table
        st = [mean_ci(table[s]) for s in slots]
        mean = np.array([v[0] for v in st]) * scale
        low = np.array([v[1] for v in st]) * scale
        high = np.array([v[2] for v in st]) * scale
        ax.errorbar(slots, mean, yerr=[np.nan_to_num(mean - low), np.nan_to_num(high - mean)], fmt="-o",
                    color=colour_runways, ms=9, elinewidth=2.5, capsize=5, label="runways (mean, 95% CI)")
        if 0 in table.columns:
            m, lo, hi, _ = mean_ci(table[0])
            ax.axhline(m * scale, color=colour_none, ls="--", lw=2, label="no runways: the monolith\n(mean; band: 95% CI)")
            if np.isfinite(lo) and np.isfinite(hi):
                ax.axhspan(lo * scale, hi * scale, color=colour_none, alpha=0.12, lw=0)
        ax.set_xscale("log")
        ax.set_xticks(slots, [str(s) for s in slots])
        ax.minorticks_off()
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    fig.supxlabel("runway slots (features under review at once, log scale)")
    handles, _ = axes[0][0].get_legend_handles_labels()
    axes[0][1].legend(handles=handles, loc="upper right", fontsize=12, framealpha=0.95)

    tp = values["merged_per_week"]
    held = values["held_days_mean"]
    aband = values["abandoned_fraction"]
    s_min, s_max = slots[0], slots[-1]
    h_min, h_max = mean_ci(held[s_min])[0], mean_ci(held[s_max])[0]
    if 0 not in tp.columns:
        finding = (f"Blueprint throughput {mean_ci(tp[s_min])[0]:.1f} merged/week at {s_min} slot(s), "
                   f"{mean_ci(tp[s_max])[0]:.1f} at {s_max}; wait for a runway {_days(h_min)} vs {_days(h_max)}")
        set_title(fig, finding)
        return fig, finding
    effects = {s: e for s, e in zip(slots, paired_effects(tp[[0, *slots]].rename(columns=str), "0"))}
    significant = [s for s in slots if effects[s].significant]

    def plural(s: int) -> str:
        return f"{s} runway slot{'s' if s != 1 else ''}"

    if not significant:
        finding = (f"Runways do not change blueprint throughput beyond noise at any slot count from {s_min} to {s_max} "
                   f"({effects[s_min].ref_value:.1f} merged/week without runways); blueprints wait {_days(h_min)} "
                   f"for a runway with {plural(s_min)}, {_days(h_max)} with {s_max}")
    else:
        s = max(significant, key=lambda s: abs(effects[s].diff))
        e = effects[s]
        h = mean_ci(held[s])[0]
        finding = (f"With {plural(s)}, blueprint throughput {'falls' if e.diff < 0 else 'rises'} {_pct(e.relative)} "
                   f"vs no runways ({e.ref_value:.1f} → {e.value:.1f} merged/week; paired 95% CI {e.low:+.1f} to "
                   f"{e.high:+.1f}) and blueprints wait {_days(h)} for a runway")
        if e.diff < 0:
            harmless = [t for t in slots if all(not (effects[u].significant and effects[u].diff < 0)
                                                for u in slots if u >= t)]
            if harmless and harmless[0] > s:
                finding += (f"; from {harmless[0]} slots on, throughput is within noise of no runways "
                            f"(wait {_days(mean_ci(held[harmless[0]])[0])})")
        ab = paired_effects(aband[[0, s]].rename(columns=str), "0")[0]
        if ab.significant:
            finding += (f"; abandonment {'rises' if ab.diff > 0 else 'falls'} from {ab.ref_value:.1%} "
                        f"to {ab.value:.1%}")
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 6


def interface_usable_days(run: RunResult, area: str = NON_DRIVERS) -> np.ndarray:
    """``usable - arrived`` (days) of original interface changes usable inside the window.

    As ``metrics.change_metrics``: changes with ``touches_interface`` and ``parent < 0`` whose
    ``usable`` time falls in the window; ``area`` selects non-driver (nova) changes, driver
    changes or all.
    """
    a, b = run.window
    c = run.changes
    c = c[c["touches_interface"].astype(bool) & (c["parent"] < 0) & (c["usable"] >= a) & (c["usable"] < b)]
    if area == NON_DRIVERS:
        c = c[~c["area"].isin(run.scenario.driver_areas)]
    elif area == DRIVERS:
        c = c[c["area"].isin(run.scenario.driver_areas)]
    elif area != ALL:
        c = c[c["area"] == area]
    return (c["usable"] - c["arrived"]).to_numpy(dtype=float)


@styled
def plot_interface_usable(comparison: Comparison, names: Sequence[str] | None = None,
                          area: str = NON_DRIVERS) -> tuple[Figure, Finding]:
    """Figure 6: time until an interface-changing feature is usable in every driver (ECDF, medians, CIs)."""
    names = list(names or comparison.names)
    if area not in set(comparison.comparison["area"]):
        area = ALL
    colours = comparison_colours(comparison)
    metric = "interface_usable_median_days"
    samples = {n: interface_usable_days(comparison.run(n), area) for n in names}
    fig = Figure(figsize=SLIDE, layout="constrained")
    axes = fig.subplots(2, 1, squeeze=False, height_ratios=[3, 1.0])
    ax = axes[0][0]
    _ecdf_panel(ax, samples, colours, "days from upload until the feature is usable in every driver (log scale)")
    ax.legend(loc="lower right", frameon=True, framealpha=0.9)
    effects = [e for e in table_effects(comparison.comparison, metric, area) if e.scenario in names]
    _median_panel(axes[1][0], _median_cis(comparison, metric, area), names, colours,
                  f"median days until usable in every driver ± 95% CI; Δ: paired difference from {names[0]}",
                  effects, digits=1)
    ax.set_ylabel("fraction of interface-changing\nchanges usable within x days")
    who = {NON_DRIVERS: "nova (non-driver) changes", DRIVERS: "driver changes", ALL: "changes"}.get(area, area)
    counts = ", ".join(f"{n}: {len(v):,}" for n, v in samples.items())
    ax.set_title(f"{_capitalise(who)} touching the virt driver interface, usable inside the window ({counts})",
                 fontsize=13)
    finding = change_clause(effects, "the median time until a virt-interface change is usable in every driver", "d")
    if not finding:
        finding = "; ".join(f"under {sentence_name(n)}, the median time until a virt-interface change is usable in "
                            f"every driver is {np.median(v):.1f} d" for n, v in samples.items() if len(v))
    finding = _capitalise(finding)
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 7


@styled
def plot_reviewer_load(comparison: Comparison) -> tuple[Figure, Finding]:
    """Figure 7: reviews per reviewer per week, per policy and role (box + strip over reviewers x replications)."""
    colours = comparison_colours(comparison)
    fig, axes = _new_figure()
    ax = axes[0][0]
    rng = np.random.default_rng(0)  # jitter only
    positions, ticks, tick_colours = [], [], []
    x = 0.0
    roles_seen: list[str] = []
    role_means: list[tuple[str, str, float]] = []
    for name in comparison.names:
        rev = comparison.run(name).reviewers
        present = [r for r in ROLE_ORDER if r in set(rev["role"])] + sorted(set(rev["role"]) - set(ROLE_ORDER))
        for role in present:
            y = rev.loc[rev["role"] == role, "reviews_per_week"].to_numpy(dtype=float)
            if not len(y):
                continue
            colour = colours[name]
            box = ax.boxplot([y], positions=[x], widths=0.6, patch_artist=True, showfliers=False,
                             medianprops={"color": "black", "lw": 2.5}, whiskerprops={"color": colour, "lw": 1.8},
                             capprops={"color": colour, "lw": 1.8})
            for patch in box["boxes"]:
                patch.set(facecolor=mpl.colors.to_rgba(colour, 0.25), edgecolor=colour, lw=2,
                          hatch=ROLE_HATCHES.get(role, "xx"))
            ax.scatter(x + rng.uniform(-0.22, 0.22, len(y)), y, s=14, color=colour, alpha=0.45,
                       marker=ROLE_MARKERS.get(role, "D"), lw=0, zorder=3)
            positions.append(x)
            ticks.append(f"{name}\n{ROLE_LABELS.get(role, role)}")
            tick_colours.append(colour)
            if role not in roles_seen:
                roles_seen.append(role)
            if role != "core":
                role_means.append((name, role, float(y.mean())))
            x += 1.0
        x += 0.6
    ax.set_xticks(positions, ticks)
    for tick, colour in zip(ax.get_xticklabels(), tick_colours):
        tick.set_color(colour)
    ax.tick_params(axis="x", labelsize=12)
    ax.set_ylabel("reviews per reviewer per week\n(inside the measurement window)")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.22)
    ax.grid(axis="x", visible=False)
    handles = [Line2D([], [], ls="", marker=ROLE_MARKERS.get(r, "D"), color="0.3", ms=9,
                      label=ROLE_LABELS.get(r, r)) for r in roles_seen]
    handles.append(Patch(facecolor="white", edgecolor="0.3", label="box: quartiles; whiskers: 1.5 IQR"))
    ax.legend(handles=handles, title=f"one point per reviewer per replication ({comparison.replications} replications)",
              loc="upper center", ncols=len(handles))

    effects = table_effects(comparison.comparison, "reviews_per_core_per_week", ALL)
    finding = change_clause(effects, "nova cores' review load", "reviews per core per week", digits=1)
    if not finding:
        rows = _median_cis(comparison, "reviews_per_core_per_week", ALL)
        finding = "; ".join(f"under {sentence_name(n)}, a nova core does {v[0]:.1f} reviews per week"
                            for n, v in rows.items())
    if role_means:
        finding += "; " + ", ".join(f"a {ROLE_LABELS.get(role, role)} does {m:.1f} reviews a week under {sentence_name(name)}"
                                    for name, role, m in role_means)
    finding = _capitalise(finding)
    set_title(fig, finding)
    return fig, finding

"""Figures for a governance body: one drawing function per figure.

Every function takes results that are already computed (a :class:`~sim.runs.compare.Comparison`, or
a small tidy DataFrame of a sweep) and returns ``(figure, finding)``: a matplotlib
:class:`~matplotlib.figure.Figure` whose title is ``finding``, the sentence :mod:`sim.outputs.findings`
computes from the numbers. The data shown comes from :mod:`sim.outputs.prepare`, the look from
:mod:`sim.outputs.style`. Nothing here simulates or words a finding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.outputs import findings
from sim.outputs.findings import ROLE_LABELS, Effect, Finding, capitalise, table_effects
from sim.outputs.prepare import (
    backlog_by_day,
    backlog_per_replication,
    backlog_series,
    by_replication,
    column_cis,
    ecdf_on_grid,
    has_driver_groups,
    interface_cohort,
    interface_usable_days,
    log_grid,
    median_cis,
    point_cis,
    reviewer_loads,
    table_value,
    time_to_merge_days,
)
from sim.outputs.style import (
    BUCKET_COLOURS,
    KNOWN_COLOURS,
    LINESTYLES,
    OKABE_ITO,
    ROLE_HATCHES,
    ROLE_MARKERS,
    comparison_colours,
    new_figure,
    policy_colours,
    set_title,
    styled,
)
from sim.runs.compare import Comparison
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS, TIME_BUCKETS
from sim.runs.stats import mean_ci, t_band
from sim.runs.sweeps import EXCLUSIVE, NO_RUNWAYS, NOVA_RUNWAY_SLOTS, PRACTISED

BUCKET_LABELS: dict[str, str] = {
    "wait_review_days": "waiting for a reviewer (incl. held by the policy)",
    "review_days": "in review",
    "author_days": "author revising",
    "ci_days": "CI (check runs, rechecks)",
    "gate_days": "in the gate",
    "freeze_days": "held by the feature freeze",
}


# ------------------------------------------------------------------------------ panels


def ecdf_panel(ax: Axes, samples: Mapping[str, np.ndarray], colours: Mapping[str, str], xlabel: str,
               labels: Mapping[str, str] | None = None) -> None:
    """Cumulative distributions (share of values <= x, pooled over replications) on a log-x axis,
    with a guide at the median level; ``labels``: legend text per sample (default: its name)."""
    grid = log_grid(list(samples.values()))
    ax.axhline(0.5, color="0.6", lw=1, ls=":", zorder=0)
    for i, (name, values) in enumerate(samples.items()):
        if not len(values):
            continue
        values = np.clip(values, grid[0], None)
        ax.plot(grid, ecdf_on_grid(values, grid), color=colours[name], ls=LINESTYLES[i % len(LINESTYLES)],
                drawstyle="steps-post", label=(labels or {}).get(name, name))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.01)
    ax.set_xlabel(xlabel)


def median_panel(ax: Axes, medians: Mapping[str, tuple[float, float, float]], names: Sequence[str],
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


# ------------------------------------------------------------------------------ figure 1


@styled
def plot_time_to_merge(comparison: Comparison) -> tuple[Figure, Finding]:
    """Figure 1: distributions (ECDF, log days) of time to merge, driver vs non-driver changes."""
    colours = comparison_colours(comparison)
    metric = "time_to_merge_median_days"
    table = comparison.comparison
    if has_driver_groups(table):
        panels = [(DRIVERS, "Driver changes (virt drivers)", True), (NON_DRIVERS, 'Non-driver ("core" nova) changes', False)]
    else:
        panels = [(ALL, "All changes", None)]
    fig, axes = new_figure(len(panels), 2, height_ratios=[3, 1.3])
    for col, (area, label, drivers) in enumerate(panels):
        ax, med_ax = axes[0][col], axes[1][col]
        samples = {run.scenario.scenario.name: time_to_merge_days(run, drivers) for run in comparison.runs}
        labels = {name: f"{name} (n={len(v):,})" for name, v in samples.items()}
        ecdf_panel(ax, samples, colours, "time to merge (days, log scale)", labels)
        ax.set_title(label, fontsize=14)
        ax.legend(loc="lower right", frameon=True, framealpha=0.9, fontsize=11,
                  title=f"merged changes, {comparison.replications} replications", title_fontsize=11)
        median_panel(med_ax, median_cis(table, metric, area), comparison.names, colours,
                     "median (days) ± 95% CI" + (f"\nΔ: change vs {comparison.names[0]} [95% CI]; bold: beyond noise"
                                                 if len(comparison.names) > 1 else ""),
                     table_effects(table, metric, area))
        if col:
            ax.sharey(axes[0][0])
            ax.tick_params(labelleft=False)
    axes[0][0].set_ylabel("share of merged\nchanges merged\nwithin x days")
    finding = findings.time_to_merge_finding(table, comparison.names, [area for area, _, _ in panels], metric)
    finding = findings.with_capacity(findings.numbers_on_axes(finding), table, comparison.names)
    finding = findings.with_note(finding, findings.PAIRED_NOTE.format(n=comparison.replications))
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 2


@styled
def plot_backlog(comparison: Comparison) -> tuple[Figure, Finding]:
    """Figure 2: open review backlog over the release cycle, mean with a 95 % CI band per policy."""
    colours = comparison_colours(comparison)
    series = backlog_series(comparison)
    fig, axes = new_figure()
    ax = axes[0][0]
    for i, name in enumerate(comparison.names):
        days, open_changes = backlog_by_day(series, name)
        mean, low, high = t_band(open_changes)
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
    finding = findings.backlog_finding(backlog_per_replication(series, comparison.names))
    finding = findings.with_capacity(finding, comparison.comparison, comparison.names)
    finding = findings.with_note(finding, findings.PAIRED_NOTE.format(n=comparison.replications))
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 3


@styled
def plot_time_buckets(comparison: Comparison, area: str = ALL) -> tuple[Figure, Finding]:
    """Figure 3: where the time to merge goes, stacked mean days per merged change, CI of the total."""
    table = comparison.comparison
    names = comparison.names
    colours = comparison_colours(comparison)

    def values(metric: str, column: str = "mean") -> np.ndarray:
        return np.array([table_value(table, n, metric, area, column) for n in names])

    fig, axes = new_figure()
    ax = axes[0][0]
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for column, metric in TIME_BUCKETS.items():
        heights = np.nan_to_num(values(metric))
        ax.bar(x, heights, 0.62, bottom=bottom, color=BUCKET_COLOURS[column], label=BUCKET_LABELS[column],
               edgecolor="white", linewidth=0.8)
        bottom += heights
    total = values("time_to_merge_mean_days")
    low = values("time_to_merge_mean_days", "ci_low")
    high = values("time_to_merge_mean_days", "ci_high")
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
    ax.set_xlabel("policy (error bar: 95% confidence interval of the mean time to merge)")
    ax.set_ylim(0, np.nanmax(np.append(high, bottom)) * 1.15 if len(names) else 1)
    ax.grid(axis="x", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), title="time spent")
    finding = findings.time_buckets_finding(table, names, area)
    finding = findings.with_capacity(finding, table, names)
    finding = findings.with_note(finding, findings.PAIRED_NOTE.format(n=comparison.replications))
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 4


@styled
def plot_gate_sweep(sweep: pd.DataFrame, theory: pd.DataFrame, reference: str | None = None,
                    nova_2014: tuple[float, float] | None = None) -> tuple[Figure, Finding]:
    """Figure 4: false gate rejections per merged change as the gating jobs grow, with the theory curve.

    ``nova_2014``: (gating jobs, simulated false rejections per merged non-driver change) of Nova's
    2014 set-up, marked with a star when given.
    ``sweep``: one row per scenario, sweep point and replication: columns ``scenario`` (policy),
    ``jobs`` (x: gating jobs a non-driver change runs in the reference's gate at this point),
    ``replication``, ``value`` (false rejections per merged non-driver change).
    ``theory``: columns ``scenario``, ``jobs`` (x), ``expected`` (q / (1 - q)), densely in x.
    """
    names = list(dict.fromkeys(sweep["scenario"]))
    reference = reference or names[0]
    colours = policy_colours(names)
    fig, axes = new_figure()
    ax = axes[0][0]
    stats_by: dict[str, pd.DataFrame] = {}
    for i, name in enumerate(names):
        st = point_cis(sweep[sweep["scenario"] == name], "jobs")
        stats_by[name] = st
        ax.errorbar(st["jobs"], st["mean"], yerr=[st["mean"] - st["low"], st["high"] - st["mean"]], fmt="o",
                    color=colours[name], ms=10, elinewidth=2.5, capsize=6, label=f"{name}: simulation (mean, 95% CI)",
                    zorder=5)
        th = theory[theory["scenario"] == name].sort_values("jobs")
        if not th.empty:
            ax.plot(th["jobs"], th["expected"], color=colours[name], ls=LINESTYLES[1 + i % (len(LINESTYLES) - 1)],
                    lw=2, label=f"{name}: theory (false rejections expected from each job's flakiness)")
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
    if nova_2014 is not None and all(np.isfinite(nova_2014)):
        ax.plot([nova_2014[0]], [nova_2014[1]], ls="", marker="*", ms=22, color=colours[reference], mec="white",
                zorder=6, label=f"Nova's 2014 set-up ({nova_2014[0]:.0f} jobs, third-party CI not gating)")
        ax.annotate("Nova 2014", nova_2014, xytext=(0, -22), textcoords="offset points", ha="center", va="top",
                    fontsize=13, fontweight="bold", color=colours[reference])
    ax.set_xlabel("gating jobs a non-driver nova change runs in the monolith's gate")
    ax.set_ylabel("false rejections per merged\nnon-driver nova change")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=11)
    finding = findings.gate_finding(sweep, theory, reference, nova_2014)
    finding = findings.with_note(finding, findings.PAIRED_NOTE.format(n=int(sweep["replication"].nunique())))
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 5

RUNWAY_PANELS: tuple[tuple[str, str, float], ...] = (
    ("merged_per_week", "blueprint changes\nmerged per week", 1.0),
    ("time_to_merge_median_days", "median time to merge of\nblueprint changes (days, log scale)", 1.0),
    ("abandoned_fraction", "blueprint changes abandoned\n(% of closed)", 100.0),
)
LOG_Y_METRICS: frozenset[str] = frozenset({"time_to_merge_median_days"})  # spans 10 to 150+ days
RUNWAY_STYLES: dict[str, tuple[str, str]] = {  # reading -> (colour, line style)
    PRACTISED: (KNOWN_COLOURS["runways"], "-"),
    EXCLUSIVE: (OKABE_ITO["blue"], "--"),
}


@styled
def plot_runways_sweep(sweep: pd.DataFrame) -> tuple[Figure, Finding]:
    """Figure 5: the runways trade-off as the number of slots varies, in each reading of runways.

    ``sweep``: columns ``reading`` (``none`` for the monolith at slots 0, then each reading),
    ``slots``, ``metric`` (:data:`RUNWAY_PANELS`' metrics, of blueprint changes), ``replication``, ``value``.
    """
    colour_none = KNOWN_COLOURS["monolith"]
    readings = [r for r in RUNWAY_STYLES if r in set(sweep["reading"])]
    slots = sorted(s for s in sweep["slots"].unique() if s > 0)
    fig, axes = new_figure(len(RUNWAY_PANELS), sharex=True)
    tables: dict[str, dict[str, pd.DataFrame]] = {r: {} for r in readings}
    for ax, (metric, label, scale) in zip(axes[0], RUNWAY_PANELS):
        rows = sweep[sweep["metric"] == metric]
        for reading in readings:
            table = by_replication(rows[rows["reading"].isin([NO_RUNWAYS, reading])], "slots")
            tables[reading][metric] = table
            colour, style = RUNWAY_STYLES[reading]
            mean, low, high = (v * scale for v in column_cis(table, slots))
            ax.errorbar(slots, mean, yerr=[np.nan_to_num(mean - low), np.nan_to_num(high - mean)], fmt="o",
                        ls=style, color=colour, ms=9, elinewidth=2.5, capsize=5, label=f"runways, {reading}")
        none = rows[rows["reading"] == NO_RUNWAYS]
        if not none.empty:
            m, lo, hi, _ = mean_ci(none.sort_values("replication")["value"].to_numpy())
            # drawn above the runway series, labelled with its value: it must stay visible where they overlap
            ax.axhline(m * scale, color=colour_none, ls="--", lw=2, zorder=4,
                       label="no runways: the monolith\n(mean; band: 95% CI)")
            if np.isfinite(lo) and np.isfinite(hi):
                ax.axhspan(lo * scale, hi * scale, color=colour_none, alpha=0.12, lw=0)
            ax.annotate(f"no runways: {m * scale:.{1 if scale == 1 else 0}f}", (1.0, m * scale),
                        xycoords=("axes fraction", "data"), xytext=(-4, 5), textcoords="offset points",
                        ha="right", va="bottom", fontsize=12, fontweight="bold", color=colour_none, zorder=7,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
        if NOVA_RUNWAY_SLOTS in slots:
            ax.axvline(NOVA_RUNWAY_SLOTS, color="0.6", lw=1.5, zorder=0)
        ax.set_xscale("log")
        ax.set_xticks(slots, [str(s) for s in slots])
        ax.minorticks_off()
        ax.set_ylabel(label)
        if metric in LOG_Y_METRICS:
            ax.set_yscale("log")
            shown = rows.groupby(["reading", "slots"])["value"].mean() * scale
            if (shown > 0).any():  # lower CI bounds at or below 0 would stretch a log axis to nothing
                ax.set_ylim(bottom=0.5 * float(shown[shown > 0].min()))
        else:
            ax.set_ylim(bottom=0)
        if scale == 100.0:  # a share: a wide CI must not stretch the axis past 100 %
            ax.set_ylim(top=min(ax.get_ylim()[1], 105.0))
        ax.set_xlabel("runway slots (log scale)")
    axes[0][1].set_xlabel(f"runway slots: series under focused review at once\n(log scale; grey line: Nova's "
                          f"{NOVA_RUNWAY_SLOTS})")
    handles, _ = axes[0][0].get_legend_handles_labels()
    # abandonment's upper right is empty: the exclusive hold's share is high only at few slots
    axes[0][-1].legend(handles=handles, loc="upper right", fontsize=12, framealpha=0.95)
    finding = findings.runways_finding(tables, slots, NOVA_RUNWAY_SLOTS)
    finding = findings.with_note(finding, findings.PAIRED_NOTE.format(n=int(sweep["replication"].nunique())))
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 6


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
    cohorts = {n: interface_cohort(comparison.run(n), area) for n in names}
    fig, axes = new_figure(1, 2, height_ratios=[3, 1.0])
    ax = axes[0][0]
    labels = {n: f"{n}: {len(v):,} usable inside the window" for n, v in samples.items()}
    ecdf_panel(ax, samples, colours, "days from upload until the feature is usable in every driver (log scale)", labels)
    ax.legend(loc="lower right", frameon=True, framealpha=0.9, title=f"{comparison.replications} replications")
    effects = [e for e in table_effects(comparison.comparison, metric, area) if e.scenario in names]
    median_panel(axes[1][0], median_cis(comparison.comparison, metric, area), names, colours,
                 f"median days until usable in every driver ± 95% CI; Δ: difference from {names[0]}",
                 effects, digits=1)
    ax.set_ylabel("share of interface-changing\nchanges usable within x days")
    who = {NON_DRIVERS: "nova (non-driver) changes", DRIVERS: "driver changes", ALL: "changes"}.get(area, area)
    never = ", ".join(f"{n}: {missing:,} of {total:,}" for n, (total, missing) in cohorts.items())
    ax.set_title(f"{capitalise(who)} to the virt driver interface uploaded inside the window and not usable in "
                 f"every driver by its end (left out of the curves): {never}", fontsize=12, wrap=True)
    finding = findings.numbers_on_axes(findings.interface_usable_finding(effects, samples, cohorts))
    finding = findings.with_note(finding, findings.PAIRED_NOTE.format(n=comparison.replications))
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 7

MEAN_MARKER: dict[str, object] = {"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black",
                                  "markersize": 9, "zorder": 6}


@styled
def plot_reviewer_load(comparison: Comparison) -> tuple[Figure, Finding]:
    """Figure 7: reviews per reviewer per week, per policy and role (box + strip over reviewers x replications)."""
    colours = comparison_colours(comparison)
    fig, axes = new_figure()
    ax = axes[0][0]
    rng = np.random.default_rng(0)  # jitter only
    positions, ticks, tick_colours = [], [], []
    x = 0.0
    roles_seen: list[str] = []
    role_means: list[tuple[str, str, float]] = []
    for name, loads in reviewer_loads(comparison).items():
        colour = colours[name]
        for role, y in loads:
            box = ax.boxplot([y], positions=[x], widths=0.6, patch_artist=True, showfliers=False, showmeans=True,
                             medianprops={"color": "black", "lw": 2.5}, whiskerprops={"color": colour, "lw": 1.8},
                             capprops={"color": colour, "lw": 1.8}, meanprops=MEAN_MARKER)
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
    handles.append(Line2D([], [], ls="", label="mean (the title's numbers)", **MEAN_MARKER))
    handles.append(Patch(facecolor="white", edgecolor="0.3",
                         label="box: middle half of reviewers, line: median;\nwhiskers: up to 1.5 box heights"))
    ax.legend(handles=handles, title=f"one point per reviewer per replication ({comparison.replications} replications)",
              loc="upper center", ncols=len(handles), fontsize=11)
    finding = findings.reviewer_load_finding(comparison.comparison, role_means)
    finding = findings.with_capacity(finding, comparison.comparison, comparison.names)
    finding = findings.with_note(finding, findings.PAIRED_NOTE.format(n=comparison.replications))
    set_title(fig, finding)
    return fig, finding


# ------------------------------------------------------------------------------ figure 8


STAFFING_KINDS: tuple[tuple[str, str], ...] = (  # (label, colour): the three staffings of one policy
    ("time from nova's cores (equal capacity)", KNOWN_COLOURS["split"]),
    ("new people (added capacity)", KNOWN_COLOURS["runways"]),
    ("the same added capacity to nova's cores", KNOWN_COLOURS["monolith"]),
)


@styled
def plot_staffing(comparison: Comparison, groups: Sequence[tuple[str, str, str]]) -> tuple[Figure, Finding]:
    """Figure 8: who staffs a policy's new roles. For each ``(equal, added, cores_plus)`` group, the paired
    difference in median time to merge (days) from the reference, driver and non-driver changes."""
    table = comparison.comparison
    ref = comparison.names[0]
    caps = findings.capacities(table, comparison.names)
    panels = [(DRIVERS, "Driver changes (virt drivers)"), (NON_DRIVERS, 'Non-driver ("core" nova) changes')]
    fig, axes = new_figure(len(panels), 1)
    rows: list[tuple[str, str, str]] = []  # (scenario, label, colour), top to bottom
    for group in groups:
        for name, (kind, colour) in zip(group, STAFFING_KINDS):
            extra = caps[name] - caps[ref]
            label = f"{findings.sentence_name(group[0])}: {kind}" if name != group[2] else kind
            rows.append((name, f"{label}\n{caps[name]:.1f} reviews/day ({extra:+.1f})", colour))
    ys = np.arange(len(rows))[::-1]
    for col, (area, title) in enumerate(panels):
        ax = axes[0][col]
        effects = {e.scenario: e for e in table_effects(table, "time_to_merge_median_days", area)}
        for y, (name, _, colour) in zip(ys, rows):
            e = effects.get(name)
            if e is None or not np.isfinite(e.diff):
                continue
            ax.errorbar([e.diff], [y], xerr=[[e.diff - e.low], [e.high - e.diff]], fmt="o", color=colour, ms=10,
                        elinewidth=3, capsize=5)
            ax.annotate(f"{e.diff:+.1f} [{e.low:+.1f}, {e.high:+.1f}]", (e.high, y), xytext=(8, 0),
                        textcoords="offset points", va="center", fontsize=11, color=colour,
                        fontweight="bold" if e.significant else "normal")
        ax.axvline(0.0, color="0.4", lw=1.2, ls="--")
        for boundary in range(len(groups) - 1):
            ax.axhline(ys[3 * (boundary + 1)] + 0.5, color="0.8", lw=1)
        ax.set_yticks(ys, [label for _, label, _ in rows] if col == 0 else [""] * len(rows), fontsize=11)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.margins(x=0.35)
        ax.grid(axis="y", visible=False)
        ax.set_title(title, fontsize=14)
        ax.set_xlabel(f"change vs {findings.sentence_name(ref)} (days)\n[95% CI]; bold: beyond noise (CI excludes 0)", fontsize=12)
    finding = findings.numbers_on_axes(findings.staffing_finding(table, groups))
    finding = findings.with_note(finding, findings.PAIRED_NOTE.format(n=comparison.replications))
    set_title(fig, finding)
    return fig, finding

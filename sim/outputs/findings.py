"""The findings: one English sentence per figure, computed from the numbers (it becomes the title).

A difference between policies is stated as a change only when the 95 % confidence interval of its
paired (common-random-numbers) difference excludes zero (:func:`excludes_zero`, the one test of
"beyond noise"); otherwise the sentence says the policies do not differ beyond noise. An
:class:`Effect` is a scenario's paired difference from the reference. Nothing here draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.outputs.prepare import by_replication, median_cis, point_cis, table_value
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS, TIME_BUCKETS
from sim.runs.stats import mean_ci

Finding = str

# How a policy is named inside a sentence.
SENTENCE_NAMES: dict[str, str] = {
    "monolith": "the monolith",
    "runways": "runways",
    "lieutenants": "lieutenants",
    "split": "split repos",
    "sponsorship": "sponsorship",
    "lieutenants_runways": "lieutenants plus runways",
    "lieutenants_added": "lieutenants (added people)",
    "split_added": "split repos (added people)",
}
ROLE_LABELS: dict[str, str] = {"core": "nova core", "lieutenant": "lieutenant", "driver-core": "driver core"}
# Where the time goes (figure 3), as a sentence names it.
BUCKET_SHORT: dict[str, str] = {
    "wait_review_days": "waiting for a reviewer",
    "review_days": "being reviewed",
    "author_days": "authors revising",
    "ci_days": "CI",
    "gate_days": "the gate",
    "freeze_days": "the feature freeze",
}
# Figure 1: the subject of each group's clause, and the group's name when no policy changes it.
TTM_SUBJECTS: dict[str, str] = {
    DRIVERS: "driver changes' median time to merge",
    NON_DRIVERS: "non-driver changes' median time to merge",
    ALL: "the median time to merge",
}
TTM_GROUP_NAMES: dict[str, str] = {DRIVERS: "driver changes", NON_DRIVERS: "non-driver"}


# ------------------------------------------------------------------------------ words and numbers


def sentence_name(name: str) -> str:
    """A scenario's name inside a sentence ("split" -> "split repos"); unknown names as they are."""
    return SENTENCE_NAMES.get(name, name)


def capitalise(text: str) -> str:
    """``text`` with its first letter in upper case (the rest untouched)."""
    return text[:1].upper() + text[1:]


def num(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, "n/a" when undefined."""
    return f"{value:.{digits}f}" if np.isfinite(value) else "n/a"


def days(value: float) -> str:
    """Days for a sentence: one decimal below 10, none above."""
    return f"{value:.0f} d" if np.isfinite(value) and abs(value) >= 10 else f"{value:.1f} d"


def pct(fraction: float) -> str:
    """The size of a fraction as a percentage: no decimals from 1 %, one below."""
    x = abs(fraction) * 100
    return f"{x:.0f}%" if x >= 1 else f"{x:.1f}%"


# ------------------------------------------------------------------------------ effects


def excludes_zero(low: float, high: float, n: int) -> bool:
    """A difference is beyond noise: its 95 % CI (``low``, ``high``, from ``n`` replications) excludes 0.

    Needs at least two replications and a finite interval. The arguments are the tail of
    :func:`~sim.runs.stats.mean_ci`'s result, so ``excludes_zero(*mean_ci(diffs)[1:])`` reads it.
    """
    return n >= 2 and bool(np.isfinite(low)) and bool(np.isfinite(high)) and (low > 0 or high < 0)


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
        """The paired 95 % CI excludes zero (:func:`excludes_zero`)."""
        return excludes_zero(self.low, self.high, self.n)

    @property
    def relative(self) -> float:
        """The difference as a fraction of the reference's value; NaN when that is 0 or undefined."""
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


def strongest(effects: Sequence[Effect]) -> Effect | None:
    """The effect beyond noise with the largest relative (else absolute) size, if any."""
    significant = [e for e in effects if e.significant]
    if not significant:
        return None
    return max(significant, key=lambda e: abs(e.relative) if np.isfinite(e.relative) else abs(e.diff))


def amount(e: Effect, digits: int, unit: str) -> str:
    """How much a value moved: a percentage, an n-fold factor beyond doubling, or an absolute change."""
    if not np.isfinite(e.relative):
        return f"by {abs(e.diff):.{digits}f}{unit}"
    if e.relative >= 1.0:
        return f"{1.0 + e.relative:.1f}-fold"
    return pct(e.relative)


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
                    f"({num(e.ref_value, digits)} vs {num(e.value, digits)}{u}; "
                    f"paired 95% CI {e.low:+.{digits}f} to {e.high:+.{digits}f})")
        values = [e.value for e in effects]
        return (f"no policy changes {subject} beyond noise ({num(effects[0].ref_value, digits)}{u} under "
                f"{sentence_name(effects[0].reference)}; {num(min(values), digits)} to {num(max(values), digits)}{u} "
                f"under the others)")
    verb = "falls" if e.diff < 0 else "rises"
    return (f"under {sentence_name(e.scenario)}, {subject} {verb} {amount(e, digits, u)} "
            f"({num(e.ref_value, digits)} → {num(e.value, digits)}{u}; "
            f"paired 95% CI {e.low:+.{digits}f} to {e.high:+.{digits}f})")


# ------------------------------------------------------------------------------ which comparison


EQUAL_CAPACITY_TOLERANCE = 0.02  # total review capacities within 2 % of the reference's count as equal
CAPACITY_METRIC = "review_capacity_per_day"


def capacities(table: pd.DataFrame, names: Sequence[str]) -> dict[str, float]:
    """Each scenario's total review capacity (reviews/day) from a comparison table."""
    return {n: table_value(table, n, CAPACITY_METRIC, ALL) for n in names}


def staffing_clause(table: pd.DataFrame, names: Sequence[str]) -> str:
    """Which comparison a figure shows: at equal total review capacity (every scenario within 2 % of
    the reference's), or which scenarios have more or less capacity than the reference."""
    caps = capacities(table, names)
    ref = caps[names[0]]
    if not np.isfinite(ref):
        return ""
    unequal = [n for n in names[1:] if not abs(caps[n] - ref) <= EQUAL_CAPACITY_TOLERANCE * ref]
    if not unequal:
        return f"At equal review capacity ({ref:.1f} reviews/day)"
    return "Unequal review capacity (" + ", ".join(
        f"{sentence_name(n)} {caps[n] - ref:+.1f}" for n in unequal) + f" reviews/day vs {ref:.1f})"


def with_staffing(finding: Finding, table: pd.DataFrame, names: Sequence[str]) -> Finding:
    """``finding`` prefixed by the comparison it rests on (:func:`staffing_clause`)."""
    clause = staffing_clause(table, names)
    return f"{clause}: {finding[0].lower() + finding[1:]}" if clause and finding else finding


# ------------------------------------------------------------------------------ one finding per figure


def time_to_merge_finding(table: pd.DataFrame, names: Sequence[str], areas: Sequence[str],
                          metric: str = "time_to_merge_median_days") -> Finding:
    """Figure 1: the median time to merge (days) of each group in ``areas`` (the driver and non-driver
    groups, or all changes), from the comparison ``table`` of ``names`` (the first is the reference)."""
    finding = "; ".join(c for c in (change_clause(table_effects(table, metric, area), TTM_SUBJECTS[area], "d")
                                    for area in areas) if c)
    if not finding:
        parts = []
        for area in areas:
            med = median_cis(table, metric, area).get(names[0], (math.nan,) * 3)[0]
            parts.append(f"{num(med, 1)} d" + ("" if area == ALL else f" for {TTM_GROUP_NAMES[area]}"))
        finding = f"under {sentence_name(names[0])}, the median time to merge is " + ", ".join(parts)
    return capitalise(finding)


def backlog_finding(per_replication: pd.DataFrame) -> Finding:
    """Figure 2: the time-average open backlog (open changes), from each replication's average
    (one column per scenario, the reference first)."""
    effects = paired_effects(per_replication, per_replication.columns[0])
    finding = change_clause(effects, "the open review backlog", "open changes on average over the cycle", digits=0)
    if not finding:
        finding = (f"under {sentence_name(per_replication.columns[0])}, the open review backlog averages "
                   f"{per_replication.iloc[:, 0].mean():.0f} open changes over the cycle")
    return capitalise(finding)


def time_buckets_finding(table: pd.DataFrame, names: Sequence[str], area: str = ALL) -> Finding:
    """Figure 3: the largest part of the reference's time to merge (mean days per merged change) and
    the strongest change in the mean time to merge, with the part that moved most."""
    ref = names[0]
    parts = {c: table_value(table, ref, m, area) for c, m in TIME_BUCKETS.items()}
    ref_total = sum(v for v in parts.values() if np.isfinite(v))
    top = max(parts, key=lambda c: parts[c] if np.isfinite(parts[c]) else -1.0)
    where = "" if area == ALL else f" ({area})"
    first = (f"{capitalise(BUCKET_SHORT[top])} is the largest part of the time to merge under {sentence_name(ref)} "
             f"({pct(parts[top] / ref_total) if ref_total else 'n/a'} of {ref_total:.1f} d per merged change{where})")
    effects = table_effects(table, "time_to_merge_mean_days", area)
    clause = change_clause(effects, "the mean time to merge", "d")
    finding = first + ("; " + clause if clause else "")
    e = strongest(effects)
    if e is not None:
        diffs = {c: table_value(table, e.scenario, m, area) - table_value(table, ref, m, area)
                 for c, m in TIME_BUCKETS.items()}
        same_way = {c: d for c, d in diffs.items() if np.isfinite(d) and np.sign(d) == np.sign(e.diff)}
        if same_way:
            c = max(same_way, key=lambda c: abs(same_way[c]))
            finding += f", mostly {BUCKET_SHORT[c]} ({same_way[c]:+.1f} d)"
    return finding


def gate_finding(sweep: pd.DataFrame, theory: pd.DataFrame, reference: str) -> Finding:
    """Figure 4: how false rejections per merged non-driver change grow from the fewest to the most
    gating jobs in the ``reference``'s gate, and where every other scenario's nova gate stays.

    ``sweep`` and ``theory`` as :func:`sim.outputs.plots.plot_gate_sweep` takes them.
    """
    names = list(dict.fromkeys(sweep["scenario"]))
    ref = point_cis(sweep[sweep["scenario"] == reference], "jobs")
    x0, x1 = ref["jobs"].min(), ref["jobs"].max()
    ref_rep = by_replication(sweep[sweep["scenario"] == reference], "jobs")
    grow = mean_ci((ref_rep[x1] - ref_rep[x0]).to_numpy())
    m0, m1 = float(ref.loc[ref["jobs"] == x0, "mean"].iloc[0]), float(ref.loc[ref["jobs"] == x1, "mean"].iloc[0])
    if excludes_zero(*grow[1:]):
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
        other = sweep[sweep["scenario"] == name]
        other_rep = by_replication(other, "jobs")
        if x1 not in other_rep.columns:
            continue
        diff = mean_ci((other_rep[x1] - ref_rep[x1]).to_numpy())
        stats = point_cis(other, "jobs")
        o1 = float(stats.loc[stats["jobs"] == x1, "mean"].iloc[0])
        own_changes = x0 in other_rep.columns and excludes_zero(*mean_ci((other_rep[x1] - other_rep[x0]).to_numpy())[1:])
        level = f"{'moves to' if own_changes else 'stays at'} {o1:.2f}"
        if excludes_zero(*diff[1:]):
            ratio = m1 / o1 if o1 > 0 else math.inf
            compare_text = (f"{ratio:.1f}x fewer" if diff[0] < 0 else f"{1 / ratio:.1f}x more") if np.isfinite(ratio) else (
                "none" if diff[0] < 0 else "more")
            finding += f"; {sentence_name(name)}' nova gate {level} ({compare_text})"
        else:
            finding += f"; {sentence_name(name)}' nova gate {level}, within noise of {sentence_name(reference)}"
    return capitalise(finding)


def runways_finding(tables: Mapping[str, Mapping[str, pd.DataFrame]], slots: Sequence[int], nova_slots: int) -> Finding:
    """Figure 5: blueprint throughput and abandonment with Nova's number of runways, in each reading.

    ``tables``: per reading, per metric (``merged_per_week``, ``abandoned_fraction``...), one row per
    replication and one column per slot count, 0 for no runways (the monolith); ``slots``: the
    runway slot counts (> 0), ascending; ``nova_slots``: the count the sentence is about (if swept).
    """
    s = nova_slots if nova_slots in slots else slots[0]
    clauses = []
    for reading, by_metric in tables.items():
        tp, aband = by_metric["merged_per_week"], by_metric["abandoned_fraction"]
        if 0 not in tp.columns:
            clauses.append(f"{reading}: {mean_ci(tp[s])[0]:.1f} blueprint changes merged/week")
            continue
        e = paired_effects(tp[[0, s]].rename(columns=str), "0")[0]
        clause = (f"{reading}, blueprint throughput {'falls ' + pct(e.relative) if e.diff < 0 else 'rises ' + pct(e.relative)}"
                  f" ({e.ref_value:.1f} → {e.value:.1f} merged/week)" if e.significant else
                  f"{reading}, blueprint throughput stays within noise of no runways ({e.ref_value:.1f} vs "
                  f"{e.value:.1f} merged/week)")
        ab = paired_effects(aband[[0, s]].rename(columns=str), "0")[0]
        if ab.significant:
            clause += f" and abandonment {'rises' if ab.diff > 0 else 'falls'} from {ab.ref_value:.1%} to {ab.value:.1%}"
        clauses.append(clause)
    return f"With {s} runway slot{'s' if s != 1 else ''}" + (" (Nova's choice)" if s == nova_slots else "") + \
        ": " + "; ".join(clauses)


def interface_usable_finding(effects: Sequence[Effect], samples: Mapping[str, np.ndarray]) -> Finding:
    """Figure 6: the median days until a virt-interface change is usable in every driver: the
    strongest paired effect, else each scenario's pooled median of ``samples`` (days)."""
    finding = change_clause(effects, "the median time until a virt-interface change is usable in every driver", "d")
    if not finding:
        finding = "; ".join(f"under {sentence_name(n)}, the median time until a virt-interface change is usable in "
                            f"every driver is {np.median(v):.1f} d" for n, v in samples.items() if len(v))
    return capitalise(finding)


def reviewer_load_finding(table: pd.DataFrame, role_means: Sequence[tuple[str, str, float]]) -> Finding:
    """Figure 7: nova cores' review load (reviews per core per week) and the mean load of every other
    role, ``role_means``: (scenario, role, reviews per reviewer per week)."""
    effects = table_effects(table, "reviews_per_core_per_week", ALL)
    finding = change_clause(effects, "nova cores' review load", "reviews per core per week", digits=1)
    if not finding:
        rows = median_cis(table, "reviews_per_core_per_week", ALL)
        finding = "; ".join(f"under {sentence_name(n)}, a nova core does {v[0]:.1f} reviews per week"
                            for n, v in rows.items())
    if role_means:
        finding += "; " + ", ".join(f"a {ROLE_LABELS.get(role, role)} does {m:.1f} reviews a week under {sentence_name(name)}"
                                    for name, role, m in role_means)
    return capitalise(finding)


def staffing_finding(table: pd.DataFrame, groups: Sequence[tuple[str, str, str]], area: str = DRIVERS,
                     metric: str = "time_to_merge_median_days") -> Finding:
    """Figure 8: for each policy that adds roles, ``(equal, added, cores_plus)`` scenario names: its
    effect on ``area``'s median time to merge at equal capacity, with added people, and when nova's
    cores get the same added capacity instead (paired differences from the reference, days)."""
    effects = {e.scenario: e for e in table_effects(table, metric, area)}
    caps = capacities(table, [n for group in groups for n in group])
    ref = table_value(table, table["reference"].iloc[0], CAPACITY_METRIC, ALL) if not table.empty else math.nan

    def effect(name: str) -> str:
        e = effects.get(name)
        if e is None or not np.isfinite(e.diff):
            return "n/a"
        return f"{e.diff:+.1f} d" if e.significant else "within noise"

    clauses = []
    for equal, added, cores in groups:
        extra = caps[added] - ref
        clauses.append(f"{sentence_name(equal)} {effect(equal)} at equal capacity, {effect(added)} with "
                       f"{extra:.0f} reviews/day added, {effect(cores)} as core time")
    subject = TTM_SUBJECTS[area]
    return capitalise(f"{subject} vs {sentence_name(str(table['reference'].iloc[0]))}: " + "; ".join(clauses))

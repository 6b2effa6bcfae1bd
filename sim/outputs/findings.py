"""The findings: one finding per figure, computed from the numbers.

A :class:`Finding` is a plain-words headline (the figure's title: every policy whose effect is
beyond noise is named, no statistics) carrying its ``details`` (the numbers and confidence
intervals behind it: the figure's caption line and the README). A difference between policies is
stated as a change only when the 95 % confidence interval of its paired difference excludes zero
(:func:`excludes_zero`, the one test of "beyond noise"; "paired": replication r of every policy
sees the same random draws, so the difference is taken replication by replication); otherwise the
finding says the policies do not differ beyond noise. An :class:`Effect` is a scenario's paired
difference from the reference. Nothing here draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd

from sim.outputs.prepare import by_replication, median_cis, point_cis, table_value
from sim.runs.ensemble import AGREEMENT
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS, TIME_BUCKETS
from sim.runs.stats import mean_ci


class Finding(str):
    """A figure's finding: the string is the headline (plain words, the title); ``details`` holds the
    statistics behind it (means, 95 % CIs) for the README; ``caption`` the part of them the figure prints
    under its axes (all of them unless the axes already show the numbers: :func:`numbers_on_axes`).

    A ``str`` so that code printing or comparing findings keeps working; slicing or concatenating
    gives a plain ``str`` (the details are dropped), so build the headline first, then wrap it.
    """

    details: str
    caption: str  # what the figure prints under its axes: the details it does not already show

    def __new__(cls, headline: str, details: str = "", caption: str | None = None) -> Self:
        obj = super().__new__(cls, headline)
        obj.details = details
        obj.caption = details if caption is None else caption
        return obj

    @property
    def headline(self) -> str:
        """The headline as a plain string."""
        return str.__str__(self)


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
TTM_GROUPS: dict[str, str] = {DRIVERS: "Driver changes", NON_DRIVERS: "non-driver changes", ALL: "changes"}


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
    # The parameter ensemble (sim.runs.ensemble), when it ran: share of draws with the sign of
    # ``diff`` (NaN: no ensemble) and the drawn parameter the effect depends on most.
    agree: float = math.nan
    depends_on: str = ""

    @property
    def robust(self) -> bool:
        """Its sign holds over the ensemble (at least AGREEMENT of draws), or no ensemble ran."""
        return not np.isfinite(self.agree) or self.agree >= AGREEMENT

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
               float(r["diff_ci_high"]), int(r["diff_n"]), *_ensemble(r))
        for _, r in rows.iterrows() if r["scenario"] != reference
    ]


def _ensemble(row: pd.Series) -> tuple[float, str]:
    """(share of ensemble draws agreeing with the row's sign, what the sign depends on) of a
    comparison row annotated by :func:`sim.outputs.robustness.annotate`; (NaN, "") if not."""
    negative, positive = row.get("ensemble_share_negative", math.nan), row.get("ensemble_share_positive", math.nan)
    diff = float(row["diff"])
    if not (np.isfinite(diff) and np.isfinite(negative) and np.isfinite(positive)) or diff == 0:
        return math.nan, ""
    return float(positive if diff > 0 else negative), str(row.get("ensemble_depends_on", "") or "")


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
    verb = ("falls" if e.diff < 0 else "rises") if e.robust else "changes (sign not robust)"
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


# ------------------------------------------------------------------------------ headlines and details


def signed_pct(e: Effect) -> str:
    """An effect's size for a headline: "+60%", "-29%", "8.0x" beyond doubling, else the signed difference."""
    if not np.isfinite(e.relative):
        return f"{e.diff:+.1f}"
    if e.relative >= 1.0:
        return f"{1.0 + e.relative:.1f}x"
    return f"{e.relative:+.0%}" if abs(e.relative) >= 0.01 else f"{e.relative:+.1%}"


def join_words(items: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def parameter_words(key: str) -> str:
    """A parameter key as words for a title: "policy.split.breakage_scale" -> "breakage scale"."""
    return key.rsplit(".", 1)[-1].replace("_", " ") if key else "the parameter draws (no single parameter)"


def beyond_noise(effects: Sequence[Effect]) -> list[Effect]:
    """The effects beyond noise, largest relative (else absolute) size first."""
    return sorted((e for e in effects if e.significant),
                  key=lambda e: -(abs(e.relative) if np.isfinite(e.relative) else abs(e.diff)))


def who_moves(effects: Sequence[Effect], up: str, down: str) -> str:
    """Every policy whose effect is beyond noise, by direction, largest first:
    "{up} under split repos (+60%) and lieutenants (+34%); {down} under runways (-5%)"; "" if none."""
    parts = []
    beyond = beyond_noise(effects)
    for word, rising in ((up, True), (down, False)):
        named = [f"{sentence_name(e.scenario)} ({signed_pct(e)})" for e in beyond if e.robust and (e.diff > 0) == rising]
        if named:
            parts.append(f"{word} under {join_words(named)}")
    unsettled = [e for e in beyond if not e.robust]
    if unsettled:  # beyond noise in this run, but the ensemble's draws disagree on the sign
        parts.append("; ".join(f"under {sentence_name(e.scenario)} the sign depends on {parameter_words(e.depends_on)}"
                               for e in unsettled))
    return "; ".join(parts)


def effects_detail(effects: Sequence[Effect], subject: str, unit: str, digits: int = 1) -> str:
    """The numbers behind a headline: the reference's value, then each policy's value and its paired
    difference with the 95 % CI ("within noise" when the CI includes 0)."""
    if not effects:
        return ""
    u = f" {unit}" if unit else ""
    parts = []
    for e in effects:
        verdict = "" if e.significant else ", within noise"
        parts.append(f"{sentence_name(e.scenario)} {num(e.value, digits)} ({e.diff:+.{digits}f}, 95% CI "
                     f"{e.low:+.{digits}f} to {e.high:+.{digits}f}{verdict})")
    return (f"{capitalise(subject)}: {sentence_name(effects[0].reference)} {num(effects[0].ref_value, digits)}{u}; "
            + "; ".join(parts))


def capacity_prefix(table: pd.DataFrame, names: Sequence[str]) -> str:
    """The headline's short form of :func:`staffing_clause`: "At equal review capacity", or
    "At unequal review capacity" (the details give the numbers)."""
    clause = staffing_clause(table, names)
    if not clause:
        return ""
    return "At equal review capacity" if clause.startswith("At equal") else "At unequal review capacity"


def with_note(finding: Finding, note: str) -> Finding:
    """``finding`` with ``note`` (how many replications, what the CI is) appended to its details and caption."""
    def add(text: str) -> str:
        return f"{text}. {note}" if text else note
    return Finding(finding, add(finding.details), add(finding.caption))


def numbers_on_axes(finding: Finding) -> Finding:
    """``finding`` for a figure whose axes print its numbers: the caption leaves them out."""
    return Finding(finding, finding.details, "")


PAIRED_NOTE = ("95% CI: 95% confidence interval over {n} replications. Replication r of every policy uses the same "
               "random draws, so differences are taken replication by replication; a policy is named when the CI "
               "of its difference excludes 0")


def with_capacity(finding: Finding, table: pd.DataFrame, names: Sequence[str]) -> Finding:
    """``finding`` prefixed by the comparison it rests on: the short form in the headline, the
    capacities (:func:`staffing_clause`) in the details."""
    prefix, clause = capacity_prefix(table, names), staffing_clause(table, names)
    if not prefix or not finding:
        return finding
    head = f"{prefix}, {finding[0].lower() + finding[1:]}"
    return Finding(head, f"{clause}. {finding.details}" if finding.details else clause,
                   f"{clause}. {finding.caption}" if finding.caption else clause)


# ------------------------------------------------------------------------------ one finding per figure


def time_to_merge_finding(table: pd.DataFrame, names: Sequence[str], areas: Sequence[str],
                          metric: str = "time_to_merge_median_days") -> Finding:
    """Figure 1: the median time to merge (days) of each group in ``areas`` (the driver and non-driver
    groups, or all changes), from the comparison ``table`` of ``names`` (the first is the reference).
    The headline names every policy beyond noise in each group."""
    heads, details = [], []
    for area in areas:
        effects = table_effects(table, metric, area)
        moves = who_moves(effects, "slower", "faster")
        group = TTM_GROUPS[area]
        if moves:
            heads.append(f"{group} merge {moves}")
        details.append(effects_detail(effects, TTM_SUBJECTS[area], "d"))
    if not heads:
        parts = []
        for area in areas:
            med = median_cis(table, metric, area).get(names[0], (math.nan,) * 3)[0]
            parts.append(f"{num(med, 1)} d" + ("" if area == ALL else f" for {TTM_GROUP_NAMES[area]}"))
        head = (f"No policy changes the median time to merge beyond noise ({sentence_name(names[0])}: "
                + ", ".join(parts) + ")")
    else:
        head = "; ".join(heads)
        quiet = [TTM_GROUPS[a].lower() for a in areas if not who_moves(table_effects(table, metric, a), "x", "y")]
        if quiet:
            head += f"; no policy moves {join_words(quiet)} beyond noise"
    return Finding(capitalise(head), ". ".join(d for d in details if d))


def backlog_finding(per_replication: pd.DataFrame) -> Finding:
    """Figure 2: the time-average open backlog (open changes), from each replication's average
    (one column per scenario, the reference first)."""
    reference = per_replication.columns[0]
    effects = paired_effects(per_replication, reference)
    moves = who_moves(effects, "grows", "shrinks")
    if moves:
        head = f"The open review backlog {moves}"
    else:
        head = (f"No policy changes the open review backlog beyond noise ({sentence_name(reference)}: "
                f"{per_replication.iloc[:, 0].mean():.0f} open changes on average)")
    detail = effects_detail(effects, "open changes, average over the cycle", "", digits=0)
    return Finding(head, detail)


def time_buckets_finding(table: pd.DataFrame, names: Sequence[str], area: str = ALL) -> Finding:
    """Figure 3: every change in the mean time to merge (days per merged change) beyond noise and, for
    the strongest, the part that moved most with it and the largest part that moved the other way (why
    the parts' changes do not add up to the total); without any, the largest part of the reference's."""
    ref = names[0]
    parts = {c: table_value(table, ref, m, area) for c, m in TIME_BUCKETS.items()}
    ref_total = sum(v for v in parts.values() if np.isfinite(v))
    top = max(parts, key=lambda c: parts[c] if np.isfinite(parts[c]) else -1.0)
    where = "" if area == ALL else f" ({area})"
    largest = (f"{capitalise(BUCKET_SHORT[top])} is the largest part of the time to merge "
               f"({pct(parts[top] / ref_total) if ref_total else 'n/a'} under {sentence_name(ref)}{where})")
    effects = table_effects(table, "time_to_merge_mean_days", area)
    ranked = beyond_noise(effects)

    def longer(e: Effect) -> str:
        return f"{abs(e.diff):.1f} d {'longer' if e.diff > 0 else 'shorter'} under {sentence_name(e.scenario)}"

    if ranked:
        e = ranked[0]
        diffs = {c: table_value(table, e.scenario, m, area) - table_value(table, ref, m, area)
                 for c, m in TIME_BUCKETS.items()}
        same = {c: d for c, d in diffs.items() if np.isfinite(d) and np.sign(d) == np.sign(e.diff)}
        against = {c: d for c, d in diffs.items() if np.isfinite(d) and np.sign(d) == -np.sign(e.diff)}
        head = f"The mean time to merge is {longer(e)} ({signed_pct(e)})"
        if same:
            c = max(same, key=lambda c: abs(same[c]))
            head += f", mostly {BUCKET_SHORT[c]} ({same[c]:+.1f} d)"
            if against:
                c2 = max(against, key=lambda c: abs(against[c]))
                if abs(against[c2]) >= 0.05:
                    head += f", partly offset by {BUCKET_SHORT[c2]} ({against[c2]:+.1f} d)"
        if len(ranked) > 1:
            head += "; " + join_words([longer(o) for o in ranked[1:]])
    elif effects:
        head = f"{largest}; no policy changes the mean time to merge beyond noise"
    else:
        head = largest
    detail = (f"{largest}. Mean days per merged change under {sentence_name(ref)}: "
              + ", ".join(f"{BUCKET_SHORT[c]} {v:.1f}" for c, v in parts.items() if np.isfinite(v))
              + f" (total {ref_total:.1f} d)")
    more = effects_detail(effects, "mean time to merge", "d")
    return Finding(head, detail + (f". {more}" if more else ""))


def gate_finding(sweep: pd.DataFrame, theory: pd.DataFrame, reference: str,
                 nova_2014: tuple[float, float] | None = None) -> Finding:
    """Figure 4: how false rejections per merged non-driver change grow from the fewest to the most
    gating jobs in the ``reference``'s gate, and how far below every other scenario's nova gate stays,
    at both ends of the sweep (a ratio holds where it is stated, not along the whole curve).

    ``sweep`` and ``theory`` as :func:`sim.outputs.plots.plot_gate_sweep` takes them; ``nova_2014``:
    (gating jobs, simulated false rejections per merged change) of Nova's 2014 set-up, if known.
    """
    names = list(dict.fromkeys(sweep["scenario"]))
    ref = point_cis(sweep[sweep["scenario"] == reference], "jobs")
    x0, x1 = ref["jobs"].min(), ref["jobs"].max()
    ref_rep = by_replication(sweep[sweep["scenario"] == reference], "jobs")
    grow = mean_ci((ref_rep[x1] - ref_rep[x0]).to_numpy())
    m0, m1 = float(ref.loc[ref["jobs"] == x0, "mean"].iloc[0]), float(ref.loc[ref["jobs"] == x1, "mean"].iloc[0])
    subject = "false rejections per merged nova change"
    if excludes_zero(*grow[1:]):
        verb = "rise" if grow[0] > 0 else "fall"
        head = f"In {sentence_name(reference)}, {subject} {verb} from {m0:.2f} at {x0:.0f} gating jobs to {m1:.2f} at {x1:.0f}"
    else:
        head = (f"In {sentence_name(reference)}, {subject} do not grow beyond noise from {x0:.0f} to {x1:.0f} "
                f"gating jobs ({m0:.2f} vs {m1:.2f})")
    details = [(f"{capitalise(subject)} in {sentence_name(reference)}: {m0:.2f} (95% CI {ref['low'].iloc[0]:.2f} "
                f"to {ref['high'].iloc[0]:.2f}) at {x0:.0f} jobs, {m1:.2f} (95% CI {ref['low'].iloc[-1]:.2f} to "
                f"{ref['high'].iloc[-1]:.2f}) at {x1:.0f} jobs")]
    th_ref = theory[(theory["scenario"] == reference) & (theory["jobs"] == x1)]
    if not th_ref.empty:
        details.append(f"theory at {x1:.0f} jobs (false rejections expected from each job's flakiness, q/(1-q)): "
                       f"{float(th_ref['expected'].iloc[0]):.2f}")
    if nova_2014 is not None and all(np.isfinite(nova_2014)):
        details.append(f"Nova's 2014 set-up ({nova_2014[0]:.0f} gating jobs, third-party CI not gating): "
                       f"{nova_2014[1]:.2f} false rejections per merged nova change in {sentence_name(reference)}")
    for name in names:
        if name == reference:
            continue
        other = sweep[sweep["scenario"] == name]
        other_rep = by_replication(other, "jobs")
        if x1 not in other_rep.columns:
            continue
        stats = point_cis(other, "jobs")
        o1 = float(stats.loc[stats["jobs"] == x1, "mean"].iloc[0])
        own_changes = x0 in other_rep.columns and excludes_zero(*mean_ci((other_rep[x1] - other_rep[x0]).to_numpy())[1:])
        level = f"{'moves to' if own_changes else 'stays at'} {o1:.2f}"
        ratios = []
        for x, m in ((x0, m0), (x1, m1)):
            if x not in other_rep.columns:
                continue
            diff = mean_ci((other_rep[x] - ref_rep[x]).to_numpy())
            o = float(stats.loc[stats["jobs"] == x, "mean"].iloc[0])
            if not excludes_zero(*diff[1:]):
                ratios.append(f"within noise of {sentence_name(reference)} at {x:.0f} jobs")
            elif o > 0:
                ratio = m / o
                ratios.append(f"{ratio:.1f}x fewer at {x:.0f} jobs" if diff[0] < 0 else f"{1 / ratio:.1f}x more at {x:.0f} jobs")
            else:
                ratios.append(f"{'none' if diff[0] < 0 else 'more'} at {x:.0f} jobs")
            details.append(f"{sentence_name(name)} at {x:.0f} jobs: {o:.2f} ({diff[0]:+.2f} vs "
                           f"{sentence_name(reference)}, 95% CI {diff[1]:+.2f} to {diff[2]:+.2f})")
        head += f"; {sentence_name(name)}' nova gate {level}: " + ", ".join(ratios)
    return Finding(head, "; ".join(details))


def slot_trend(table: pd.DataFrame, slots: Sequence[int], scale: float = 1.0, digits: int = 0,
               unit: str = "") -> str:
    """How a runways metric moves from the fewest to the most slots (paired over replications):
    "falls as slots grow (93% at 1 slot → 14% at 40)", "rises as ...", or "" within noise."""
    lo, hi = slots[0], slots[-1]
    if lo == hi or lo not in table.columns or hi not in table.columns:
        return ""
    diff = mean_ci((table[hi] - table[lo]).to_numpy())
    if not excludes_zero(*diff[1:]):
        return ""
    a, b = mean_ci(table[lo])[0] * scale, mean_ci(table[hi])[0] * scale
    return (f"{'falls' if diff[0] < 0 else 'rises'} as slots grow ({a:.{digits}f}{unit} at {lo} slot{'s' if lo != 1 else ''}"
            f" → {b:.{digits}f}{unit} at {hi})")


def runways_finding(tables: Mapping[str, Mapping[str, pd.DataFrame]], slots: Sequence[int], nova_slots: int) -> Finding:
    """Figure 5: blueprint throughput and abandonment with Nova's number of runways, in each reading,
    and how abandonment moves as the slots grow (so "rises" is never read as "rises with more slots").

    ``tables``: per reading, per metric (``merged_per_week``, ``abandoned_fraction``...), one row per
    replication and one column per slot count, 0 for no runways (the monolith); ``slots``: the
    runway slot counts (> 0), ascending; ``nova_slots``: the count the sentence is about (if swept).
    """
    s = nova_slots if nova_slots in slots else slots[0]
    clauses, details = [], []
    for reading, by_metric in tables.items():
        tp, aband = by_metric["merged_per_week"], by_metric["abandoned_fraction"]
        if 0 not in tp.columns:
            clauses.append(f"{reading}: {mean_ci(tp[s])[0]:.1f} blueprint changes merged a week")
            continue
        e = paired_effects(tp[[0, s]].rename(columns=str), "0")[0]
        ab = paired_effects(aband[[0, s]].rename(columns=str), "0")[0]
        clause = f"{reading}: throughput " + (f"{'-' if e.diff < 0 else '+'}{pct(e.relative)}" if e.significant
                                                else "within noise")
        clause += (f", {ab.value:.0%} abandoned ({ab.ref_value:.0%} without)" if ab.significant else
                   ", abandonment within noise")
        trend = slot_trend(aband, slots, 100.0, 0, "%")
        if trend:  # abandonment's direction along the slots, so a change at Nova's count is not read as one
            clause += ", " + trend.replace("falls as", "falling as").replace("rises as", "rising as")
        clauses.append(clause)
        details.append(f"{capitalise(reading)} at {s} slots: {e.value:.1f} vs {e.ref_value:.1f} blueprint changes merged "
                       f"a week without runways ({e.diff:+.1f}, 95% CI {e.low:+.1f} to {e.high:+.1f}); abandoned "
                       f"{ab.value:.1%} vs {ab.ref_value:.1%} ({ab.diff * 100:+.1f} points, 95% CI {ab.low * 100:+.1f} "
                       f"to {ab.high * 100:+.1f})")
    head = (f"Blueprint changes, {'Nova' + chr(39) + 's ' if s == nova_slots else ''}{s} runway slot{'s' if s != 1 else ''}"
            " vs none — " + "; ".join(clauses))
    return Finding(head, ". ".join(details))


def interface_usable_finding(effects: Sequence[Effect], samples: Mapping[str, np.ndarray],
                             cohorts: Mapping[str, tuple[int, int]] | None = None) -> Finding:
    """Figure 6: the median days until a virt-interface change is usable in every driver: every policy
    beyond noise, else each scenario's pooled median of ``samples`` (days); ``cohorts``: per scenario,
    (interface changes uploaded inside the window, of which not usable in every driver by its end),
    the changes the medians leave out."""
    subject = "the median time until a virt-interface change is usable in every driver"
    ranked = beyond_noise(effects)
    stuck = _mostly_unusable(effects, cohorts or {})
    if stuck:  # the medians count only what became usable: a policy that leaves most unusable leads
        ref = effects[0].reference
        total, never = (cohorts or {}).get(ref, (0, 0))
        head = "; ".join(f"Under {sentence_name(n)}, {nn} of {t} nova changes to the virt-driver interface were still not "
                         f"usable in every driver when the run ended ({never} of {total} under {sentence_name(ref)})"
                         for n, (t, nn) in stuck.items())
        cohorts = None  # said already
    elif ranked:
        head = "; ".join(f"Under {sentence_name(e.scenario)}, a nova change to the virt-driver interface takes "
                         f"{'longer' if e.diff > 0 else 'less time'} to be usable in every driver "
                         f"(median {signed_pct(e)}: {days(e.ref_value)} → {days(e.value)})" for e in ranked)
    elif len(effects) == 1:
        head = f"Under {sentence_name(effects[0].scenario)}, {subject} does not differ from {sentence_name(effects[0].reference)} beyond noise"
    else:
        head = "No policy changes " + subject + " beyond noise"
    if cohorts:
        counts = [f"{never} of {total} under {sentence_name(n)}" for n, (total, never) in cohorts.items()]
        head += f"; still not usable when the run ended: {join_words(counts)}"
    detail = effects_detail(effects, subject, "d")
    if not detail:
        detail = "; ".join(f"{sentence_name(n)}: median {np.median(v):.1f} d (n={len(v)})" for n, v in samples.items() if len(v))
    else:
        detail += ". Changes usable inside the window: " + ", ".join(f"{sentence_name(n)} {len(v):,}" for n, v in samples.items())
    return Finding(head, detail)


MOSTLY_UNUSABLE_GAP = 0.25  # a policy leaving this much larger a share unusable than the reference leads figure 6


def _mostly_unusable(effects: Sequence[Effect], cohorts: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The policies whose share of interface changes never usable exceeds the reference's by
    :data:`MOSTLY_UNUSABLE_GAP` (``cohorts``: scenario -> (uploaded in the window, not usable by its end))."""
    if not effects or effects[0].reference not in cohorts:
        return {}
    total, never = cohorts[effects[0].reference]
    ref_share = never / total if total else 0.0
    return {n: (t, nn) for n, (t, nn) in cohorts.items()
            if n != effects[0].reference and t and nn / t - ref_share >= MOSTLY_UNUSABLE_GAP}


def reviewer_load_finding(table: pd.DataFrame, role_means: Sequence[tuple[str, str, float]]) -> Finding:
    """Figure 7: nova cores' average review load (mean reviews per core per week) and the average load
    of every other role, ``role_means``: (scenario, role, mean reviews per reviewer per week). Means
    throughout: the figure marks each box's mean beside its median."""
    effects = table_effects(table, "reviews_per_core_per_week", ALL)
    moves = who_moves(effects, "rises", "falls")
    if moves:
        head = f"Nova cores' average review load {moves}"
    else:
        rows = median_cis(table, "reviews_per_core_per_week", ALL)
        ref = str(table["reference"].iloc[0]) if not table.empty else ""
        level = f" ({rows[ref][0]:.1f} reviews a week under {sentence_name(ref)})" if ref in rows else ""
        head = f"No policy changes nova cores' average review load beyond noise{level}"
    if role_means:
        shared = {role for _, role, _ in role_means if sum(r == role for _, r, _ in role_means) > 1}
        head += "; " + join_words([f"a {ROLE_LABELS.get(role, role)}"
                                   + (f" under {sentence_name(name)}" if role in shared else "") + f" averages {m:.1f}"
                                   for name, role, m in role_means]) + " reviews a week"
    detail = effects_detail(effects, "mean reviews per nova core per week", "", digits=1)
    return Finding(head, detail)


def staffing_finding(table: pd.DataFrame, groups: Sequence[tuple[str, str, str]], area: str = DRIVERS,
                     metric: str = "time_to_merge_median_days") -> Finding:
    """Figure 8: for each policy that adds roles, ``(equal, added, cores_plus)`` scenario names: its
    effect on ``area``'s median time to merge at equal capacity, with added people, and when nova's
    cores get the same added capacity instead (paired differences from the reference, days). The
    headline names the staffings beyond noise; the details give every one with its 95 % CI."""
    effects = {e.scenario: e for e in table_effects(table, metric, area)}
    caps = capacities(table, [n for group in groups for n in group])
    ref = table_value(table, table["reference"].iloc[0], CAPACITY_METRIC, ALL) if not table.empty else math.nan

    def beyond(name: str) -> bool:
        e = effects.get(name)
        return e is not None and e.significant

    # Only the staffings beyond noise are named (two lines hold no more); the details give every one.
    clauses, quiet = [], False
    for equal, added, cores in groups:
        extra = caps[added] - ref
        named = [f"{effects[n].diff:+.1f} d {kind}" for n, kind in
                 ((equal, "at equal capacity"), (added, f"with {extra:.0f} reviews/day added"), (cores, "as core time"))
                 if beyond(n)]
        quiet = quiet or any(n in effects and np.isfinite(effects[n].diff) and not beyond(n) for n in (equal, added, cores))
        if named:
            clauses.append(f"{sentence_name(equal)} " + ", ".join(named))
    subject = TTM_SUBJECTS[area]
    tail = ("; the other staffings within noise" if clauses else "no staffing changes it beyond noise") if quiet else ""
    head = capitalise(f"{subject} vs {sentence_name(str(table['reference'].iloc[0]))}: " + "; ".join(clauses) + tail)
    kinds = ("at equal capacity", "with added people", "with the added capacity given to the cores instead")
    detail = f"{capitalise(subject)}, difference from {sentence_name(str(table['reference'].iloc[0]))}: " + "; ".join(
        f"{sentence_name(group[0])} {kind} {effects[n].diff:+.1f} d (95% CI {effects[n].low:+.1f} to {effects[n].high:+.1f})"
        for group in groups for n, kind in zip(group, kinds) if n in effects)
    return Finding(head, detail)

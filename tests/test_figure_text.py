"""Figure text for a governance reader (issue 16): titles of at most two lines in plain words, every
policy beyond noise named, statistics in the caption, the per-figure fixes (figures 3-7 and the
calibration figure), a "How to read this" line per figure in the README."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.calibrate import figure as calibration
from sim.outputs import figures, findings, plots, style
from sim.runs.compare import COMPARISON_COLUMNS
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS, TIME_BUCKETS

POLICIES = ["runways", "lieutenants", "split", "sponsorship"]
JARGON = ("ECDF", "IQR")


# ------------------------------------------------------------------------------ one tiny run of every figure


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """``make_figures`` at two replications and a 30-day warm-up, keeping every drawn figure."""
    drawn: dict[int, object] = {}
    emit = figures._emit

    def keep(number, fig_and_finding, directory):
        drawn[number] = fig_and_finding
        return emit(number, fig_and_finding, directory)

    out = tmp_path_factory.mktemp("tiny") / "figures"
    out.mkdir()
    (out / "calibration_juno.png").write_bytes(b"\x89PNG written by sim calibrate")  # as committed in figures/
    mp = pytest.MonkeyPatch()
    mp.setattr(figures, "_emit", keep)
    try:
        outputs = figures.make_figures(out, replications=2, sweep_replications=2, workers=1, progress=False,
                                       overrides=["run.warmup_days=30"])
    finally:
        mp.undo()
    return SimpleNamespace(out=out, outputs=outputs, drawn=drawn, readme=(out / "README.md").read_text())


def test_every_title_has_at_most_two_lines(tiny: SimpleNamespace) -> None:
    assert sorted(tiny.drawn) == list(range(1, 9))
    for number, (fig, finding) in tiny.drawn.items():
        title = fig._suptitle.get_text()
        assert 1 <= len(title.splitlines()) <= style.TITLE_LINES, (number, title)
        assert title.replace("\n", " ") == finding  # the title is the headline, nothing else
        assert fig._suptitle.get_fontsize() >= style.MIN_TITLE_SIZE
        for ax in fig.axes:
            assert len(ax.get_title().splitlines()) <= 2, (number, ax.get_title())


def test_titles_are_plain_words_and_the_statistics_are_in_the_caption(tiny: SimpleNamespace) -> None:
    for number, (fig, finding) in tiny.drawn.items():
        for word in ("95%", "paired", "replication", "q/(1-q)", *JARGON):
            assert word not in finding, (number, word, finding)
        assert "95% CI" in finding.details, number
        caption = fig._supxlabel.get_text() if fig._supxlabel is not None else ""
        assert "95% confidence interval over 2 replications" in caption.replace("\n", " "), number


def test_readme_has_a_how_to_read_line_and_the_numbers_for_every_figure(tiny: SimpleNamespace) -> None:
    readme = tiny.readme
    assert readme.count("How to read this:") == len(tiny.outputs) + 2  # and the scorecard, the calibration figures
    for o in tiny.outputs:
        section = readme.split(f"## {o.number}. {o.heading}")[1].split("\n## ")[0]
        assert f"**{o.finding}**" in section and f"How to read this: {o.how_to_read}" in section
        assert o.details and f"Numbers behind the title: {o.details}." in section
    for word in JARGON:
        assert word not in readme, word
    assert "*paired difference*:" in readme and "*95% CI*" in readme  # the glossary
    # the calibration figures written by `sim calibrate` are listed (only those present)
    assert "[`calibration_juno.png`](calibration_juno.png)" in readme and "calibration_kilo" not in readme
    assert "simulated" in readme.split("## Calibration")[1]


def test_reviewer_load_title_quotes_the_means_the_boxes_mark(tiny: SimpleNamespace) -> None:
    fig, finding = tiny.drawn[7]
    means = [float(y) for line in fig.axes[0].lines if line.get_marker() == "D" for y in line.get_ydata()]
    quoted = [float(x) for x in re.findall(r"averages (\d+\.\d)", finding)]
    assert quoted and means
    for q in quoted:  # every load the title quotes is a mean marked in the figure
        assert any(abs(m - q) <= 0.05 for m in means), (q, means)


def test_interface_figure_counts_the_changes_never_usable(tiny: SimpleNamespace) -> None:
    fig, finding = tiny.drawn[6]
    counts = re.findall(r"(\d+) of (\d+) under (the monolith|split repos)", finding)
    # a policy leaving most interface changes unusable leads the finding: "Under split repos, N of M ..."
    counts += [(n, m, "split repos") for n, m in re.findall(r"Under split repos, (\d+) of (\d+) nova changes", finding)]
    assert sorted(name for _, _, name in counts) == ["split repos", "the monolith"], finding
    title = fig.axes[0].get_title().replace("\n", " ")
    for never, total, _ in counts:
        assert int(never) <= int(total) and f"{never} of {total}" in title


def test_gate_figure_marks_nova_2014(tiny: SimpleNamespace) -> None:
    fig, finding = tiny.drawn[4]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("Nova's 2014 set-up (") for label in labels), labels
    assert "Nova's 2014 set-up (" in finding.details
    assert re.search(r"at \d+ jobs", finding)  # a ratio says where it holds


# ------------------------------------------------------------------------------ every policy beyond noise is named


def row(scenario: str, metric: str, area: str, mean: float, diff: float = math.nan, low: float = math.nan,
        high: float = math.nan, n: int = 5) -> dict[str, object]:
    return {"scenario": scenario, "policy": scenario, "area": area, "metric": metric, "mean": mean, "ci_low": mean,
            "ci_high": mean, "n": n, "reference": "monolith", "diff": diff, "diff_ci_low": low, "diff_ci_high": high,
            "diff_n": n}


def effects_table(metric: str, areas: list[str], effects: dict[str, float], ref: float = 10.0) -> pd.DataFrame:
    """A comparison table: the monolith at ``ref``; each policy ``ref + diff`` with a CI of diff ± 1
    (so |diff| > 1 is beyond noise), in every one of ``areas``; equal review capacity."""
    rows = [row("monolith", "review_capacity_per_day", ALL, 30.0, 0.0, 0.0, 0.0)]
    rows += [row(p, "review_capacity_per_day", ALL, 30.0, 0.0, 0.0, 0.0) for p in effects]
    for area in areas:
        rows.append(row("monolith", metric, area, ref))
        rows += [row(p, metric, area, ref + d, d, d - 1.0, d + 1.0) for p, d in effects.items()]
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


EFFECT_SETS = [
    {"runways": 0.5, "lieutenants": 4.0, "split": 6.0, "sponsorship": 1.7},  # three beyond noise, one within
    {"runways": -3.0, "lieutenants": 0.2, "split": 2.5, "sponsorship": -0.9},  # one faster, one slower
    {"runways": 0.1, "lieutenants": -0.3, "split": 0.9, "sponsorship": 0.0},  # none
]


def assert_names_exactly_the_significant(headline: str, effects: dict[str, float]) -> None:
    for policy, diff in effects.items():
        named = findings.sentence_name(policy) in headline
        assert named == (abs(diff) > 1.0), (policy, diff, headline)


@pytest.mark.parametrize("effects", EFFECT_SETS)
def test_time_to_merge_names_every_policy_beyond_noise(effects: dict[str, float]) -> None:
    metric = "time_to_merge_median_days"
    table = effects_table(metric, [DRIVERS, NON_DRIVERS], effects)
    finding = findings.time_to_merge_finding(table, ["monolith", *effects], [DRIVERS, NON_DRIVERS], metric)
    assert_names_exactly_the_significant(finding, effects)
    for policy, diff in effects.items():
        if abs(diff) > 1.0:
            assert f"{findings.sentence_name(policy)} ({diff / 10:+.0%})" in finding
    if not any(abs(d) > 1.0 for d in effects.values()):
        assert finding.startswith("No policy changes the median time to merge beyond noise")


@pytest.mark.parametrize("effects", EFFECT_SETS)
def test_reviewer_load_and_time_buckets_name_every_policy_beyond_noise(effects: dict[str, float]) -> None:
    load = findings.reviewer_load_finding(effects_table("reviews_per_core_per_week", [ALL], effects), [])
    assert_names_exactly_the_significant(load, effects)
    table = effects_table("time_to_merge_mean_days", [ALL], effects)
    for metric in TIME_BUCKETS.values():
        table = pd.concat([table, effects_table(metric, [ALL], {p: 0.0 for p in effects}, ref=1.0)])
    buckets = findings.time_buckets_finding(table, ["monolith", *effects])
    assert_names_exactly_the_significant(buckets, effects)


@pytest.mark.parametrize("effects", EFFECT_SETS)
def test_backlog_names_every_policy_beyond_noise(effects: dict[str, float]) -> None:
    noise = np.array([-0.5, 0.0, 0.5])  # per-replication differences: mean diff, CI about diff ± 1.2
    values = {"monolith": np.array([100.0, 110.0, 120.0])}
    for policy, diff in effects.items():
        values[policy] = values["monolith"] + 10 * diff + noise * (10 if abs(diff) <= 1.0 else 1)
    finding = findings.backlog_finding(pd.DataFrame(values))
    for policy, diff in effects.items():
        assert (findings.sentence_name(policy) in finding) == (abs(diff) > 1.0), (policy, finding)


def test_time_buckets_say_what_offsets_the_largest_change() -> None:
    """Waiting for a reviewer rises 6.0 d, authors revising falls 1.2 d: the total rises 4.8 d."""
    table = effects_table("time_to_merge_mean_days", [ALL], {"lieutenants": 4.8}, ref=20.0)
    parts = {"wait_review_days": 6.0, "author_days": -1.2}
    for column, metric in TIME_BUCKETS.items():
        table = pd.concat([table, effects_table(metric, [ALL], {"lieutenants": parts.get(column, 0.0)}, ref=3.0)])
    finding = findings.time_buckets_finding(table, ["monolith", "lieutenants"])
    assert finding == ("The mean time to merge is 4.8 d longer under lieutenants (+24%), mostly waiting for a reviewer "
                       "(+6.0 d), partly offset by authors revising (-1.2 d)")


def test_interface_finding_states_the_never_usable_counts() -> None:
    e = findings.Effect("split", "monolith", 80.0, 10.0, 70.0, 50.0, 90.0, 5)
    finding = findings.interface_usable_finding([e], {"monolith": np.ones(9), "split": np.ones(2)},
                                                {"monolith": (10, 1), "split": (10, 8)})
    # 8 of 10 against 1 of 10: the never-usable share leads (the median counts only the usable two)
    assert finding.startswith("Under split repos, 8 of 10 nova changes to the virt-driver interface were still not "
                              "usable in every driver when the run ended (1 of 10 under the monolith)")
    close = findings.interface_usable_finding([e], {"monolith": np.ones(9), "split": np.ones(8)},
                                              {"monolith": (10, 1), "split": (10, 2)})
    assert "still not usable when the run ended: 1 of 10 under the monolith and 2 of 10 under split repos" in close
    assert "Under split repos" in close and "8.0x" in close


# ------------------------------------------------------------------------------ figure 5: the direction of the numbers


def runways_frame(abandoned_exclusive: dict[int, float]) -> pd.DataFrame:
    """Figure-5 data: no runways at 0.10 abandoned; as practised 0.10 everywhere; the exclusive hold's
    abandoned share per slot count as given; throughput 13 everywhere; three replications."""
    rows = []
    points = [("none", 0)] + [(r, s) for r in ("as practised", "exclusive hold") for s in abandoned_exclusive]
    for reading, slots in points:
        abandoned = abandoned_exclusive[slots] if reading == "exclusive hold" else 0.10
        for metric, value in (("merged_per_week", 13.0), ("time_to_merge_median_days", 20.0),
                              ("abandoned_fraction", abandoned)):
            rows += [(reading, slots, metric, r, value + d) for r, d in enumerate((-0.01, 0.0, 0.01))]
    return pd.DataFrame(rows, columns=["reading", "slots", "metric", "replication", "value"])


def test_runways_abandonment_wording_follows_the_slots() -> None:
    _, falling = plots.plot_runways_sweep(runways_frame({1: 0.9, 3: 0.6, 10: 0.2}))
    assert "exclusive hold: throughput within noise, 60% abandoned (10% without), falling as slots grow (90% at 1 " \
           "slot → 20% at 10)" in falling
    assert "rising" not in falling and "rises" not in falling  # the old "abandonment rises from 10% to 60%" read as rising with the slots
    _, rising = plots.plot_runways_sweep(runways_frame({1: 0.2, 3: 0.6, 10: 0.9}))
    assert "60% abandoned (10% without), rising as slots grow (20% at 1 slot → 90% at 10)" in rising
    assert "falling" not in rising
    _, flat = plots.plot_runways_sweep(runways_frame({1: 0.6, 3: 0.6, 10: 0.6}))
    assert "as slots grow" not in flat


def test_runways_reference_line_is_labelled_in_every_panel() -> None:
    fig, _ = plots.plot_runways_sweep(runways_frame({1: 0.9, 3: 0.6, 10: 0.2}))
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.texts]
        assert any(t.startswith("no runways: ") for t in labels), labels
    assert fig.axes[1].get_yscale() == "log"  # the time panel spans 10 to 150+ days


# ------------------------------------------------------------------------------ titles fit


def test_a_long_title_shrinks_to_two_lines() -> None:
    fig, _ = style.new_figure()
    long = findings.Finding("word " * 45, "the statistics", "the caption")
    style.set_title(fig, long)
    assert len(fig._suptitle.get_text().splitlines()) == 2 and fig._suptitle.get_fontsize() < 17
    assert fig._supxlabel.get_text() == "the caption"
    for line in fig._suptitle.get_text().splitlines():
        assert style.text_width(line, fig._suptitle.get_fontsize(), "bold") <= fig.get_figwidth()


# ------------------------------------------------------------------------------ the calibration figure


def fake_check() -> SimpleNamespace:
    """The parts of a CycleCheck the calibration figure reads: all changes and one major area."""
    rng = np.random.default_rng(1)
    table = pd.DataFrame([
        {"area": a, "phase": "time_to_merge", "metric": m, "n": 300, "observed": obs, "simulated": sim,
         "rel_error": sim / obs - 1.0}
        for a in ("all", "libvirt")
        for m, obs, sim in ((calibration.TTM_MEDIAN, 13.2, 12.4), ("time_to_merge_p90_days", 77.0, 74.0))])
    changes = pd.DataFrame({"area": ["libvirt"] * 300, "time_to_merge_days": rng.lognormal(2.5, 1.0, 300)})
    weekly = pd.DataFrame({"week": range(5), "observed": [50.0] * 5, "simulated": [48.0] * 5, "half": [3.0] * 5})
    return SimpleNamespace(table=table, observed_changes=changes, changes=changes.sample(frac=1.0, random_state=2),
                           weekly=weekly, sensitivity=pd.DataFrame(columns=["metric"]), cycle="juno",
                           criteria=pd.DataFrame({"passed": [True, False]}),
                           scenario=SimpleNamespace(review=SimpleNamespace(weekly_activity=None)))


def test_calibration_panels_say_which_number_is_simulated() -> None:
    fig = calibration._draw(fake_check(), predicted=False)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert "all (n=300 observed)\nmedian: simulated 12.4 d, observed 13.2 d" in titles
    assert "libvirt (n=300 observed)\nmedian: simulated 12.4 d, observed 13.2 d" in titles
    assert any("simulated vs observed" in t for t in titles)
    assert len(fig._suptitle.get_text().splitlines()) <= 2

"""The policy scorecard: cells are the comparison's paired differences, verdicts follow the CI and the
stated direction of "better", the words and the figure come from the numbers."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from simtest import MONOLITH, SCENARIOS

from sim.outputs import scorecard
from sim.outputs.findings import Effect
from sim.outputs.prepare import backlog_per_replication, backlog_series
from sim.outputs.scorecard import (
    OUTCOMES,
    build_scorecard,
    markdown_table,
    policy_paragraph,
    readme_lines,
    verdict,
)
from sim.outputs.scorecard_plot import plot_scorecard
from sim.runs.compare import Comparison, compare
from sim.scenario import load_scenario

SHORT = ["run.warmup_days=30"]


@pytest.fixture(scope="module")
def small() -> Comparison:
    """Monolith, lieutenants and split, three short replications."""
    names = ["monolith", "lieutenants", "split"]
    scenarios = [load_scenario(MONOLITH if n == "monolith" else SCENARIOS / f"{n}.toml", SHORT) for n in names]
    return compare(scenarios, 3, 5, workers=2)


def effect(diff: float, low: float, high: float, n: int = 3) -> Effect:
    return Effect("p", "ref", 10.0 + diff, 10.0, diff, low, high, n)


@pytest.mark.parametrize(("e", "better", "expected"), [
    (effect(-2.0, -3.0, -1.0), "lower", "better"),
    (effect(-2.0, -3.0, -1.0), "higher", "worse"),
    (effect(+2.0, +1.0, +3.0), "lower", "worse"),
    (effect(+2.0, +1.0, +3.0), "higher", "better"),
    (effect(-2.0, -5.0, +1.0), "lower", "within noise"),
    (effect(-2.0, -3.0, -1.0, n=1), "lower", "n/a"),
    (effect(math.nan, math.nan, math.nan), "lower", "n/a"),
])
def test_verdict_follows_the_ci_and_the_better_direction(e: Effect, better: str, expected: str) -> None:
    assert verdict(e, better) == expected


def test_every_policy_has_every_outcome_from_the_comparison(small: Comparison) -> None:
    card = build_scorecard(small)
    assert card.reference == "monolith" and card.policies == ("lieutenants", "split")
    table = small.comparison
    for policy in card.policies:
        for o in OUTCOMES:
            c = card.cell(policy, o.key)
            if o.metric == scorecard.BACKLOG:
                per_rep = backlog_per_replication(backlog_series(small), small.names)
                expected = (per_rep[policy] - per_rep["monolith"]).mean()
            else:
                row = table[(table.scenario == policy) & (table.metric == o.metric) & (table.area == o.area)]
                expected = float(row["diff"].iloc[0])
            assert c.diff == pytest.approx(expected * o.scale, nan_ok=True), (policy, o.key)
            assert c.low <= c.diff <= c.high or not np.isfinite(c.diff)
            beyond = c.low > 0 or c.high < 0
            assert c.excludes_zero == (beyond and c.n >= 2)
            if c.excludes_zero:
                lower_is_better = o.better == "lower"
                assert c.verdict == ("better" if (c.diff < 0) == lower_is_better else "worse")
            assert c.ensemble_share is None  # the ensemble column exists, not yet filled


def test_words_and_table_come_from_the_numbers(small: Comparison) -> None:
    card = build_scorecard(small)
    md = markdown_table(card)
    assert md.count("\n") == 1 + 1 + len(card.policies)  # header, rule, reference, one row per policy
    for policy in card.policies:
        text = policy_paragraph(card, policy)
        for o in OUTCOMES:
            c = card.cell(policy, o.key)
            if c.verdict in ("better", "worse"):
                assert scorecard.size_text(c, o) in text, (policy, o.key)
        # Flip one cell: the paragraph follows.
        c = card.cell(policy, "driver_ttm")
        flipped = dataclasses.replace(c, diff=-5.0, low=-6.0, high=-4.0, n=3, excludes_zero=True, verdict="better",
                                      relative=-0.25)
        cells = tuple(flipped if x is c else x for x in card.cells)
        text2 = policy_paragraph(dataclasses.replace(card, cells=cells), policy)
        assert "Better on driver changes: median time to merge" in text2 and "-5.0 d (-25%)" in text2
    lines = readme_lines(card)
    assert lines[0].startswith("## Scorecard") and md in lines
    json.dumps(card.to_json(), allow_nan=False)  # NaN written as null, valid JSON


def test_split_caveat_counts_unusable_interface_changes(small: Comparison) -> None:
    counts = scorecard.interface_counts(small)
    usable, arrived = counts["split"]
    notes = build_scorecard(small).caveats["split"]
    ref_usable, ref_arrived = counts["monolith"]
    flagged = arrived > usable and (arrived - usable) / arrived >= 2 * (ref_arrived - ref_usable) / max(ref_arrived, 1)
    assert any(f"rests on {usable} interface changes" in n for n in notes) == flagged


def test_scorecard_figure_shows_every_policy_and_verdict(small: Comparison, tmp_path: Path) -> None:
    card = build_scorecard(small)
    fig = plot_scorecard(card)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    for policy in ("lieutenants", "split repos"):
        assert policy in texts
    shown = sum(1 for t in texts if t.split(" ", 1)[-1] in ("better", "worse", "within noise", "n/a"))
    assert shown == len(card.cells)
    fig.savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 10_000


def test_make_figures_writes_the_scorecard_first(small: Comparison, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """sim figures' hook: scorecard.png/svg, the table and paragraphs at the top of README.md, the
    cells in figures.json: all from the comparison it ran (the sweeps and their figures stubbed out)."""
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.outputs import figures, plots

    monkeypatch.setattr(figures, "_compare", lambda scenarios, replications, seed, executor, progress, cache=None: small)
    monkeypatch.setattr(Comparison, "subset", lambda self, names: self)
    monkeypatch.setattr(figures, "gate_sweep_frame", lambda points, cmp: pd.DataFrame())
    monkeypatch.setattr(figures, "runways_sweep_frame", lambda points, cmp: pd.DataFrame())
    monkeypatch.setattr(figures, "gate_theory", lambda *a, **k: pd.DataFrame())
    monkeypatch.setattr(figures, "nova_2014_gate", lambda *a, **k: (13.0, 1.0))
    for name in ("plot_gate_sweep", "plot_runways_sweep", "plot_interface_usable", "plot_staffing"):
        monkeypatch.setattr(plots, name, lambda *a, **k: (Figure(), "a stubbed finding"))
    out = tmp_path / "figs"
    figures.make_figures(out, replications=1, workers=1, progress=False)
    card = build_scorecard(small)
    assert (out / "scorecard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / "scorecard.svg").is_file()
    readme = (out / "README.md").read_text()
    headings = [line for line in readme.splitlines() if line.startswith("## ")]
    assert headings[0].startswith("## Scorecard") and headings[1] == "## Run settings"
    assert markdown_table(card) in readme
    for policy in card.policies:
        assert policy_paragraph(card, policy) in readme
    manifest = json.loads((out / "figures.json").read_text())
    assert manifest["scorecard"] == {"files": ["scorecard.png", "scorecard.svg"], **json.loads(json.dumps(card.to_json()))}

"""The self-contained HTML report: ``report/index.html`` from the outputs of ``sim figures``.

One page a governance list can be sent: the policy scorecard (table, figure and a paragraph per
policy), every figure with its finding and caption, the calibration summary
(``data/calibrated/<cycle>.md`` with its figure) and the run settings, all read from a figures
directory (``figures.json``, the PNG files) and the calibration reports. Nothing simulates. Every
image is embedded as a ``data:`` URI and the style is inline, so the file opens without network or
any file beside it. The output directory is written through :mod:`sim.safe_output` (marker
``report.json``): a previous report there is replaced, nothing else is touched.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from sim import paths
from sim.errors import InputError
from sim.outputs.findings import sentence_name
from sim.outputs.report import package_versions
from sim.outputs.scorecard import (
    ARROWS,
    Cell,
    Outcome,
    Scorecard,
    ci_text,
    direction,
    policy_paragraph,
    size_text,
    value_text,
)
from sim.safe_output import ResultDirectory

MANIFEST = "figures.json"  # what `sim figures` writes beside its figures
REPORT_MARKER = "report.json"  # marks a directory holding a report this package wrote
INDEX = "index.html"
CALIBRATION_CYCLES: tuple[str, ...] = ("juno", "kilo")
COMMITTED_FIGURES = paths.ROOT / "figures"  # where `sim calibrate --write` puts calibration_<cycle>.png


# ------------------------------------------------------------------------------ reading the inputs


def read_manifest(figures_dir: Path) -> dict[str, Any]:
    """``figures_dir/figures.json`` as written by ``sim figures`` (one clear error when it is not)."""
    path = Path(figures_dir) / MANIFEST
    if not path.is_file():
        raise InputError(f"{path}: not found; run `python -m sim figures --out {figures_dir}` first "
                         "(--figures names the directory it wrote)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("figures"), list):
        raise InputError(f"{path}: field 'figures' missing or not a list; not written by `sim figures` (rerun it)")
    return manifest


def scorecard_from_json(data: dict[str, Any]) -> tuple[Scorecard, list[Outcome]]:
    """The :class:`Scorecard` and its outcomes back from ``figures.json``'s ``scorecard`` (null -> NaN)."""
    outcome_names = {f.name for f in fields(Outcome)}
    outcomes = [Outcome(**{k: v for k, v in o.items() if k in outcome_names}) for o in data["outcomes"]]
    cells = tuple(Cell(**{k: (math.nan if v is None and k not in ("ensemble_share",) else v)
                          for k, v in c.items()}) for c in data["cells"])
    card = Scorecard(data["reference"], tuple(data["policies"]), int(data["replications"]), data["staffing"],
                     cells, {k: list(v) for k, v in data.get("caveats", {}).items()})
    return card, outcomes


def data_uri(path: Path) -> str:
    """The file at ``path`` as a ``data:`` URI (PNG or SVG)."""
    kind = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def image(figures_dir: Path, name: str) -> str:
    """The figure file ``name`` of ``figures_dir`` as a data URI; an InputError naming it when missing."""
    path = Path(figures_dir) / name
    if not path.is_file():
        raise InputError(f"{path}: listed in {MANIFEST} but not found; rerun `sim figures`")
    return data_uri(path)


# ------------------------------------------------------------------------------ pieces of the page


def markdown_html(text: str) -> str:
    """Markdown (CommonMark with tables) as HTML; our own text, so inline HTML (``<br>``) is kept."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def scorecard_rows(card: Scorecard, outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """The scorecard table's rows for the template: reference values, then one row per policy."""
    rows = [{"name": f"{sentence_name(card.reference)} (reference)", "reference": True, "cells": [
        {"cls": "reference", "verdict": "", "size": value_text(
            next((c.reference_value for c in card.cells if c.outcome == o.key), math.nan), o, short=True), "ci": ""}
        for o in outcomes]}]
    for policy in card.policies:
        cells = []
        for o in outcomes:
            hit = [c for c in card.cells if c.policy == policy and c.outcome == o.key]
            if not hit:
                cells.append({"cls": "na", "verdict": "n/a", "size": "", "ci": ""})
                continue
            c = hit[0]
            cells.append({"cls": c.verdict.replace(" ", "-").replace("/", ""),
                          "verdict": f"{ARROWS[direction(c)]} {c.verdict}",
                          "size": size_text(c, o, short=True),
                          "ci": ci_text(c, o) + (f"; {c.ensemble_share:.0%} of draws agree"
                                                 if c.ensemble_share is not None else "")})
        rows.append({"name": sentence_name(policy), "reference": False, "cells": cells})
    return rows


def criteria_met(text: str) -> tuple[int, int]:
    """(met, total) of the "## Fit criteria" table of a calibration report (its last column: yes/no)."""
    section = re.search(r"^## Fit criteria\s*$(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    if section is None:
        return 0, 0
    verdicts = [row.rstrip().rstrip("|").rsplit("|", 1)[-1].strip()
                for row in section.group(1).splitlines() if row.startswith("|")]
    verdicts = [v for v in verdicts if v in ("yes", "no")]
    return verdicts.count("yes"), len(verdicts)


def calibration_sections(calibration_dir: Path, figures_dir: Path,
                         cycles: Sequence[str] = CALIBRATION_CYCLES) -> list[dict[str, Any]]:
    """Per cycle with a report ``<cycle>.md`` in ``calibration_dir``: its title, how many fit criteria
    it meets, its opening paragraph, its full text as HTML (headings demoted below the page's), and
    its figure ``calibration_<cycle>.png`` from ``figures_dir``, else from the committed figures/ (where
    ``sim calibrate --write`` puts it beside the committed report), if there."""
    calibration_dir = Path(calibration_dir)
    if not calibration_dir.is_dir():
        raise InputError(f"--calibration {calibration_dir}: not a directory (the calibration reports' directory, "
                         "default data/calibrated)")
    if not any((calibration_dir / f"{cycle}.md").is_file() for cycle in cycles):
        raise InputError(f"--calibration {calibration_dir}: holds none of "
                         f"{', '.join(f'{c}.md' for c in cycles)} (written by `sim calibrate --write`)")
    sections = []
    for cycle in cycles:
        md = Path(calibration_dir) / f"{cycle}.md"
        if not md.is_file():
            continue
        text = md.read_text(encoding="utf-8")
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        title = paragraphs[0].lstrip("# ").strip() if paragraphs else cycle
        opening = next((p for p in paragraphs[1:] if not p.startswith(("#", "|", "-"))), "")
        html = markdown_html(text)
        html = re.sub(r"<img [^>]*>", "", html)  # a report's relative images would not resolve here
        html = re.sub(r"<(/?)h([1-4])>", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 2}>", html)  # below our h2
        met, total = criteria_met(text)
        name = f"calibration_{cycle}.png"
        figure = next((d / name for d in (Path(figures_dir), COMMITTED_FIGURES) if (d / name).is_file()),
                      Path(figures_dir) / name)
        sections.append({"cycle": cycle, "title": title, "met": met, "total": total,
                         "opening": Markup(markdown_html(opening)), "html": Markup(html),
                         "image": data_uri(figure) if figure.is_file() else "", "image_name": figure.name})
    return sections


def run_settings(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """The run's parameters from ``figures.json`` as (name, value) rows."""
    rows = []
    for key in ("seed", "replications", "sweep_replications", "scenario_files", "overrides", "gate_sweep",
                "runways_sweep", "versions"):
        if key not in manifest:
            continue
        value = manifest[key]
        if isinstance(value, dict):
            text = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items())
        elif isinstance(value, list):
            text = ", ".join(map(str, value)) or "none"
        else:
            text = str(value)
        rows.append((key.replace("_", " "), text))
    return rows


TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.8em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.35em 0.5em; vertical-align: top; }
table.scorecard td { text-align: center; min-width: 7em; }
table.scorecard th { background: #fafafa; }
td.better { background: #CCE3F0; } td.better .verdict { color: #0072B2; }
td.worse { background: #F7D9C4; } td.worse .verdict { color: #A84300; }
td.within-noise { background: #EFEFEF; } td.within-noise .verdict { color: #555; }
td.reference { background: #F7F7F7; }
.verdict { font-weight: bold; display: block; } .ci { font-size: 0.85em; color: #444; display: block; }
.finding { font-weight: bold; } .caption { color: #444; font-size: 0.95em; }
nav a { margin-right: 1em; } .small { font-size: 0.9em; color: #555; }
details { margin: 1em 0; } summary { cursor: pointer; font-weight: bold; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="small">Written by <code>python -m sim report</code> from <code>{{ source }}</code>
(the outputs of <code>python -m sim figures</code>); driversplit {{ version }}. Self-contained: every image is embedded.</p>
<nav><a href="#scorecard">Scorecard</a><a href="#findings">Findings</a><a href="#calibration">Calibration</a><a href="#settings">Run settings</a></nav>

{% if scorecard %}<h2 id="scorecard">Scorecard: each policy against {{ reference }}</h2>
<p>{{ how_to_read }}</p>
<table class="scorecard">
<tr><th>policy</th>{% for o in outcomes %}<th title="{{ o.why }}">{{ o.label }}<br><span class="small">({{ o.unit }})</span></th>{% endfor %}</tr>
{% for row in rows %}<tr><th>{{ row.name }}</th>{% for c in row.cells %}<td class="{{ c.cls }}"><span class="verdict">{{ c.verdict }}</span>{{ c.size }}<span class="ci">{{ c.ci }}</span></td>{% endfor %}</tr>
{% endfor %}</table>
<p><strong>What counts as better</strong></p>
<ul>{% for o in outcomes %}<li>{{ o.label }}: {{ o.why }}.</li>{% endfor %}</ul>
{% for p in paragraphs %}{{ p }}{% endfor %}
<figure><img src="{{ scorecard_image }}" alt="The policy scorecard as a figure"></figure>
{% else %}<h2 id="scorecard">Scorecard</h2>
<p>{{ source }} holds no scorecard: it was written by an older <code>sim figures</code>; rerun it to add one.</p>{% endif %}

<h2 id="findings">Findings</h2>
{% for f in figures %}
<section id="fig{{ f.number }}">
<h3>{{ f.number }}. {{ f.heading }}</h3>
<p class="finding">{{ f.finding }}</p>
<figure><img src="{{ f.src }}" alt="Figure {{ f.number }}: {{ f.heading }}"></figure>
<p class="caption">{{ f.caption }}</p>
</section>
{% endfor %}

<h2 id="calibration">Calibration</h2>
{% for c in calibration %}
<section>
<h3>{{ c.title }}{% if c.total %}: {{ c.met }} of {{ c.total }} fit criteria met{% endif %}</h3>
{{ c.opening }}
{% if c.image %}<figure><img src="{{ c.image }}" alt="Calibration on {{ c.cycle }}"></figure>{% else %}<p class="small">(No {{ c.image_name }} found.)</p>{% endif %}
<details><summary>The {{ c.cycle }} calibration report in full</summary>{{ c.html }}</details>
</section>
{% endfor %}

<h2 id="settings">Run settings</h2>
<table>{% for k, v in settings %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
</body>
</html>
""")


def render_report(figures_dir: Path, calibration_dir: Path) -> str:
    """The report page (HTML text) from the outputs of ``sim figures`` in ``figures_dir``."""
    figures_dir = Path(figures_dir)
    manifest = read_manifest(figures_dir)
    calibration = calibration_sections(calibration_dir, figures_dir)
    scorecard = manifest.get("scorecard")  # absent from the figures of an older `sim figures`
    try:
        card, outcomes = scorecard_from_json(scorecard) if scorecard else (None, [])
        figures = [{**f, "src": image(figures_dir, next(n for n in f["files"] if n.endswith(".png")))}
                   for f in manifest["figures"]]
        scorecard_png = next(n for n in scorecard["files"] if n.endswith(".png")) if scorecard else ""
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        raise InputError(f"{figures_dir / MANIFEST}: a figure or the scorecard lacks a field or a PNG file "
                         f"({type(exc).__name__}: {exc}); rerun `sim figures`") from None
    how = "" if card is None else (
        f"Each cell is the policy's difference from {sentence_name(card.reference)} (mean over "
        f"{card.replications} replications that share their random draws), with its 95% confidence interval. "
        "▲/▼: the outcome rises/falls beyond noise (the interval excludes 0); ●: within noise. "
        "better/worse say whether that move is good for the project (hover a heading for its definition)."
        + (f" {card.staffing}." if card.staffing else ""))
    return TEMPLATE.render(
        title="Governance options for Nova's virt drivers: what the simulation finds",
        source=str(figures_dir),
        version=manifest.get("versions", {}).get("driversplit", "?"),
        scorecard=card is not None,
        reference=sentence_name(card.reference) if card else "",
        how_to_read=how,
        outcomes=outcomes,
        rows=scorecard_rows(card, outcomes) if card else [],
        paragraphs=[Markup(markdown_html(policy_paragraph(card, p))) for p in card.policies] if card else [],
        scorecard_image=image(figures_dir, scorecard_png) if card else "",
        figures=figures,
        calibration=calibration,
        settings=run_settings(manifest),
    )


def report_directory(out: Path, force: bool = False) -> ResultDirectory:
    """``out`` as the report's directory (marker ``report.json``); ``check()`` it before building."""
    return ResultDirectory(Path(out), REPORT_MARKER, force)


def write_report(figures_dir: Path, calibration_dir: Path, out: Path | ResultDirectory) -> Path:
    """Write ``index.html`` and ``report.json`` into ``out``; return the path of ``index.html``."""
    target = out if isinstance(out, ResultDirectory) else report_directory(out)
    target.check()
    page = render_report(figures_dir, calibration_dir)
    with target.commit() as tmp:
        (tmp / INDEX).write_text(page, encoding="utf-8")
        marker = {"figures": str(figures_dir), "calibration": str(calibration_dir), "versions": package_versions()}
        (tmp / REPORT_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return target.path / INDEX

"""Machine-readable reports of a check: ``--json FILE`` and ``--junit FILE`` (JUnit XML).

Both are written atomically (:class:`sim.safe_output.ResultFile`), whatever the verdict, and
replace only a file a previous check wrote (the JSON's ``tool`` key, the XML's root ``name``).

- JSON: the verdict, the settings of the test (family-wise error rate, Bonferroni level, power of
  the minimum detectable change), counts per status, warnings, notes, the likely cause per failing
  scenario, and one object per row of the check table (``sim.baseline.check.CHECK_COLUMNS`` plus
  the metric's unit); undefined numbers are ``null``, infinite limits the string ``"inf"``.
- JUnit: one ``<testsuite>`` per scenario, one ``<testcase>`` per (scenario, area, metric) with
  classname ``check-baseline.SCENARIO`` and name ``AREA/METRIC``; a ``<failure>`` (type ``moved``,
  ``missing``, ``undefined`` or ``unrecorded``) whose message gives the numbers, the minimum
  detectable change and the likely cause; ``<skipped>`` for metrics undefined in the baseline; the
  warnings and notes in ``<system-out>``.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from sim.baseline.check import FAILING, CheckResult
from sim.baseline.power import POWER
from sim.baseline.text import mdc_cell, number
from sim.safe_output import ResultFile

TOOL = "driversplit check-baseline"
UNITS = (("_days", "days"), ("_per_week", "per week"), ("_per_day", "per day"), ("_fraction", "fraction"),
         ("_utilization", "fraction of capacity"))


def unit_of(metric: str) -> str:
    """A metric's unit, read from its name's suffix (``time_to_merge_median_days`` -> ``days``)."""
    return next((unit for suffix, unit in UNITS if metric.endswith(suffix)), "")


def plain(x: Any) -> Any:
    """A JSON-safe scalar: numpy numbers as Python ones, NaN as None, infinities as ``"inf"``/``"-inf"``."""
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def report_dict(result: CheckResult) -> dict[str, Any]:
    """The JSON report as a dict (see the module docstring)."""
    b = result.baseline
    rows = [{**{k: plain(v) for k, v in r.items()}, "unit": unit_of(r["metric"])}
            for r in result.table.to_dict(orient="records")]
    failing = dict.fromkeys(result.failed["scenario"])
    return {
        "tool": TOOL,
        "verdict": "pass" if result.passed else "fail",
        "passed": result.passed,
        "scenarios": [e.name for e in b.scenarios],
        "replications": b.replications,
        "seed": b.seed,
        "overrides": list(b.overrides),
        "family_wise_error_rate": result.fwer,
        "level": result.level,
        "mdc_power": POWER,
        "checked": len(result.checked),
        "counts": {**result.counts, "moved_total": len(result.moved), "missing_total": len(result.missing)},
        "warnings": list(result.warnings),
        "notes": list(result.notes),
        "causes": {s: result.cause(s) for s in failing},
        "seconds": round(result.seconds, 3),
        "rows": rows,
    }


def failure_message(result: CheckResult, r: dict[str, Any]) -> str:
    """One line saying why a row fails: its numbers, its minimum detectable change, the likely cause."""
    status = r["status"]
    if status == "moved":
        what = (f"moved: stored {number(r['old_mean'])}, now {number(r['new_mean'])} (diff {r['diff']:+.4g}, "
                f"t {number(r['t'])} beyond limit {number(r['limit'])}; minimum detectable change "
                f"{mdc_cell(r['mdc'], r['mdc_percent'])})")
    elif status == "missing":
        what = f"missing: recorded (mean {number(r['old_mean'])}) but no longer produced"
    elif status == "undefined":
        what = f"missing: recorded (mean {number(r['old_mean'])}) but undefined in the rerun"
    else:
        what = f"missing: produced (mean {number(r['new_mean'])}) but not recorded in the baseline"
    cause = result.cause(r["scenario"])
    return what + (f"; likely cause: {cause}" if cause else "")


def junit_tree(result: CheckResult) -> ET.ElementTree:
    """The JUnit XML report (see the module docstring)."""
    table = result.table
    root = ET.Element("testsuites", name=TOOL, tests=str(len(table)), failures=str(len(result.failed)),
                      errors="0", time=f"{result.seconds:.3f}")
    for scenario in dict.fromkeys(table["scenario"]):
        rows = table[table["scenario"] == scenario]
        suite = ET.SubElement(root, "testsuite", name=f"check-baseline.{scenario}", tests=str(len(rows)),
                              failures=str(int(rows["status"].isin(FAILING).sum())), errors="0",
                              skipped=str(int((rows["status"] == "skipped").sum())), time="0")
        for r in rows.to_dict(orient="records"):
            case = ET.SubElement(suite, "testcase", classname=f"check-baseline.{scenario}",
                                 name=f"{r['area']}/{r['metric']}", time="0")
            if r["status"] in FAILING:
                ET.SubElement(case, "failure", type=r["status"], message=failure_message(result, r))
            elif r["status"] == "skipped":
                ET.SubElement(case, "skipped", message="undefined in the baseline (fewer than 2 replications)")
        out = [f"warning: {w}" for w in result.warnings] + [f"note: {n}" for n in result.notes]
        if out:
            ET.SubElement(suite, "system-out").text = "\n".join(out)
    ET.indent(root)
    return ET.ElementTree(root)


def is_json_report(path: Path) -> bool:
    """Was ``path`` written by :func:`write_json` (a JSON object whose ``tool`` is ours)?"""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("tool") == TOOL
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False


def is_junit_report(path: Path) -> bool:
    """Was ``path`` written by :func:`write_junit` (XML whose root ``name`` is ours)?"""
    try:
        return ET.parse(path).getroot().get("name") == TOOL
    except (OSError, ET.ParseError):
        return False


def json_target(path: str | Path) -> ResultFile:
    """The ``--json`` file as an output (``check()`` it before the rerun)."""
    return ResultFile(Path(path), is_json_report, option="--json")


def junit_target(path: str | Path) -> ResultFile:
    """The ``--junit`` file as an output (``check()`` it before the rerun)."""
    return ResultFile(Path(path), is_junit_report, option="--junit")


def write_json(result: CheckResult, target: str | Path | ResultFile) -> Path:
    """Write the JSON report atomically; returns its path."""
    out = target if isinstance(target, ResultFile) else json_target(target)
    out.write_text(json.dumps(report_dict(result), indent=2, allow_nan=False) + "\n")
    return out.path


def write_junit(result: CheckResult, target: str | Path | ResultFile) -> Path:
    """Write the JUnit XML report atomically; returns its path."""
    out = target if isinstance(target, ResultFile) else junit_target(target)
    with out.commit() as tmp:
        junit_tree(result).write(tmp, encoding="utf-8", xml_declaration=True)
    return out.path

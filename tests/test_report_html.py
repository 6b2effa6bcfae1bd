"""The HTML report: built from a figures directory, self-contained, every image loads in headless
Chromium with no console error; a broken image is caught; bad input is one clear error."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from markupsafe import escape as html_escape
from simtest import MONOLITH, SCENARIOS, run_cli

from sim.errors import InputError
from sim.outputs import figures
from sim.outputs.browser import find_chromium, headless_args, is_our_screenshot, screenshot
from sim.outputs.html_report import (
    INDEX,
    REPORT_MARKER,
    calibration_sections,
    render_report,
    write_report,
)
from sim.outputs.scorecard import build_scorecard
from sim.outputs.scorecard_plot import plot_scorecard
from sim.runs.compare import compare
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ROOT / "data" / "calibrated"
CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (Debian: apt-get install chromium "
                                                            "chromium-driver; CI installs it in .ci/run)")


@pytest.fixture(scope="module")
def figures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `sim figures` writes, from a short monolith-vs-split comparison: figures 1, 2, 3, 7 and the
    scorecard (figure, figures.json entry) exactly as make_figures adds them."""
    scenarios = [load_scenario(MONOLITH, ["run.warmup_days=30"]),
                 load_scenario(SCENARIOS / "split.toml", ["run.warmup_days=30"])]
    cmp = compare(scenarios, 2, 5, workers=2)
    out = tmp_path_factory.mktemp("figs")
    figures.comparison_figures(cmp, out)
    card = build_scorecard(cmp)
    figures.save_figure(plot_scorecard(card), out, figures.SCORECARD)
    manifest = json.loads((out / figures.MANIFEST).read_text())
    manifest["scorecard"] = {"files": [f"{figures.SCORECARD}.{f}" for f in figures.FORMATS], **card.to_json()}
    (out / figures.MANIFEST).write_text(json.dumps(manifest))
    for cycle in ("juno", "kilo"):  # written into figures/ by `sim calibrate`
        shutil.copy(ROOT / "figures" / f"calibration_{cycle}.png", out)
    return out


def browser_check(index: Path) -> tuple[list[dict], list[dict]]:
    """Open ``index`` in headless Chromium (Selenium, chromedriver): every <img> with its naturalWidth,
    and the browser console's SEVERE entries."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in headless_args(CHROMIUM)[1:]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options)
    try:
        driver.get(index.resolve().as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => ({src: i.src.slice(0, 40), complete: i.complete, "
            "width: i.naturalWidth}));")
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
    return images, errors


def test_report_holds_everything_and_no_link_leaves_the_page(figures_dir: Path, tmp_path: Path) -> None:
    index = write_report(figures_dir, CALIBRATION, tmp_path / "report")
    html = index.read_text()
    manifest = json.loads((figures_dir / figures.MANIFEST).read_text())
    for f in manifest["figures"]:
        assert html_escape(f["finding"]) in html
    assert "Scorecard" in html and "split repos" in html and "Calibration" in html
    for cycle in ("juno", "kilo"):  # each calibration report's title
        title = (CALIBRATION / f"{cycle}.md").read_text().splitlines()[0].lstrip("# ")
        assert f"<h3>{title}</h3>" in html
    srcs = re.findall(r'<img [^>]*src="([^"]*)"', html)
    assert len(srcs) == len(manifest["figures"]) + 1 + 2  # figures, scorecard, two calibration figures
    assert all(s.startswith("data:image/png;base64,") for s in srcs)  # self-contained
    assert not re.search(r'(src|href)="(https?:|//)', html)  # nothing fetched from the network
    assert sorted(p.name for p in index.parent.iterdir()) == [INDEX, REPORT_MARKER]
    again = write_report(figures_dir, CALIBRATION, tmp_path / "report")  # ours: replaced, byte for byte
    assert again.read_text() == html


@needs_chromium
def test_every_image_loads_in_headless_chromium(figures_dir: Path, tmp_path: Path) -> None:
    index = write_report(figures_dir, CALIBRATION, tmp_path / "report")
    images, errors = browser_check(index)
    assert len(images) >= 5
    assert all(i["complete"] and i["width"] > 0 for i in images), images
    assert errors == []


@needs_chromium
def test_a_broken_image_is_caught(figures_dir: Path, tmp_path: Path) -> None:
    index = write_report(figures_dir, CALIBRATION, tmp_path / "report")
    html = index.read_text()
    first = re.search(r'<img [^>]*src="(data:image/png;base64,[^"]*)"', html).group(1)
    index.write_text(html.replace(first, "data:image/png;base64,AAAA", 1))  # not a PNG
    images, _ = browser_check(index)
    assert sum(1 for i in images if i["width"] == 0) == 1
    index.write_text(html.replace(first, "missing.png", 1))  # a file that is not there: a console error too
    images, errors = browser_check(index)
    assert sum(1 for i in images if i["width"] == 0) == 1
    assert any("missing.png" in e["message"] for e in errors), errors


@needs_chromium
def test_screenshot_is_a_png_of_ours_and_never_replaces_a_foreign_file(figures_dir: Path, tmp_path: Path) -> None:
    index = write_report(figures_dir, CALIBRATION, tmp_path / "report")
    shot = screenshot(index, tmp_path / "report.png", window=(800, 600))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and is_our_screenshot(shot)
    screenshot(index, shot, window=(800, 600))  # ours: replaced
    foreign = tmp_path / "other.png"
    foreign.write_bytes(b"not ours")
    with pytest.raises(InputError, match="not written by driversplit"):
        screenshot(index, foreign)
    assert foreign.read_bytes() == b"not ours"


def test_figures_of_an_older_version_without_a_scorecard_still_make_a_report(figures_dir: Path,
                                                                            tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(figures_dir, old)
    manifest = json.loads((old / figures.MANIFEST).read_text())
    del manifest["scorecard"]
    (old / figures.MANIFEST).write_text(json.dumps(manifest))
    html = render_report(old, CALIBRATION)
    assert "holds no scorecard" in html and 'class="scorecard"' not in html
    manifest["figures"][0]["files"] = ["fig.svg"]  # no PNG listed: one clear error
    (old / figures.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="figures.json: a figure or the scorecard lacks"):
        render_report(old, CALIBRATION)


def test_missing_figures_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="figures.json: not found"):
        render_report(tmp_path, CALIBRATION)
    (tmp_path / "figures.json").write_text("{not json")
    with pytest.raises(InputError, match="figures.json: not valid JSON"):
        render_report(tmp_path, CALIBRATION)
    proc = run_cli("report", "--figures", str(tmp_path), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "figures.json" in proc.stderr
    assert not (tmp_path / "r").exists()
    (tmp_path / "figures.json").write_text('{"figures": []}')
    with pytest.raises(InputError, match="--calibration .*: holds none of juno.md, kilo.md"):
        render_report(tmp_path, tmp_path)


def test_report_never_replaces_a_foreign_directory(figures_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = run_cli("report", "--figures", str(figures_dir), "--out", str(out))
    assert proc.returncode == 2 and "not a driversplit result" in proc.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    proc = run_cli("report", "--figures", str(figures_dir), "--out", str(tmp_path / "new"))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("report", "--figures", str(figures_dir), "--out", str(tmp_path / "new"))  # ours: replaced
    assert proc.returncode == 0, proc.stderr


def test_calibration_summary_counts_the_fit_criteria(tmp_path: Path) -> None:
    (tmp_path / "juno.md").write_text("# Calibration on juno\n\nOpening words.\n\n## Fit criteria\n\n"
                                      "| criterion | value | target | met |\n|---|---|---|---|\n"
                                      "| a | 1 | <= 2 | yes |\n| b | 3 | <= 2 | no |\n| c | 1 | <= 2 | yes |\n\n"
                                      "## Other\n\n| x | met |\n|---|---|\n| y | no |\n")
    (section,) = calibration_sections(tmp_path, tmp_path, ["juno", "kilo"])  # kilo.md absent: left out
    assert (section["met"], section["total"]) == (2, 3)
    assert section["title"] == "Calibration on juno" and "Opening words." in section["opening"]
    assert section["image"].startswith("data:image/png") == (ROOT / "figures" / "calibration_juno.png").is_file()

"""Headless Chromium for the report: find the browser, take a screenshot of a page.

Uses the browser's own command line (``--headless --screenshot``), so no Python package is needed
at run time; the browser test (tests/test_report_html.py) drives it with Selenium instead.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, PngImagePlugin

from sim.errors import InputError
from sim.safe_output import ResultFile

BROWSERS: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "chrome")
SOFTWARE = "driversplit report screenshot"  # PNG "Software" text: marks a screenshot we wrote
WINDOW: tuple[int, int] = (1400, 1900)  # CSS pixels: the scorecard and the first figure
TIMEOUT_S = 120.0


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def headless_args(browser: str) -> list[str]:
    """The command line of a headless, sandbox-free (root in containers), offline browser run."""
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--no-first-run", "--disable-extensions"]


def is_our_screenshot(path: Path) -> bool:
    """``path`` is a PNG this module wrote (its "Software" text says so)."""
    try:
        with Image.open(path) as im:
            return im.info.get("Software") == SOFTWARE
    except (OSError, ValueError):
        return False


def screenshot(page: Path, out: Path, force: bool = False, window: tuple[int, int] = WINDOW) -> Path:
    """Save a PNG of the top ``window`` (CSS pixels) of ``page`` as rendered by headless Chromium.

    An existing ``out`` is replaced only when it is a screenshot of ours, or with ``force``.
    """
    target = ResultFile(Path(out), is_our_screenshot, force, option="--screenshot")
    target.check()
    browser = find_chromium()
    if browser is None:
        raise InputError(f"--screenshot {out}: no Chromium found on PATH (tried {', '.join(BROWSERS)}); "
                         "install it (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "shot.png"
        cmd = [*headless_args(browser), f"--window-size={window[0]},{window[1]}", f"--screenshot={raw}",
               f"--user-data-dir={Path(scratch) / 'profile'}", Path(page).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        if done.returncode != 0 or not raw.is_file():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"{browser} could not take the screenshot (exit {done.returncode}): {tail}")
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", SOFTWARE)
        with Image.open(raw) as im, target.commit() as tmp:
            im.save(tmp, format="PNG", pnginfo=info, optimize=True)
    return target.path

"""``python -m sim report``: the self-contained HTML report from the outputs of ``sim figures``.

Heavy imports happen inside the command so ``python -m sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim import paths

DEFAULT_FIGURES = Path("figures")
DEFAULT_OUT = Path("report")


def cmd_report(args: argparse.Namespace) -> int:
    from sim.outputs.html_report import report_directory, write_report

    target = report_directory(Path(args.out), args.force)
    if args.screenshot:
        from sim.outputs.browser import is_our_screenshot
        from sim.safe_output import ResultFile

        ResultFile(Path(args.screenshot), is_our_screenshot, args.force_screenshot, "--screenshot").check()
    calibration = Path(args.calibration) if args.calibration else paths.DATA / "calibrated"
    index = write_report(Path(args.figures), calibration, target)
    print(f"wrote {index} (self-contained: open it in any browser, no network needed)")
    if args.screenshot:
        from sim.outputs.browser import screenshot

        shot = screenshot(index, Path(args.screenshot), force=args.force_screenshot)
        print(f"wrote {shot} (headless Chromium, top of the page)")
    return 0


def add_report_command(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` to the CLI's subcommands."""
    rep = sub.add_parser("report", help="write report/index.html: scorecard, figures, findings, calibration and "
                                        "run settings in one self-contained page (reads the outputs of `sim figures`)")
    rep.add_argument("--figures", default=str(DEFAULT_FIGURES), metavar="DIR",
                     help="directory written by `sim figures` (default figures/)")
    rep.add_argument("--out", default=str(DEFAULT_OUT), metavar="DIR",
                     help="output directory (default report/); a previous report there is replaced, other files "
                          "are never touched")
    rep.add_argument("--force", action="store_true",
                     help="write into an existing directory that holds other files (only index.html and report.json "
                          "are replaced)")
    rep.add_argument("--calibration", metavar="DIR",
                     help="directory of the calibration reports juno.md, kilo.md (default data/calibrated/)")
    rep.add_argument("--screenshot", metavar="FILE.png",
                     help="also save a PNG of the top of the page, rendered by headless Chromium")
    rep.add_argument("--force-screenshot", action="store_true",
                     help="replace a --screenshot file that driversplit did not write")
    rep.set_defaults(func=cmd_report)

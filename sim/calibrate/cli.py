"""``python -m sim data extract|summary``: build a changes CSV from git, print its empirical summaries.

Bad input (missing file, malformed CSV, unknown cycle, missing repository, an ``--out`` that
cannot be written) exits with code 2 and one line on stderr naming the file and field;
``extract`` checks ``--out`` before walking the repository, replaces only a changes CSV it wrote
(or any file with ``--force``) and never leaves a partial or temporary file.
Heavy imports (pandas) happen inside the commands so ``python -m sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sim import argtypes, paths
from sim.calibrate import DataError

if TYPE_CHECKING:
    from sim.runs.study import TaskCache

MAX_BOOTSTRAP = 100_000  # resamples: beyond, the quantile intervals no longer move
MAX_BUDGET = 100_000  # simulation evaluations: days of computing, beyond any fit here
FIT_FAILED = 3  # exit code of a fit that misses one of its criteria
DEFAULT_BUDGET, DEFAULT_REPLICATIONS = 250, 8


def _utc_time(text: str) -> datetime:
    """argparse type: an ISO 8601 time; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time (e.g. 2011-01-01T00:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _data_errors_exit_2(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run


@_data_errors_exit_2
def cmd_extract(args: argparse.Namespace) -> int:
    import pandas as pd

    from sim.calibrate.data import check_output, load_changes, write_changes
    from sim.calibrate.extract import extract, load_area_rules

    check_output(args.out, force=args.force)
    rules = load_area_rules(args.areas)
    since = None if args.since is None else pd.Timestamp(args.since)
    until = None if args.until is None else pd.Timestamp(args.until)
    frame = extract(args.repo, rules, branch=args.branch, since=since, until=until)
    if frame.empty:
        raise DataError(f"{args.repo}: no change landed on {args.branch} in the selected period (--since/--until)")
    write_changes(frame, args.out, force=args.force)
    try:  # the history itself may break a rule of the loader (a commit dated before 2000 or in the future)
        table = load_changes(args.out, include_suspect=True, drivers=rules.drivers)
    except DataError as exc:
        raise DataError(f"{exc} (the file is kept to show the row; the loader refuses it)") from None
    print(f"wrote {args.out}: {table.rows_read} rows from {frame['merge_commit'].nunique()} landing commits, "
          f"{frame['author_id'].nunique()} authors, {table.suspect_rows} suspect")
    return 0


def _table(title: str, frame, decimals: int | dict[str, int]) -> str:
    return f"\n{title}\n{frame.round(decimals).to_string()}"


@_data_errors_exit_2
def cmd_summary(args: argparse.Namespace) -> int:
    from sim.calibrate.data import load_changes, load_model_areas, model_areas
    from sim.calibrate.summaries import cycle_summary, cycles_overview, quantile_cis

    table = load_changes(args.data or paths.NOVA_CHANGES, include_suspect=args.include_suspect)
    frame, area_col = table.frame, "area"
    if args.areas:
        mapping = load_model_areas(args.areas)
        try:
            frame = frame.assign(model_area=model_areas(frame["area"], mapping, args.default_area))
        except DataError as exc:
            raise DataError(f"{args.areas}: {exc}") from None
        area_col = "model_area"
    print(table.report())
    if args.cycle is None:
        print(_table("Per release (days; merges per cycle week, dispersion = variance / mean):",
                     cycles_overview(frame), 1))
        return 0
    try:
        summary = cycle_summary(frame, args.cycle, area_col)
    except DataError as exc:
        raise DataError(f"{table.source}: --cycle {args.cycle}: {exc}") from None
    rows = frame[frame["release"] == args.cycle]
    print(f"{args.cycle}: ({summary.start:%Y-%m-%dT%H:%M:%SZ}, {summary.end:%Y-%m-%dT%H:%M:%SZ}], "
          f"{summary.weeks} weeks, {len(rows)} changes merged")
    print(_table("Days: time to merge (authored -> merged), revision (authored -> last upload), "
                 "final (last upload -> merged); quantiles p50 / p75 / p90", summary.phases, 1))
    if args.bootstrap:
        cis = quantile_cis(rows, area_col, n_boot=args.bootstrap, seed=args.seed)
        title = f"Time to merge (days), 90% bootstrap intervals ({args.bootstrap} resamples, seed {args.seed})"
        print(_table(title, cis, 1))
    print(_table("Size: log(changed lines) mean and sd over changes with lines > 0; median lines", summary.size, 2))
    print(_table("Mix: kind shares, share touching the virt interface, share driver-only, distinct authors, "
                 "share of uploads on weekends",
                 summary.mix, 3))
    print(_table("Per cycle week: changes authored (arrivals, whatever their release) and merged; "
                 "dispersion = variance / mean", summary.weekly, 2))
    return 0


def add_data_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``data extract`` and ``data summary`` to the ``python -m sim`` subcommands."""
    data = sub.add_parser("data", help="merged-change histories: extract one from git, summarise one")
    commands = data.add_subparsers(dest="data_command", required=True)

    ext = commands.add_parser("extract", help="build a changes CSV from a Gerrit-managed project's git clone")
    ext.add_argument("--repo", required=True, help="path of the git clone")
    ext.add_argument("--out", required=True, help="output FILE.csv (or FILE.csv.gz, gzipped); an existing file is "
                                                  "replaced only when it is a changes CSV (see --force)")
    ext.add_argument("--force", action="store_true",
                     help="replace --out even when it is a file other than a changes CSV (its first line is not "
                          "the changes header)")
    ext.add_argument("--areas", help="areas TOML: path -> area rules, drivers, cycles (Nova: data/nova/areas.toml); "
                                     "default: every path in 'other', no release labels")
    ext.add_argument("--branch", default="master", help="branch whose first-parent chain is walked (default master)")
    ext.add_argument("--since", type=_utc_time, help="keep rows merged at or after this UTC time")
    ext.add_argument("--until", type=_utc_time, help="keep rows merged at or before this UTC time")
    ext.set_defaults(func=cmd_extract)

    summ = commands.add_parser("summary", help="empirical summaries per release cycle and area")
    summ.add_argument("--data", help="changes CSV (default: the shipped Nova history)")
    summ.add_argument("--cycle", help="release cycle to detail (default: one line per cycle)")
    summ.add_argument("--areas", metavar="SCENARIO.toml",
                      help="group data areas into the [areas.NAME] of a scenario (data_areas, default [NAME])")
    summ.add_argument("--default-area", default="other", help="model area of data areas no model area lists (default other)")
    summ.add_argument("--include-suspect", action="store_true", help="keep rows flagged suspect")
    summ.add_argument("--bootstrap", type=argtypes.whole(0, MAX_BOOTSTRAP), default=1000, metavar="N",
                      help=f"resamples for the 90%% intervals of time-to-merge quantiles, 0 (none) to {MAX_BOOTSTRAP:,} "
                           "(default 1000)")
    summ.add_argument("--seed", type=argtypes.count, default=1, help="bootstrap seed (default 1)")
    summ.set_defaults(func=cmd_summary)


def __getattr__(name: str) -> Path | str:
    """The data paths the commands default to, resolved when read (the data directory is chosen by
    ``--data-dir`` after the parser is built; see :mod:`sim.paths`)."""
    if name in ("NOVA_CHANGES", "CALIBRATION", "CALIBRATED"):
        return getattr(paths, name)
    if name == "DEFAULT_TEMPLATE":
        return str(paths.CALIBRATION / "nova_template.toml")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



def load_changes_file(path: str) -> list[tuple[str, object, str]]:
    """The stated changes of an out-of-sample cycle: ``[[change]]`` tables with key, value, reason."""
    from sim.calibrate.data import read_toml

    raw = read_toml(path)
    changes = []
    for i, item in enumerate(raw.get("change", [])):
        missing = [k for k in ("key", "value", "reason") if k not in item]
        if missing:
            raise DataError(f"{path}: change[{i}]: missing {', '.join(missing)}")
        changes.append((str(item["key"]), item["value"], str(item["reason"])))
    return changes


def _cache(args: argparse.Namespace) -> TaskCache | None:
    """The study runner's task cache of ``--cache`` (checked now), or None."""
    if args.cache is None:
        return None
    from sim.runs.study import TaskCache  # here, not at the top: building the parser stays light

    cache = TaskCache(Path(args.cache))
    cache.check()
    return cache


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit (or predict) a cycle; exit 0 when every criterion of a fit is met, 3 when one is not."""
    from sim.calibrate.pipeline import calibrate_cycle, predict_cycle

    fit_only = {"--template": args.template, "--budget": args.budget, "--replications": args.replications,
                "--warm-start": args.warm_start or None, "--defects-only": args.defects_only or None}
    misplaced = ([flag for flag, value in fit_only.items() if value is not None] if args.predict_from
                 else ["--changes"] if args.changes else [])
    if misplaced:
        what = "apply only to a fit (without --predict-from)" if args.predict_from else "applies only with --predict-from"
        raise DataError(f"{', '.join(misplaced)}: {what}")
    out, results, figures = calibration_paths(args)
    data = args.data or str(paths.NOVA_CHANGES)
    template = args.template or str(paths.CALIBRATION / "nova_template.toml")
    try:
        if args.predict_from:
            changes = load_changes_file(args.changes) if args.changes else []
            check = predict_cycle(data, args.cycle, args.predict_from, changes, out, results=results,
                                  figures=figures, replications=args.check_replications, seed=args.seed,
                                  workers=args.workers, force=args.force, cache=_cache(args))
        else:
            check = calibrate_cycle(data, args.cycle, template, out, results=results,
                                    figures=figures, budget=DEFAULT_BUDGET if args.budget is None else args.budget,
                                    replications=args.replications or DEFAULT_REPLICATIONS,
                                    check_replications=args.check_replications, seed=args.seed, workers=args.workers,
                                    force=args.force, cache=_cache(args), warm_start=args.warm_start,
                                    identified=not args.defects_only)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_check(check)
    print(f"wrote {out}, {results}/, {figures}/calibration_{args.cycle}.png/.svg")
    met, total = int(check.criteria["passed"].sum()), len(check.criteria)
    if args.predict_from:
        print(f"{met} of {total} criteria met (an out-of-sample prediction: its misses are reported, not failed)")
        return 0
    print(f"{met} of {total} criteria met" + ("" if met == total else
                                              "; the fit is not good enough to use (exit 3): see the table above"))
    return 0 if met == total else FIT_FAILED


def calibration_paths(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """Where a calibration writes: the committed calibration only with ``--write``; by default a
    scratch directory ``results/calibrate/<cycle>/``. Explicit ``--out``, ``--results`` and
    ``--figures`` win either way."""
    cycle = args.cycle
    if args.write:
        out, results, figures = paths.CALIBRATED / f"{cycle}.toml", Path(f"results/calibration_{cycle}"), Path("figures")
    else:
        scratch = Path("results") / "calibrate" / cycle
        out, results, figures = scratch / f"{cycle}.toml", scratch / "report", scratch / "figures"
    return (Path(args.out) if args.out else out, Path(args.results) if args.results else results,
            Path(args.figures) if args.figures else figures)


def _print_check(check) -> None:
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 20):
        cols = ["area", "metric", "n", "observed", "low", "high", "simulated", "sim_half", "rel_error", "inside"]
        table = check.table[check.table["phase"] == "time_to_merge"][cols]
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
        if not check.criteria.empty:
            print(check.criteria.to_string(index=False, float_format=lambda x: f"{x:.3g}"))


def add_calibrate_command(sub: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` to the ``python -m sim`` subcommands."""
    cal = sub.add_parser("calibrate", help="fit the hidden parameters to a cycle's history, or predict a cycle")
    cal.add_argument("--data", help="changes CSV (default: the shipped Nova history)")
    cal.add_argument("--cycle", required=True, help="release cycle to fit (or to predict with --predict-from)")
    cal.add_argument("--template", help="scenario whose structure, facts and assumptions the fit starts from "
                                        "(default data/calibration/nova_template.toml)")
    cal.add_argument("--write", action="store_true",
                     help="write the committed calibration: data/calibrated/<cycle>.toml and .md, "
                          "results/calibration_<cycle>/, figures/calibration_<cycle>.png/.svg (default: all under "
                          "results/calibrate/<cycle>/, so a trial fit never replaces the committed one)")
    cal.add_argument("--out", help="calibrated scenario TOML, its .md report beside it (default "
                                   "results/calibrate/<cycle>/<cycle>.toml; with --write data/calibrated/<cycle>.toml)")
    cal.add_argument("--results", help="fit report directory (default results/calibrate/<cycle>/report/; with "
                                       "--write results/calibration_<cycle>/)")
    cal.add_argument("--figures", help="directory of calibration_<cycle>.png/.svg (default "
                                       "results/calibrate/<cycle>/figures/; with --write figures/)")
    replications = argtypes.replications
    cal.add_argument("--budget", type=argtypes.whole(0, MAX_BUDGET),
                     help=f"simulation evaluations of the least-squares stages, 0 to {MAX_BUDGET:,} (default "
                          f"{DEFAULT_BUDGET}; each stage runs at least its floor: 10 shared + 20 joint, so 0 gives the "
                          "smallest fit)")
    cal.add_argument("--defects-only", action="store_true",
                     help="the earlier fit (before issue 14): every per-area difference read as change quality "
                          "(defects_mean), no shrinkage prior; by default the fit also fits each area's attention and "
                          "authors' pace, with a shrinkage prior whose strength is chosen by 2-fold cross-validation")
    cal.add_argument("--warm-start", action="store_true",
                     help="start at the template's values as at an optimum: skip the shared and moment-matching "
                          "stages and spend the budget on the joint stage")
    cal.add_argument("--replications", type=replications,
                     help=f"replications per evaluation (common random numbers; 1 to the schema's cap; default "
                          f"{DEFAULT_REPLICATIONS})")
    cal.add_argument("--check-replications", type=replications, default=12,
                     help="fresh replications judging the fit (with --predict-from: the replications of the "
                          "prediction); 1 to the schema's cap (default 12)")
    cal.add_argument("--seed", type=argtypes.count, default=1, help="seed of the fit's replications (default 1)")
    cal.add_argument("--workers", type=argtypes.positive, default=2, help="worker processes (default 2; 1: no pool)")
    cal.add_argument("--predict-from", metavar="SCENARIO.toml",
                     help="out of sample: keep this calibrated scenario's hidden parameters, no fitting (with "
                          "the --cycle it was fitted on: a check of the fit on fresh seeds, chosen by --seed)")
    cal.add_argument("--changes", metavar="CHANGES.toml", help="with --predict-from: what the facts say changed")
    cal.add_argument("--force", action="store_true",
                     help="let --out, --results and --figures replace files this command did not write")
    cal.add_argument("--cache", metavar="DIR",
                     help="keep each simulated replication under DIR (the study runner's task cache): a killed fit "
                          "re-run reads back what it ran (default: no cache)")
    cal.set_defaults(func=cmd_calibrate)

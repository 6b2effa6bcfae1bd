"""Command line: ``python -m sim COMMAND`` (installed: ``driversplit COMMAND``). A thin layer over the Python API.

Commands: run, compare, figures, check-baseline, validate, bench, params, data, calibrate, report, ensemble, sensitivity.
Global options (given before the command): ``--data-dir DIR``, ``-q``/``-v``, ``--version``.
Building the parser imports nothing heavy (no numpy, scipy, pandas, SimPy, matplotlib, pydantic):
each command imports what it needs, so ``--help`` answers at once.
Bad input (any :class:`~sim.errors.InputError`) exits with code 2 and one line on stderr, before
any simulation when it can be known then. Ctrl-C (SIGINT), SIGTERM and SIGHUP stop the command at
once: workers end, temporary outputs are removed, the previous result stays; the exit code is
128 + the signal's number.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sim import argtypes, paths
from sim.errors import InputError
from sim.progress import Progress, duration

if TYPE_CHECKING:
    from sim.runs.study import TaskCache

THEORY_REPLICATIONS = 20  # sim validate (theory): replications per check
CASES_REPLICATIONS = 10  # sim validate cases: replications per scenario of a case


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """The study runner's options (:mod:`sim.runs.study`, :mod:`sim.runs.executors`): a task cache
    to resume from, and where the replications run (local processes by default, or dask)."""
    group = parser.add_argument_group("study runner")
    group.add_argument("--cache", metavar="DIR",
                       help="keep each finished replication under DIR (Parquet, keyed by scenario, seed, replication "
                            "and model version): a killed run resumes, a repeated one costs nothing (default: no cache)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the replications on a dask.distributed scheduler (e.g. tcp://host:8786) instead of "
                            "--workers local processes")
    where.add_argument("--dask-local", type=argtypes.whole(1, 256), metavar="N",
                       help="run the replications on a local dask cluster of N worker processes (1 to 256)")


def study_cache(args: argparse.Namespace) -> TaskCache | None:
    """The :class:`~sim.runs.study.TaskCache` of ``--cache`` (checked now), or None."""
    from sim.runs.study import TaskCache

    if getattr(args, "cache", None) is None:
        return None
    cache = TaskCache(Path(args.cache))
    cache.check()
    return cache


def study_executor_of(args: argparse.Namespace, tasks: int) -> AbstractContextManager[Executor | None]:
    """The executor ``--workers``, ``--scheduler`` or ``--dask-local`` ask for (a context manager)."""
    from sim.runs.executors import study_executor

    return study_executor(args.workers, tasks=tasks, scheduler=getattr(args, "scheduler", None),
                          dask_local=getattr(args, "dask_local", None))


def _cache_note(cache: TaskCache | None, total: int) -> None:
    if cache is not None:
        print(f"cache {cache.root}: {cache.hits} of {total} replications read back, {cache.stored} run and stored")


def cmd_run(args: argparse.Namespace) -> int:
    from sim.runs.records_io import changes_file
    from sim.outputs.report import headline_table, result_directory, run_output, write_run_files
    from sim.runs.runner import run_replications
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.set or ())
    n = args.replications or scenario.run.replications
    seed = scenario.run.seed if args.seed is None else args.seed
    out = Path(args.out) if args.out else Path("results") / scenario.scenario.name
    target = result_directory(out, args.force)
    target.check()
    cache = study_cache(args)
    with run_output(target, args.records) as (tmp, changes):
        with Progress(n, scenario.scenario.name) as bar, study_executor_of(args, n) as executor:
            result = run_replications(scenario, n, seed, workers=args.workers, executor=executor,
                                      progress=bar.update, cache=cache, changes_to=changes.write)
        write_run_files(result, tmp)
    _cache_note(cache, n)
    print(f"{scenario.scenario.name} (policy {scenario.policy.name}): {n} replications, seed {seed}")
    print(headline_table(result.summary))
    print(f"wrote {out}/summary.csv, {changes_file(args.records)}, run.json")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.outputs.figures import comparison_figures
    from sim.outputs.report import comparison_headline, result_directory, write_comparison
    from sim.runs.compare import compare
    from sim.scenario import load_scenario

    scenarios = [load_scenario(path, args.set or ()) for path in args.scenarios]
    n = args.replications or scenarios[0].run.replications
    seed = scenarios[0].run.seed if args.seed is None else args.seed
    out = Path(args.out) if args.out else Path("results") / "compare"
    target = result_directory(out, args.force)
    target.check()
    cache = study_cache(args)
    total = n * len(scenarios)
    with Progress(total, "compare") as bar, study_executor_of(args, total) as executor:
        result = compare(scenarios, n, seed, workers=args.workers, executor=executor, progress=bar.update,
                         cache=cache)
    write_comparison(result, target, extra=lambda tmp: comparison_figures(result, tmp / "figures"))
    _cache_note(cache, total)
    print(f"{len(scenarios)} scenarios x {n} replications, seed {seed}, common random numbers; "
          f"differences are paired, from {result.names[0]}")
    print(comparison_headline(result))
    print(f"wrote {out}/comparison.csv, summary.csv, run.json, figures/")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from sim.outputs.figures import DEFAULT_REPLICATIONS, make_figures

    out = Path(args.out) if args.out else Path("figures")
    n = args.replications or DEFAULT_REPLICATIONS
    cache = study_cache(args)
    outputs = make_figures(out, n, args.seed, args.workers, sweep_replications=args.sweep_replications,
                           overrides=args.set or (), scenario_dir=args.scenario_dir, force=args.force,
                           ensemble_draws=args.ensemble_draws, ensemble_replications=args.ensemble_replications,
                           cache=cache, scheduler=args.scheduler, dask_local=args.dask_local)
    for o in outputs:
        print(f"{o.number}. {o.heading}: {o.finding}")
    print(f"wrote {out}/: {len(outputs)} figures as PNG and SVG, README.md, figures.json")
    if cache is not None:
        print(f"cache {cache.root}: {cache.hits} replications read back, {cache.stored} run and stored")
    return 0


def cmd_check_baseline(args: argparse.Namespace) -> int:
    from sim.baseline import (
        BaselineError,
        check_baseline,
        json_target,
        junit_target,
        load_baseline,
        update_baseline,
        update_settings,
        write_json,
        write_junit,
    )

    directory = Path(args.baseline) if args.baseline else paths.BASELINE_DIR
    update_only = [flag for flag, value in (("--scenario", args.scenario), ("--set", args.set),
                                            ("--replications", args.replications), ("--seed", args.seed),
                                            ("--force", args.force or None))
                   if value is not None]
    if update_only and not args.update:
        print(f"error: {', '.join(update_only)} only apply with --update (the check re-runs what "
              f"{directory}/baseline.json records)", file=sys.stderr)
        return 2
    check_only = [flag for flag, value in (("--json", args.json), ("--junit", args.junit)) if value is not None]
    if check_only and args.update:
        print(f"error: {', '.join(check_only)} only apply to a check, not with --update", file=sys.stderr)
        return 2
    reports = [(write, target(path)) for write, target, path in ((write_json, json_target, args.json),
                                                                 (write_junit, junit_target, args.junit)) if path]
    for _, target in reports:
        target.check()  # a path that cannot be written fails now, not after the rerun
    try:
        baseline = None if args.update else load_baseline(directory)
    except BaselineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if baseline is not None:
        total = baseline.replications * len(baseline.scenarios)
    else:
        settings = update_settings(directory, args.scenario, args.set, args.replications, args.seed)
        total = settings.replications * len(settings.scenario_files)
    cache = study_cache(args)
    with Progress(total, "check-baseline") as bar, study_executor_of(args, total) as executor:
        progress = bar.update
        if args.update:
            written = update_baseline(directory, settings.scenario_files, overrides=settings.overrides,
                                      replications=settings.replications, seed=settings.seed,
                                      workers=args.workers, executor=executor, progress=progress,
                                      force=args.force, cache=cache)
            names = ", ".join(e.name for e in written.scenarios)
            print(f"recorded {len(written.scenarios)} scenarios ({names}) x {written.replications} replications, "
                  f"seed {written.seed}, in {duration(bar.elapsed())}")
            print(f"wrote {directory}/summary.csv ({len(written.summary)} rows), baseline.json, README.md")
            _cache_note(cache, total)
            return 0
        print(f"check-baseline: {len(baseline.scenarios)} scenarios x {baseline.replications} replications, "
              f"{args.workers} worker(s)", flush=True)
        result = check_baseline(baseline, workers=args.workers, executor=executor, progress=progress,
                                fwer=args.alpha, cache=cache)
    for warning in result.warnings:
        print(f"warning: {warning}")
    for note in result.notes:
        print(f"note: {note}")
    print(result.report())
    for write, target in reports:
        print(f"wrote {write(result, target)}")
    _cache_note(cache, total)
    return 0 if result.passed else 1


def cmd_validate(args: argparse.Namespace) -> int:
    if args.what == "cases":
        return cmd_validate_cases(args)
    from sim.validate import run_checks

    replications = args.replications or THEORY_REPLICATIONS
    return 0 if run_checks(replications=replications, seed=args.seed, workers=args.workers) else 1


def cmd_validate_cases(args: argparse.Namespace) -> int:
    """The natural-experiment registry: exit 0 when every outcome holds, 3 when one does not."""
    from sim import cases

    output = cases.cases_output(Path(args.out), force=args.force)
    output.check()
    loaded = cases.load_cases(Path(args.cases) if args.cases else paths.CASES_DIR)
    replications = args.replications or CASES_REPLICATIONS
    table = cases.run_cases(loaded, replications, args.seed, args.workers)
    print(cases.format_cases(table))
    with output.commit() as tmp:
        table.to_csv(tmp, index=False)
    print(f"wrote {args.out}")
    return 0 if bool(table["holds"].all()) else 3


def cmd_bench(args: argparse.Namespace) -> int:
    from sim.bench import main as bench_main

    return bench_main(args.scenario, args.repeat, args.costs)


def cmd_params(args: argparse.Namespace) -> int:
    from sim.scenario.table import parameter_table, update_markdown

    if args.update:
        changed = update_markdown(args.update)
        print(f"{args.update}: parameter table {'updated' if changed else 'already up to date'}")
    else:
        print(parameter_table())
    return 0


def package_version() -> str:
    """The installed distribution's version; ``sim.__version__`` when run from a source tree never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("driversplit")
    except PackageNotFoundError:
        import sim

        return sim.__version__


class _VersionAction(argparse.Action):
    """``--version``: print ``driversplit VERSION`` and exit 0 (importlib.metadata is read only then)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(f"driversplit {package_version()}")
        parser.exit()


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command, given before it: ``python -m sim -q --data-dir DIR figures``."""
    parser.add_argument("--version", action=_VersionAction, help="print the package version and exit")
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"the project's data directory (scenarios/, calibrated/, baseline/, ...); default: "
                             f"${paths.DATA_ENV}, else the repository's data/ when run from a clone, else the "
                             "copy installed with the package")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", dest="log_level", action="store_const", const=logging.WARNING,
                           default=logging.INFO,
                           help="warnings and errors only: no notes, no progress lines (default: notes and progress)")
    verbosity.add_argument("-v", "--verbose", dest="log_level", action="store_const", const=logging.DEBUG,
                           help="debug notes too (the version and the data directory in use)")


def build_parser() -> argparse.ArgumentParser:
    from sim.outputs import ensemble_command  # light: its heavy imports are inside the command

    installed_command = Path(sys.argv[0]).name == "driversplit"  # the console script of [project.scripts]
    parser = argparse.ArgumentParser(prog="driversplit" if installed_command else "python -m sim",
                                     description=__doc__.splitlines()[0],
                                     epilog="`python -m sim COMMAND --help` describes a command. Installed, the "
                                            "same commands run as `driversplit COMMAND`.")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run replications of a scenario and write summary.csv, changes.parquet, run.json")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--replications", type=argtypes.replications, help="replications (default: the scenario's run.replications)")
    run.add_argument("--seed", type=argtypes.count, help="root seed (default: the scenario's run.seed)")
    run.add_argument("--workers", type=argtypes.positive, default=1, help="parallel worker processes (default 1; capped at the machine's cores)")
    run.add_argument("--out", help="output directory (default results/<scenario name>/); a previous result there "
                                   "is replaced, other files are never touched")
    run.add_argument("--force", action="store_true", help="write into an existing directory that holds other files (only this command's outputs are replaced)")
    run.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a scenario value")
    run.add_argument("--records", choices=("parquet", "csv"), default="parquet",
                     help="format of the per-change records: changes.parquet (default) or changes.csv.gz")
    add_executor_options(run)
    run.set_defaults(func=cmd_run)

    comp = sub.add_parser("compare", help="run scenarios with common random numbers and compare them with the first")
    comp.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario TOML files; the first is the reference")
    comp.add_argument("--replications", type=argtypes.replications, help="replications (default: the first scenario's)")
    comp.add_argument("--seed", type=argtypes.count, help="root seed shared by all scenarios (default: the first's)")
    comp.add_argument("--workers", type=argtypes.positive, default=1, help="parallel worker processes (default 1; capped at the machine's cores)")
    comp.add_argument("--out", help="output directory (default results/compare/); a previous result there is "
                                    "replaced, other files are never touched")
    comp.add_argument("--force", action="store_true", help="write into an existing directory that holds other files (only this command's outputs are replaced)")
    comp.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a value in every scenario")
    add_executor_options(comp)
    comp.set_defaults(func=cmd_compare)

    figs = sub.add_parser("figures", help="run the policy comparison and sweeps, write the figures (PNG, SVG) and README.md")
    figs.add_argument("--out", help="output directory (default figures/); only the figure files, README.md and "
                                    "figures.json are replaced")
    figs.add_argument("--force", action="store_true",
                      help="overwrite files of those names in a directory without figures.json")
    figs.add_argument("--replications", type=argtypes.replications, help="replications per compared scenario (default 10)")
    figs.add_argument("--sweep-replications", type=argtypes.replications,
                      help="replications per sweep point of figures 4 and 5 (default: half of --replications, at least 2)")
    figs.add_argument("--seed", type=argtypes.count, help="root seed shared by every run (default: the monolith's)")
    figs.add_argument("--workers", type=argtypes.positive, default=2, help="parallel worker processes (default 2)")
    figs.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a value in every scenario")
    figs.add_argument("--ensemble-draws", type=argtypes.whole(0, 10_000), default=ensemble_command.DEFAULT_DRAWS,
                      help="draws of the parameter ensemble behind each headline (data/ensemble.toml; 0 to 10000, "
                           f"default {ensemble_command.DEFAULT_DRAWS}, "
                           "0: none, titles then rest on simulation noise only)")
    figs.add_argument("--ensemble-replications", type=argtypes.replications,
                      default=ensemble_command.DEFAULT_REPLICATIONS,
                      help=f"replications per scenario and ensemble draw (default {ensemble_command.DEFAULT_REPLICATIONS})")
    figs.add_argument("--scenario-dir", metavar="DIR",
                      help="directory holding monolith, runways, lieutenants, split, sponsorship .toml (default data/scenarios)")
    add_executor_options(figs)
    figs.set_defaults(func=cmd_figures)

    base = sub.add_parser("check-baseline",
                          help="re-run the recorded policy comparison; exit 1 when a headline metric moved beyond noise or went missing")
    base.add_argument("--baseline", metavar="DIR", help="baseline directory (default data/baseline/)")
    base.add_argument("--workers", type=argtypes.positive, default=2, help="parallel worker processes (default 2)")
    base.add_argument("--alpha", type=argtypes.probability, help="family-wise error rate (default: the recorded one, 0.01)")
    base.add_argument("--update", action="store_true",
                      help="re-record the baseline (atomically) instead of checking it")
    base.add_argument("--scenario", action="append", metavar="FILE",
                      help="with --update: scenario files (default: the recorded ones, else the five policy scenarios)")
    base.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                      help="with --update: override a value in every scenario (default: the recorded overrides)")
    base.add_argument("--replications", type=argtypes.replications, help="with --update: replications (default: the recorded)")
    base.add_argument("--seed", type=argtypes.count, help="with --update: root seed (default: the recorded)")
    base.add_argument("--force", action="store_true", help="with --update: write into an existing directory that holds other files (only this command's outputs are replaced)")
    base.add_argument("--json", metavar="FILE",
                      help="also write the check as JSON (verdict, counts, causes, every row with its minimum "
                           "detectable change), atomically, whatever the verdict")
    base.add_argument("--junit", metavar="FILE",
                      help="also write the check as JUnit XML (one testcase per scenario x metric, a failure "
                           "for each moved or missing one), atomically, whatever the verdict")
    add_executor_options(base)
    base.set_defaults(func=cmd_check_baseline)

    val = sub.add_parser("validate", help="check the simulation against queueing theory and the gate formula "
                                          "(theory), or against Nova's natural experiments (cases)")
    val.add_argument("what", nargs="?", choices=("theory", "cases"), default="theory",
                     help="theory (default): Erlang C, the gate formula, Little's law; cases: predict every case "
                          "of --cases and compare with what was observed (exit 3 when one fails its factor)")
    val.add_argument("--cases", help="with cases: directory of case files (default data/validation)")
    val.add_argument("--out", default="results/validation/cases.csv", help="with cases: CSV written (default results/validation/cases.csv)")
    val.add_argument("--force", action="store_true", help="with cases: replace an --out file driversplit did not write")
    val.add_argument("--replications", type=argtypes.replications, default=None,
                     help=f"replications per check (default {THEORY_REPLICATIONS}) or per case scenario (default {CASES_REPLICATIONS})")
    val.add_argument("--seed", type=argtypes.count, default=1, help="root seed (default 1)")
    val.add_argument("--workers", type=argtypes.positive, default=2, help="parallel worker processes (default 2)")
    val.set_defaults(func=cmd_validate)

    bench = sub.add_parser("bench", help="what one replication costs (engine, metrics, records) and events/second vs a bare SimPy loop")
    bench.add_argument("scenario", nargs="?", default=None, help="scenario (default: the monolith baseline)")
    bench.add_argument("--repeat", type=argtypes.whole(1, 100), default=3, help="timed repetitions, 1 to 100 (default 3)")
    bench.add_argument("--costs", action="store_true", help="print the README's cost table (Markdown), with the machine "
                                                            "and its load, for each build present")
    bench.set_defaults(func=cmd_bench)

    params = sub.add_parser("params", help="print every parameter with unit, default, range and source (Markdown)")
    params.add_argument("--update", metavar="FILE.md", help="rewrite the generated table between the markers in FILE.md")
    params.set_defaults(func=cmd_params)

    from sim.calibrate.cli import add_calibrate_command, add_data_commands
    from sim.outputs.report_command import add_report_command
    from sim.outputs.ensemble_command import add_ensemble_command
    from sim.sensitivity_command import add_sensitivity_command

    add_data_commands(sub)
    add_calibrate_command(sub)
    add_report_command(sub)
    add_ensemble_command(sub)
    add_sensitivity_command(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so every cleanup on the way out runs, as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` while the block runs (main thread only)."""
    import threading

    wanted = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_terminated) for s in wanted}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


_LOG_PREFIX = {logging.DEBUG: "debug", logging.INFO: "note", logging.WARNING: "warning"}


class _PlainFormatter(logging.Formatter):
    """``note: ...`` for information, ``warning: ...``, ``debug: ...``: one plain line per record."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{_LOG_PREFIX.get(record.levelno, 'error')}: {record.getMessage()}"


def _configure_logging(level: int = logging.INFO) -> None:
    """The package's notes (``logging`` under ``sim``) go to stderr as plain lines; ``level`` is
    INFO by default, WARNING with -q (which also silences progress lines, see sim.progress), DEBUG with -v."""
    logger = logging.getLogger("sim")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PlainFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    if level >= logging.WARNING:
        # -q: matplotlib's font fallback ("findfont: ... not found. Falling back to DejaVu Sans", on
        # installs without its bundled math fonts) is not ours to report; the figures still draw.
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # `python -m sim`: the whole help for the reader, and exit 2 (a usage error, as argparse's own) so
        # a script whose command came out empty (`python -m sim $CMD`) does not pass for a success.
        parser.print_help(sys.stderr)
        print(f"{parser.prog}: error: no command given: choose one of the commands above", file=sys.stderr)
        return 2
    _configure_logging(args.log_level)
    log = logging.getLogger("sim")
    try:
        with stop_signals_raise():
            paths.use_data_dir(args.data_dir)
            if log.isEnabledFor(logging.DEBUG):  # resolving the data directory can fail: only when asked
                log.debug("driversplit %s, data directory %s", package_version(), paths.data_dir())
            return int(args.func(args))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Terminated as exc:
        print(f"stopped by signal {signal.Signals(exc.signum).name}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except OSError as exc:  # the file system refused (disk full, permissions): not the model's fault
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: one line, the traceback on request
        if os.environ.get("DRIVERSPLIT_TRACEBACK") == "1":
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set DRIVERSPLIT_TRACEBACK=1 for the traceback; "
              "please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Command line: ``python -m sim COMMAND``. A thin layer over the Python API.

Commands: run, validate, bench, params, data. Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.scenario import ScenarioError, load_scenario


def _int_at_least(minimum: int):
    """argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not >= {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.experiments import run_replications
    from sim.report import headline_table, write_run

    scenario = load_scenario(args.scenario, args.set or ())
    n = args.replications or scenario.run.replications
    seed = scenario.run.seed if args.seed is None else args.seed
    out = Path(args.out) if args.out else Path("results") / scenario.scenario.name
    with tqdm(total=n, desc=scenario.scenario.name, unit="rep", disable=not sys.stderr.isatty()) as bar:
        result = run_replications(scenario, n, seed, workers=args.workers, progress=bar.update)
    write_run(result, out)
    print(f"{scenario.scenario.name} (policy {scenario.policy.name}): {n} replications, seed {seed}")
    print(headline_table(result.summary))
    print(f"wrote {out}/summary.csv, changes.csv.gz, run.json")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.compare import compare
    from sim.figures import comparison_figures
    from sim.report import comparison_headline, write_comparison

    scenarios = [load_scenario(path, args.set or ()) for path in args.scenarios]
    n = args.replications or scenarios[0].run.replications
    seed = scenarios[0].run.seed if args.seed is None else args.seed
    out = Path(args.out) if args.out else Path("results") / "compare"
    with tqdm(total=n * len(scenarios), desc="compare", unit="rep", disable=not sys.stderr.isatty()) as bar:
        result = compare(scenarios, n, seed, workers=args.workers, progress=bar.update)
    write_comparison(result, out, extra=lambda tmp: comparison_figures(result, tmp / "figures"))
    print(f"{len(scenarios)} scenarios x {n} replications, seed {seed}, common random numbers; "
          f"differences are paired, from {result.names[0]}")
    print(comparison_headline(result))
    print(f"wrote {out}/comparison.csv, summary.csv, run.json, figures/")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from sim.figures import DEFAULT_REPLICATIONS, make_figures

    out = Path(args.out) if args.out else Path("figures")
    n = args.replications or DEFAULT_REPLICATIONS
    outputs = make_figures(out, n, args.seed, args.workers, sweep_replications=args.sweep_replications,
                           overrides=args.set or (), scenario_dir=args.scenario_dir)
    for o in outputs:
        print(f"{o.number}. {o.heading}: {o.finding}")
    print(f"wrote {out}/: {len(outputs)} figures as PNG and SVG, README.md, figures.json")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.validate import run_checks

    return 0 if run_checks(replications=args.replications, seed=args.seed, workers=args.workers) else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from sim.bench import main as bench_main

    return bench_main(args.scenario, args.repeat)


def cmd_params(args: argparse.Namespace) -> int:
    from sim.paramtable import parameter_table, update_markdown

    if args.update:
        changed = update_markdown(args.update)
        print(f"{args.update}: parameter table {'updated' if changed else 'already up to date'}")
    else:
        print(parameter_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run replications of a scenario and write summary.csv, changes.csv.gz, run.json")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--replications", type=_positive_int, help="replications (default: the scenario's run.replications)")
    run.add_argument("--seed", type=_non_negative_int, help="root seed (default: the scenario's run.seed)")
    run.add_argument("--workers", type=_positive_int, default=1, help="parallel worker processes")
    run.add_argument("--out", help="output directory (default results/<scenario name>/)")
    run.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a scenario value")
    run.set_defaults(func=cmd_run)

    comp = sub.add_parser("compare", help="run scenarios with common random numbers and compare them with the first")
    comp.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario TOML files; the first is the reference")
    comp.add_argument("--replications", type=_positive_int, help="replications (default: the first scenario's)")
    comp.add_argument("--seed", type=_non_negative_int, help="root seed shared by all scenarios (default: the first's)")
    comp.add_argument("--workers", type=_positive_int, default=1, help="parallel worker processes")
    comp.add_argument("--out", help="output directory (default results/compare/)")
    comp.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a value in every scenario")
    comp.set_defaults(func=cmd_compare)

    figs = sub.add_parser("figures", help="run the policy comparison and sweeps, write the figures (PNG, SVG) and README.md")
    figs.add_argument("--out", help="output directory (default figures/)")
    figs.add_argument("--replications", type=_positive_int, help="replications per compared scenario (default 10)")
    figs.add_argument("--sweep-replications", type=_positive_int,
                      help="replications per sweep point of figures 4 and 5 (default: half of --replications, at least 2)")
    figs.add_argument("--seed", type=_non_negative_int, help="root seed shared by every run (default: the monolith's)")
    figs.add_argument("--workers", type=_positive_int, default=2, help="parallel worker processes (default 2)")
    figs.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a value in every scenario")
    figs.add_argument("--scenario-dir", metavar="DIR",
                      help="directory holding monolith, runways, lieutenants, split, sponsorship .toml (default data/scenarios)")
    figs.set_defaults(func=cmd_figures)

    val = sub.add_parser("validate", help="check the simulation against queueing theory and the gate formula")
    val.add_argument("--replications", type=_positive_int, default=20)
    val.add_argument("--seed", type=_non_negative_int, default=1)
    val.add_argument("--workers", type=_positive_int, default=2)
    val.set_defaults(func=cmd_validate)

    bench = sub.add_parser("bench", help="events/second of the model vs a bare SimPy loop")
    bench.add_argument("scenario", nargs="?", default=None, help="scenario (default: the monolith baseline)")
    bench.add_argument("--repeat", type=_positive_int, default=3)
    bench.set_defaults(func=cmd_bench)

    params = sub.add_parser("params", help="print every parameter with unit, default, range and source (Markdown)")
    params.add_argument("--update", metavar="FILE.md", help="rewrite the generated table between the markers in FILE.md")
    params.set_defaults(func=cmd_params)

    try:
        from sim.calibrate.cli import add_data_commands
    except ImportError:  # pragma: no cover - calibration module not installed
        pass
    else:
        add_data_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``python -m sim ensemble``: the headline effects of the policy comparison over a parameter ensemble.

Runs the five policy scenarios (``data/scenarios``) over the draws of ``data/ensemble.toml``
(:mod:`sim.runs.ensemble`) and writes, into one result directory (default ``results/ensemble/``):
``parameters.csv`` (one row per draw), ``effects.csv`` (each draw's paired effect per policy,
area and metric), ``robustness.csv`` and ``robustness.md`` (one row per headline effect: median
and 90 % range over draws, share of draws agreeing on its sign, the verdict, the effect at review
capacity -10 % / +10 %, and what its sign depends on), and ``ensemble.json`` (the settings).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim import argtypes, paths
from sim.safe_output import ResultDirectory

if TYPE_CHECKING:
    from sim.runs.ensemble import EnsembleSpec
    from sim.scenario import Scenario

DEFAULT_DRAWS = 50
DEFAULT_REPLICATIONS = 2
def policy_study(args: argparse.Namespace) -> tuple[list[Path], Scenario, Path, EnsembleSpec]:
    """The policy scenario files of ``args`` (``--scenario-dir``; the monolith first), the reference
    scenario (with ``--set``) and the ensemble spec (``--spec``) the ensemble and the sensitivity
    study draw from. Every file is read here, so bad input fails before any simulation."""
    from sim.runs.ensemble import load_spec
    from sim.scenario import load_scenario

    scenario_dir = Path(args.scenario_dir) if args.scenario_dir else paths.SCENARIOS
    files = [scenario_dir / f"{name}.toml" for name in paths.POLICY_SCENARIOS]
    reference = load_scenario(files[0], args.set or ())
    for f in files[1:]:
        load_scenario(f, args.set or ())
    spec_path = Path(args.spec) if args.spec else paths.DATA / "ensemble.toml"
    return files, reference, spec_path, load_spec(spec_path, reference)


def ensemble_output(out: Path, force: bool = False) -> ResultDirectory:
    return ResultDirectory(out, "robustness.csv", force)


def cmd_ensemble(args: argparse.Namespace) -> int:
    # Heavy imports here, not at the top: building the parser must stay fast (python -m sim --help).
    from sim.outputs.robustness import HEADLINES, robustness_markdown
    from sim.progress import Progress
    from sim.runs.ensemble import AGREEMENT, draw_parameters, robustness, run_ensemble
    from sim.runs.pool import worker_pool

    files, reference, spec_path, spec = policy_study(args)
    seed = reference.run.seed if args.seed is None else args.seed
    out = ensemble_output(Path(args.out), args.force)
    out.check()
    parameters = draw_parameters(spec, args.draws, seed)
    total = len(parameters) * len(files) * args.replications
    metrics = [(area, metric) for area, metric, _, _ in HEADLINES]
    with Progress(total, "ensemble") as progress, worker_pool(args.workers, total) as executor:
        effects = run_ensemble(files, spec, parameters, args.replications, seed, metrics,
                               extra_overrides=args.set or (), executor=executor, progress=progress.update)
    table = robustness(effects, parameters)
    settings = {"draws": args.draws, "replications": args.replications, "seed": seed, "spec": str(spec_path),
                "scenarios": [str(f) for f in files], "overrides": list(args.set or ()), "agreement": AGREEMENT}
    with out.commit() as tmp:
        parameters.to_csv(tmp / "parameters.csv", index=False)
        effects.to_csv(tmp / "effects.csv", index=False)
        table.to_csv(tmp / "robustness.csv", index=False)
        (tmp / "robustness.md").write_text(robustness_markdown(table, args.draws, args.replications, seed))
        (tmp / "ensemble.json").write_text(json.dumps(settings, indent=2) + "\n")
    print(robustness_markdown(table, args.draws, args.replications, seed))
    print(f"wrote {args.out}/parameters.csv, effects.csv, robustness.csv, robustness.md, ensemble.json")
    return 0


def add_ensemble_command(sub: argparse._SubParsersAction, extra: Sequence[str] = ()) -> None:
    """Add ``ensemble`` to the ``python -m sim`` subcommands."""
    ens = sub.add_parser("ensemble", help="the policy comparison's headline effects over a parameter ensemble "
                                          "(fitted parameters and policy assumptions drawn together)")
    ens.add_argument("--draws", type=argtypes.replications, default=DEFAULT_DRAWS,
                     help=f"random parameter draws (default {DEFAULT_DRAWS}); two capacity draws (-10 %%, +10 %%) "
                          "are added")
    ens.add_argument("--replications", type=argtypes.replications, default=DEFAULT_REPLICATIONS,
                     help=f"replications per scenario and draw (default {DEFAULT_REPLICATIONS})")
    ens.add_argument("--seed", type=argtypes.count, help="root seed (default: the monolith's run.seed)")
    ens.add_argument("--workers", type=argtypes.positive, default=2, help="parallel worker processes (default 2)")
    ens.add_argument("--spec", help="ensemble spec: fitted intervals and assumption ranges "
                                    "(default data/ensemble.toml of the data directory)")
    ens.add_argument("--scenario-dir", metavar="DIR",
                     help="directory holding the five policy scenarios (default data/scenarios)")
    ens.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                     help="override a value in every scenario of every draw")
    ens.add_argument("--out", default="results/ensemble", help="output directory (default results/ensemble/); "
                                                               "a previous result there is replaced")
    ens.add_argument("--force", action="store_true",
                     help="write into an existing directory that holds other files (only this command's outputs "
                          "are replaced)")
    ens.set_defaults(func=cmd_ensemble)

"""``python -m sim sensitivity``: the committed sensitivity study (:mod:`sim.sensitivity_study`).

Writes into one result directory (default ``data/sensitivity/``): ``morris.csv`` and ``sobol.csv``
(indices with bootstrap 95 % half-widths per policy x outcome x factor), ``morris_points.csv`` and
``sobol_points.csv`` (every design point's values and effects) and ``sensitivity.json`` (settings,
sha256 of the inputs, cost, package version); with ``--figures DIR`` also ``sensitivity.png`` /
``.svg`` and ``sensitivity.md`` (the section figures/README.md links to).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from sim import argtypes, paths
from sim.errors import InputError
from sim.safe_output import FilesInto, ResultDirectory

DEFAULT_TRAJECTORIES = 20
DEFAULT_SOBOL_N = 256
DEFAULT_SOBOL_FACTORS = 3
DEFAULT_REPLICATIONS = 1
MARKER = "sensitivity.json"  # the settings
RESULT_MARKER = "morris.csv"  # marks a directory as this command's result (as robustness.csv the ensemble's)
FIGURE_FILES = ("sensitivity.png", "sensitivity.svg", "sensitivity.md")


def power_of_two(text: str) -> int:
    """Sobol's N: a power of 2 from 2 to 65,536 (Saltelli's estimators need one)."""
    value = argtypes.whole(2, 65_536)(text)
    if value & (value - 1):
        raise argparse.ArgumentTypeError(f"{text!r} is not a power of 2 from 2 to 65,536")
    return value


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cmd_sensitivity(args: argparse.Namespace) -> int:
    # Heavy imports here: building the parser must stay fast (python -m sim --help).
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise InputError("sim sensitivity needs SALib: pip install 'driversplit[notebooks]' (or SALib>=1.5)") from None
    from sim.outputs.ensemble_command import policy_study
    from sim.progress import Progress
    from sim.runs.pool import worker_pool
    from sim.runs.runner import TaskCache
    from sim.sensitivity_study import (
        StudySize,
        evaluate,
        morris_design,
        morris_table,
        points_frame,
        ranges_of,
        sobol_design,
        sobol_table,
        top_factors,
    )

    files, reference, spec_path, spec = policy_study(args)
    ranges = ranges_of(spec)
    if args.sobol_factors > len(ranges):
        raise InputError(f"--sobol-factors {args.sobol_factors}: the spec {spec_path} has only {len(ranges)} factors "
                         f"(allowed 1 to {len(ranges)})")
    seed = reference.run.seed if args.seed is None else args.seed
    size = StudySize(args.trajectories, args.sobol_n, args.sobol_factors, args.replications, seed, args.sample_seed)
    out = ResultDirectory(Path(args.out), RESULT_MARKER, args.force)
    out.check()
    figures = FilesInto(Path(args.figures), FIGURE_FILES, "sensitivity.md", args.force, "--figures") if args.figures else None
    if figures is not None:
        figures.check()
    cache = TaskCache(Path(args.cache)) if args.cache else None
    policies = [f.stem for f in files[1:]]

    load_start = os.getloadavg()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    morris_x = morris_design(ranges, size)
    sobol_points = size.sobol_n * (size.sobol_factors + 2)
    total = (len(morris_x) + sobol_points) * len(files) * size.replications
    with Progress(total, "sensitivity") as progress, worker_pool(args.workers, total) as pool:
        morris_effects = evaluate(files, ranges, morris_x, size, extra_overrides=args.set or (), executor=pool,
                                  cache=cache, progress=progress.update)
        morris = morris_table(ranges, morris_effects, policies, size)
        top = top_factors(morris, size.sobol_factors)
        sobol_ranges = ranges_of(spec, top)
        sobol_effects = evaluate(files, sobol_ranges, sobol_design(sobol_ranges, size), size,
                                 extra_overrides=args.set or (), executor=pool, cache=cache, progress=progress.update)
    sobol = sobol_table(sobol_ranges, sobol_effects, policies, size)
    wall = time.perf_counter() - wall0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - cpu0 + children.ru_utime + children.ru_stime

    inputs = [*files, spec_path, _fitted_file(spec_path), paths.DATA / "calibrated" / "juno.toml"]
    settings: dict[str, Any] = {
        "command": "python -m sim sensitivity " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["sensitivity"] else sys.argv[1:]),
        "package_version": _version(),
        "morris": {"trajectories": size.trajectories, "levels": 4, "design_points": len(morris_x),
                   "factors": len(ranges)},
        "sobol": {"N": size.sobol_n, "calc_second_order": False, "factors": top, "design_points": sobol_points,
                  "chosen_by": "mean over every policy x outcome of Morris mu* divided by the largest mu* of "
                               "that policy x outcome"},
        "replications_per_scenario_and_point": size.replications,
        "seed": seed, "sample_seed": size.sample_seed,
        "common_random_numbers": "the monolith and every policy share the root seed at every design point",
        "policies": policies, "reference": files[0].stem,
        "outcomes": [{"name": n, "area": a, "metric": m, "unit": u} for n, a, m, u in _outcomes()],
        "overrides": list(args.set or ()),
        "factors": [{"key": r.key, "kind": r.kind, "low": r.low, "high": r.high, "centre": r.centre,
                     "scale": "log" if r.kind == "fitted" else "linear", "source": r.source} for r in ranges],
        "inputs_sha256": {_relative(p): sha256_of(p) for p in inputs if Path(p).is_file()},
        "cost": {"design_points": len(morris_x) + sobol_points, "replications": total,
                 "replications_computed": morris_effects.tasks_run + sobol_effects.tasks_run,
                 "replications_from_cache": morris_effects.tasks_cached + sobol_effects.tasks_cached,
                 "workers": args.workers, "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                 "machine": {"cpus": os.cpu_count(), "processor": platform.machine(), "system": platform.platform(),
                             "python": platform.python_version(), "compiled_build": _compiled(),
                             "load_average_at_start": [round(x, 2) for x in load_start]}},
    }
    with out.commit() as tmp:
        morris.to_csv(tmp / "morris.csv", index=False)
        sobol.to_csv(tmp / "sobol.csv", index=False)
        points_frame(ranges, morris_effects, policies).to_csv(tmp / "morris_points.csv", index=False)
        points_frame(sobol_ranges, sobol_effects, policies).to_csv(tmp / "sobol_points.csv", index=False)
        (tmp / MARKER).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    if figures is not None:
        write_figures(Path(args.out), figures)
    print(f"sensitivity: {len(morris_x)} Morris + {sobol_points} Sobol design points x {len(files)} scenarios x "
          f"{size.replications} replication(s) in {wall:.0f} s wall, {cpu:.0f} s CPU; Sobol factors: {', '.join(top)}")
    print(f"wrote {args.out}/morris.csv, sobol.csv, morris_points.csv, sobol_points.csv, {MARKER}"
          + (f"; {args.figures}/sensitivity.png, .svg, .md" if figures is not None else ""))
    return 0


def write_figures(results: Path, figures: FilesInto) -> str:
    """Draw ``sensitivity.png``/``.svg`` and ``sensitivity.md`` into ``figures`` from the tables of a
    finished study in ``results`` (no simulation); returns the finding."""
    import pandas as pd

    from sim.outputs.figures import save_figure
    from sim.outputs.sensitivity_plot import plot_sensitivity, sensitivity_markdown
    from sim.sensitivity_study import factor_ranking

    sobol = pd.read_csv(results / "sobol.csv")
    morris = pd.read_csv(results / "morris.csv")
    settings = json.loads((results / MARKER).read_text(encoding="utf-8"))
    fig, finding = plot_sensitivity(sobol, settings)
    with figures.commit() as tmp:
        save_figure(fig, tmp, "sensitivity")
        (tmp / "sensitivity.md").write_text(sensitivity_markdown(sobol, factor_ranking(morris), settings, finding),
                                            encoding="utf-8")
    return finding


def _fitted_file(spec_path: Path) -> Path:
    """The calibration intervals file the spec names (``fitted``, relative to the spec)."""
    import tomllib

    return spec_path.parent / str(tomllib.loads(spec_path.read_text(encoding="utf-8")).get("fitted", ""))


def _outcomes() -> Sequence[tuple[str, str, str, str]]:
    from sim.sensitivity_study import OUTCOMES

    return OUTCOMES


def _relative(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(paths.DATA.resolve().parent).as_posix()
    except ValueError:
        return str(path)


def _version() -> str:
    try:
        return metadata.version("driversplit")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "0"


def _compiled() -> bool:
    from sim._compiled import compiled

    return bool(compiled())


def add_sensitivity_command(sub: argparse._SubParsersAction) -> None:
    """Add ``sensitivity`` to the ``python -m sim`` subcommands."""
    sens = sub.add_parser("sensitivity", help="Morris screening then Sobol indices of each policy's effect vs the "
                                              "monolith over the ensemble's factors (data/ensemble.toml)")
    sens.add_argument("--trajectories", type=argtypes.whole(2, 1000), default=DEFAULT_TRAJECTORIES,
                      help=f"Morris trajectories, 2 to 1000 (default {DEFAULT_TRAJECTORIES})")
    sens.add_argument("--sobol-n", type=power_of_two, default=DEFAULT_SOBOL_N,
                      help=f"Sobol base samples N, a power of 2 (default {DEFAULT_SOBOL_N}); N x (factors + 2) points")
    sens.add_argument("--sobol-factors", type=argtypes.whole(1, 100), default=DEFAULT_SOBOL_FACTORS,
                      help=f"how many of the top Morris factors get Sobol indices (default {DEFAULT_SOBOL_FACTORS})")
    sens.add_argument("--replications", type=argtypes.replications, default=DEFAULT_REPLICATIONS,
                      help=f"replications per scenario and design point (default {DEFAULT_REPLICATIONS})")
    sens.add_argument("--seed", type=argtypes.count, help="simulation root seed, shared by every scenario and design "
                                                          "point (default: the monolith's run.seed)")
    sens.add_argument("--sample-seed", type=argtypes.count, default=1,
                      help="seed of SALib's designs and bootstrap intervals (default 1)")
    sens.add_argument("--workers", type=argtypes.positive, default=2, help="parallel worker processes (default 2)")
    sens.add_argument("--cache", metavar="DIR", help="task cache: a killed study resumes, a repeated one costs nothing")
    sens.add_argument("--spec", help="factor ranges: fitted intervals and assumptions (default data/ensemble.toml)")
    sens.add_argument("--scenario-dir", metavar="DIR",
                      help="directory holding the five policy scenarios (default data/scenarios)")
    sens.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                      help="override a value in every scenario at every design point")
    sens.add_argument("--out", default="results/sensitivity",
                      help="output directory (default results/sensitivity/; make sensitivity writes data/sensitivity/)")
    sens.add_argument("--figures", metavar="DIR", help="also write sensitivity.png, .svg and .md into DIR")
    sens.add_argument("--force", action="store_true",
                      help="write into an existing directory that holds other files (only this command's outputs "
                           "are replaced)")
    sens.set_defaults(func=cmd_sensitivity)

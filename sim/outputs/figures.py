"""The figures of the policy comparison: run the simulations, draw (``sim.outputs.plots``), write atomically.

``make_figures`` runs the five policy scenarios of ``data/scenarios`` (at equal review capacity),
their added-people variants and the monolith with that added capacity given to its cores, under one
seed (common random numbers), plus two sweeps (gating jobs: monolith vs split; runway slots), draws the
eight figures and writes each as PNG and SVG with a ``README.md`` listing every figure's finding, the
scenario files, the seed and the replication counts. ``comparison_figures`` draws the figures
that any :class:`~sim.runs.compare.Comparison` supports (1, 2, 3, 7); ``sim compare`` writes them into
``OUT/figures/``. Output directories are replaced atomically: a failure leaves no partial output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from sim import paths
from sim.outputs import plots
from sim.outputs.prepare import table_value
from sim.outputs.report import package_versions
from sim.outputs.ensemble_command import DEFAULT_DRAWS
from sim.outputs.ensemble_command import DEFAULT_REPLICATIONS as ENSEMBLE_REPLICATIONS
from sim.outputs.robustness import HEADLINES, annotate, headline_rows, robustness_markdown
from sim.outputs.scorecard import ENSEMBLE_METRICS, build_scorecard, readme_lines, with_ensemble
from sim.outputs.scorecard_plot import plot_scorecard
from sim.outputs.style import SVG_HASH_SALT
from sim.progress import Progress as ProgressLog
from sim.runs.compare import Comparison, compare
from sim.runs.ensemble import AGREEMENT, draw_parameters, load_spec, robustness, run_ensemble
from sim.runs.executors import study_executor
from sim.runs.metrics import ALL, DRIVERS, NON_DRIVERS
from sim.runs.runner import TaskCache
from sim.runs.sweeps import (
    GATE_AREA,
    GATE_CONFIG_JOBS,
    GATE_METRIC,
    GATE_SWEEP_WARMUP_DAYS,
    RUNWAY_AREA,
    RUNWAY_METRICS,
    RUNWAY_READINGS,
    RUNWAY_SLOTS,
    STAFFING_PAIRS,
    cores_plus,
    gate_sweep_frame,
    gate_sweep_scenarios,
    gate_theory,
    runways_sweep_frame,
    runways_sweep_scenarios,
    scenario_file,
    staffing_scenarios,
)
from sim.safe_output import FilesInto
from sim.scenario import Scenario, load_scenario

matplotlib.use("Agg")  # files only; sim.outputs.plots draws on Figure objects, never pyplot

SCENARIO_NAMES: tuple[str, ...] = paths.POLICY_SCENARIOS
DEFAULT_REPLICATIONS = 10
DEFAULT_WORKERS = 2
DPI = 150
FORMATS: tuple[str, ...] = ("png", "svg")
MANIFEST = "figures.json"  # marks a directory holding figures this package wrote
# `sim figures` (make figures) runs the ensemble as `sim ensemble` does by default.
DEFAULT_ENSEMBLE_DRAWS, DEFAULT_ENSEMBLE_REPLICATIONS = DEFAULT_DRAWS, ENSEMBLE_REPLICATIONS
# What the ensemble measures: the headline effects, the scorecard's outcomes, figure 1's groups.
ENSEMBLE_FIGURE_METRICS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys([
    *((a, m) for a, m, _, _ in HEADLINES), *ENSEMBLE_METRICS.values(),
    *((area, "time_to_merge_median_days") for area in (ALL, DRIVERS, NON_DRIVERS)),
]))
COMPARISON_FIGURES: tuple[int, ...] = (1, 2, 3, 7)  # what any comparison supports
SCORECARD = "scorecard"  # file stem of the scorecard figure (sim.outputs.scorecard_plot)

Progress = Callable[[int], Any]


@dataclass(frozen=True)
class FigureOutput:
    """One written figure: its number, file stem, heading, finding (its title), caption and files; the
    statistics behind the finding (its caption line) and how to read the figure, in plain words."""

    number: int
    name: str
    heading: str
    finding: str
    caption: str
    files: tuple[str, ...]  # file names inside the output directory
    details: str = ""
    how_to_read: str = ""


HEADINGS: dict[int, tuple[str, str]] = {
    1: ("fig1_time_to_merge", "Time to merge by policy"),
    2: ("fig2_backlog", "Open review backlog over a release cycle"),
    3: ("fig3_where_time_goes", "Where the time goes"),
    4: ("fig4_gate_jobs", "Gate pain vs number of gating jobs, monolith vs split"),
    5: ("fig5_runways", "The runways trade-off"),
    6: ("fig6_interface_usable", "Split's price: interface changes usable in every driver"),
    7: ("fig7_reviewer_load", "Core reviewer load"),
    8: ("fig8_staffing", "Who staffs the new roles: equal capacity, added people, or more core time"),
}

# One plain-words line per figure: what to look at first. No unexplained jargon (the captions give the detail).
HOW_TO_READ: dict[int, str] = {
    1: ("each curve climbs from 0 to 1 as more of a policy's merged changes are done; a curve further right "
        "means slower merges. Below, each dot is the typical (median) wait with its uncertainty; bold numbers "
        "are differences from the monolith too large to be chance."),
    2: ("each line is how many changes await a decision on each day of a release cycle; higher means a longer "
        "queue. The shaded band is the uncertainty."),
    3: ("each bar is the average time from upload to merge, split into what a change was waiting for; compare "
        "the segments between bars to see where a policy adds or saves time (some segments can grow while "
        "others shrink)."),
    4: ("the further right, the more test jobs every nova change must pass; the higher, the more often a good "
        "change is thrown out by a flaky test. The star marks Nova's set-up in 2014; the curves are what "
        "chance alone predicts."),
    5: ("each panel is one outcome as the number of runway slots grows (left to right); the dashed black line "
        "is no runways at all. The orange line is runways as Nova ran them, the blue line a strict reading "
        "where a blueprint change is reviewed only while its feature holds a slot."),
    6: ("each curve climbs as more interface changes become usable in every driver; further right means a "
        "longer wait. The panel title counts the changes still not usable when the run ended, which the "
        "curves leave out."),
    7: ("each box is one kind of reviewer under one policy: points are individual reviewers, the box holds "
        "the middle half, the line is the median and the white diamond the average (the number the title "
        "quotes)."),
    8: ("each dot is how much a policy changes the typical (median) time to merge compared with the monolith, "
        "for three ways of staffing its new roles; left of the dashed line is faster. Bold numbers are too "
        "large to be chance."),
}
CALIBRATION_HOW_TO_READ = (
    "in each small panel the dashed orange curve (simulated) should lie on the black one (observed, Nova's "
    "review history); the panel title gives both medians. The last two panels compare weekly merges and show "
    "how the simulated median moves when review capacity changes."
)
CALIBRATION_CAPTION = (
    "Written by `python -m sim calibrate --cycle CYCLE --write` (not by `python -m sim figures`). Time-to-merge "
    "distributions, observed (black, from the cycle's Gerrit data) and simulated (dashed orange, pooled over "
    "replications), for all changes and the largest areas; n is the number of observed merged changes. Weekly "
    "merges: observed vs simulated mean with its 95% CI. Capacity sensitivity: the simulated median time to "
    "merge (mean and 95% CI) with review capacity scaled, against the observed median (dotted). The title "
    "states the fit errors and how many fit criteria hold, computed by the calibration."
)
CALIBRATION_STEMS: tuple[tuple[str, str], ...] = (("calibration_juno", "Juno (fitted)"),
                                                  ("calibration_kilo", "Kilo (predicted, not fitted)"))

CAPTIONS: dict[int, str] = {
    1: ("Cumulative distribution of the time to merge (days from first upload to merge, log scale) of "
        "the changes merged inside the measurement window, pooled over replications: virt-driver changes (left) "
        "and non-driver nova changes (right), or all changes when a scenario has no driver areas. Dots: mean over replications of each replication's median; bars: "
        "its 95% CI. A difference named in the title is the paired difference between policies under common "
        "random numbers; 'beyond noise' means its 95% CI excludes 0."),
    2: ("Open changes (uploaded, neither merged nor abandoned) on each day of the measurement window, which "
        "starts at week 0 of a release cycle. Line: mean over replications; band: pointwise 95% CI of the mean; "
        "dashed line: feature freeze. The title compares each replication's time-average backlog, paired "
        "across policies."),
    3: ("Mean days per merged change (merged inside the window) spent in each phase; the phases add up to the "
        "time to merge. 'Waiting for a reviewer' includes the time a policy holds a change back (runway queue, "
        "waiting for sponsors). Error bars: 95% CI of the mean time to merge over replications."),
    4: ("False rejections (a change ejected from the gate by a flaky job failure, not a defect) per merged "
        "non-driver nova change, as every virt driver adds configuration jobs (gate.config_jobs_per_driver) and "
        "third-party CI votes in the gate (gate.third_party_gating = true). x: the jobs a non-driver nova change "
        "runs in the monolith's gate (sim.model.ci.per_area_pass); split repos move the driver jobs to the driver "
        "repositories, so nova's gate keeps only its own jobs and its points sit at the same x (same driver job "
        "configuration). Points: simulation, mean and 95% CI over replications (warm-up shortened to "
        f"{GATE_SWEEP_WARMUP_DAYS} days). Lines: theory q/(1-q), where q = 1 - prod(1 - p_j) is the per-run "
        "false-failure probability of the job set (the chance that at least one job fails by flakiness alone): the expected number of false rejections before a merge if "
        "every gate attempt failed falsely and independently with probability q. This is an approximation: Zuul "
        "does not eject a change whose run failed behind a failing change ahead of it (it is retested), so the "
        "simulation may sit slightly below the curve, while rejections for real defects add attempts. Star: Nova's "
        "2014 set-up (the shipped monolith: driver configuration jobs and third-party CI not gating), simulated "
        "over the full comparison run. A ratio between the policies holds at the number of jobs where it is "
        "stated."),
    5: ("Blueprint changes only. Left: blueprint changes merged per week inside the window; middle: median days "
        "from upload to merge of the merged blueprint changes; right: share of closed blueprint changes that "
        "were abandoned. Runways: runways.toml with policy.runways.slots varied (log scale), in two readings: as "
        "Nova ran them (solid orange: a complete series queues for a slot, other changes are still reviewed at normal "
        "priority) and as an exclusive hold (dashed blue: a blueprint is reviewed only while its feature holds a "
        "slot). Dashed black line and band: the monolith (no runways), mean and 95% CI. Grey line: Nova's "
        "choice of 3 slots (2018-2021). Points: mean and 95% CI over replications; effects in the title are "
        "paired differences from the monolith (same random draws). The middle panel's y axis is logarithmic; each "
        "panel's no-runways line is labelled with its value."),
    6: ("Nova (non-driver) changes touching the virt driver interface: days from upload until the feature is "
        "usable in every driver (under split repos, when the last split driver's follow-up change adopting the "
        "interface has merged; in the monolith, when the change merges). Cumulative distribution (share "
        "usable within x days) pooled over replications, log scale. Dots: mean of the per-replication medians with its 95% CI. Only features that became usable "
        "inside the measurement window are in the curves, so the slowest adoptions are left out: the split figure "
        "is, if anything, an underestimate. The panel title counts, per policy, the interface changes uploaded "
        "inside the window that were not usable in every driver by its end."),
    7: ("Reviews per reviewer per week inside the measurement window, one point per reviewer per replication: "
        "nova cores (circles), driver lieutenants (triangles), split-repo driver cores (squares). Boxes: "
        "quartiles (the middle half of reviewers), line: median, white diamond: mean; whiskers: up to 1.5 box "
        "heights. The title quotes means (the diamonds); its effect is the paired difference in mean reviews "
        "per nova core per week."),
    8: ("Paired difference in the median time to merge from the monolith (days; mean over replications of each "
        "replication's median, 95% CI), driver changes (left) and non-driver changes (right). For each policy "
        "that adds reviewer roles: the roles staffed with time taken from nova's cores (equal total review "
        "capacity, policy.staffing.from_cores = 1; the shipped scenario), the same policy with its roles as new "
        "people (the *_added.toml scenario, from_cores = 0; split_added.toml also has the larger teams the 2014 "
        "thread imagined), and the monolith whose cores get that same added capacity "
        "(review.reviews_per_core_per_day scaled). Each label gives the scenario's total review capacity and its "
        "difference from the monolith's. Bold: the CI excludes 0."),
}


def default_sweep_replications(replications: int) -> int:
    """Replications per sweep point: half the comparison's (at least 2, for a confidence interval)."""
    return max(2, (replications + 1) // 2)


# ------------------------------------------------------------------------------ writing


def save_figure(fig: Figure, directory: Path, stem: str) -> tuple[str, ...]:
    """Save ``fig`` as ``stem.png`` (DPI) and ``stem.svg`` into ``directory``; return the file names."""
    names = []
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        for fmt in FORMATS:
            name = f"{stem}.{fmt}"
            metadata = {"Date": None} if fmt == "svg" else None
            fig.savefig(directory / name, dpi=DPI, format=fmt, metadata=metadata, facecolor="white")
            names.append(name)
    return tuple(names)


def _emit(number: int, drawn: tuple[Figure, str], directory: Path) -> FigureOutput:
    fig, finding = drawn
    stem, heading = HEADINGS[number]
    files = save_figure(fig, directory, stem)
    return FigureOutput(number, stem, heading, str(finding), CAPTIONS[number], files,
                        details=getattr(finding, "details", ""), how_to_read=HOW_TO_READ[number])


def _draw_comparison(comparison: Comparison, directory: Path) -> list[FigureOutput]:
    drawn = {1: plots.plot_time_to_merge, 2: plots.plot_backlog, 3: plots.plot_time_buckets, 7: plots.plot_reviewer_load}
    return [_emit(n, drawn[n](comparison), directory) for n in COMPARISON_FIGURES]


def _relative(path: Path) -> str:
    return paths.record_path(path)


TITLES_NOTE = ("Each title states the figure's finding in plain words, computed from the numbers; the numbers "
               "behind it (means, 95% CIs) are in the grey caption under the axes and under each heading below. A "
               "policy is named only when its difference from the reference (the first policy) is beyond noise (see the words used "
               "below), and every such policy is named.")
GLOSSARY: tuple[str, ...] = (
    "Words used below:",
    "",
    ("- *95% CI* (confidence interval): a range computed from the replications run, built so that 95 times out "
     "of 100 it contains the true average."),
    ("- *paired difference*: replication r of every policy sees the same random arrivals and events, so two "
     "policies are compared replication by replication; *beyond noise*: the 95% CI of that difference excludes 0."),
    "- *median*: the middle value (half the changes are faster); *mean*: the average.",
)


def _figure_sections(outputs: Sequence[FigureOutput], calibration: Sequence[tuple[str, str]] = ()) -> list[str]:
    lines = ["| # | figure | finding (the figure's title) |", "|---|---|---|"]
    for o in outputs:
        lines.append(f"| {o.number} | [{o.heading}]({o.files[0]}) | {o.finding} |")
    for stem, label in calibration:
        lines.append(f"| - | [Calibration: {label}]({stem}.png) | see the figure's title |")
    lines += ["", *GLOSSARY]
    for o in outputs:
        lines += ["", f"## {o.number}. {o.heading}", "", f"**{o.finding}**", ""]
        if o.how_to_read:
            lines += [f"How to read this: {o.how_to_read}", ""]
        if o.details:
            lines += [f"Numbers behind the title: {o.details}.", ""]
        lines += [o.caption, "", "Files: " + ", ".join(f"[`{f}`]({f})" for f in o.files)]
    if calibration:
        lines += ["", "## Calibration: does the model reproduce Nova's history?", "",
                  f"How to read this: {CALIBRATION_HOW_TO_READ}", "", CALIBRATION_CAPTION, ""]
        for stem, label in calibration:
            lines += [f"- {label}: " + ", ".join(f"[`{stem}.{fmt}`]({stem}.{fmt})" for fmt in FORMATS)]
    return lines


def calibration_figures_in(directory: Path) -> list[tuple[str, str]]:
    """The calibration figures (written by ``sim calibrate``) present in ``directory``: (stem, label)."""
    return [(stem, label) for stem, label in CALIBRATION_STEMS if (Path(directory) / f"{stem}.png").exists()]


def sensitivity_section_in(directory: Path) -> list[str]:
    """A link to the sensitivity study's section (``sensitivity.md``, written by ``sim sensitivity
    --figures``) when ``directory`` holds one: that study is too costly to rerun with the figures."""
    if not (Path(directory) / "sensitivity.md").exists():
        return []
    return ["", "## Sensitivity study: what the policy effects depend on", "",
            ("Written by `make sensitivity` (`python -m sim sensitivity`), not by `python -m sim figures`: Morris "
            "screening over the fitted parameters and policy assumptions, then Sobol indices on the top factors. "
            "Finding, method, cost and table: [`sensitivity.md`](sensitivity.md); figure: "
            "[`sensitivity.png`](sensitivity.png), [`sensitivity.svg`](sensitivity.svg).")]


def write_readme(directory: Path, outputs: Sequence[FigureOutput], header: Sequence[str],
                 calibration: Sequence[tuple[str, str]] = (), sensitivity: Sequence[str] = ()) -> None:
    lines = ["# Figures", "", *header, "", *_figure_sections(outputs, calibration), *sensitivity, ""]
    (directory / "README.md").write_text("\n".join(lines), encoding="utf-8")


def _comparison_header(comparison: Comparison) -> list[str]:
    return [
        "Written by `python -m sim compare`; each figure as PNG (150 dpi) and SVG. " + TITLES_NOTE,
        "",
        f"- Scenarios: {', '.join(f'`{n}`' for n in comparison.names)} (reference: `{comparison.names[0]}`)",
        f"- Seed: {comparison.seed}; replications: {comparison.replications} per scenario",
    ]


def figures_output(out_dir: Path | str, numbers: Iterable[int], force: bool = False,
                   stems: Sequence[str] = ()) -> FilesInto:
    """``out_dir`` as the destination of figures ``numbers`` and other figures ``stems`` (PNG and SVG),
    README.md and figures.json: other files there are never touched; ``check()`` it before running anything."""
    names = [f"{stem}.{fmt}" for stem in [HEADINGS[n][0] for n in numbers] + list(stems) for fmt in FORMATS]
    return FilesInto(Path(out_dir), (*names, "README.md", MANIFEST), MANIFEST, force)


def comparison_figures(comparison: Comparison, out_dir: Path, force: bool = False) -> list[FigureOutput]:
    """Write figures 1, 2, 3 and 7 of any comparison (PNG, SVG, README.md, figures.json) into ``out_dir``."""
    target = figures_output(out_dir, COMPARISON_FIGURES, force)
    target.check()
    with target.commit() as tmp:
        outputs = _draw_comparison(comparison, tmp)
        write_readme(tmp, outputs, _comparison_header(comparison))
        manifest = {"seed": comparison.seed, "replications": comparison.replications, "scenarios": comparison.names,
                    "figures": [asdict(o) for o in outputs], "versions": package_versions()}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return outputs


# ------------------------------------------------------------------------------ the figures command


def make_figures(
    out_dir: Path | str = Path("figures"),
    replications: int = DEFAULT_REPLICATIONS,
    seed: int | None = None,
    workers: int = DEFAULT_WORKERS,
    *,
    sweep_replications: int | None = None,
    overrides: Sequence[str] = (),
    scenario_dir: Path | str | None = None,
    progress: bool | Progress = True,
    force: bool = False,
    ensemble_draws: int = 0,
    ensemble_replications: int = DEFAULT_ENSEMBLE_REPLICATIONS,
    ensemble_spec: Path | str | None = None,
    cache: TaskCache | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
) -> list[FigureOutput]:
    """Run the policy comparison and the sweeps, draw the eight figures, write them into ``out_dir``.

    With ``ensemble_draws`` > 0 the five policy scenarios also run over that many draws of the
    parameter ensemble (``ensemble_spec``, default ``data/ensemble.toml``; ``ensemble_replications``
    per scenario and draw, :mod:`sim.runs.ensemble`): a title then says a headline effect rises or
    falls only when at least 90 % of the draws agree on its sign (else it names what the sign
    depends on), the scorecard shows each cell's share of agreeing draws, and README.md and
    figures.json get the robustness table.

    ``replications`` per scenario of the comparison (figures 1, 2, 3, 6, 7, 8); ``sweep_replications``
    (default: half of it, at least 2) per sweep point (figures 4, 5). Every scenario runs under
    ``seed`` (default: the monolith's ``run.seed``), so all comparisons are paired. ``overrides``
    (``section.key=value``) apply to every scenario. ``progress``: True for progress on stderr (a bar
    on a terminal, else a log line every half minute: :class:`sim.progress.Progress`), False for
    none, or a callable receiving 1 per replication.
    Returns the figures written, in order. ``out_dir`` is checked before anything runs and its
    figure files are replaced only when everything succeeded; other files there are kept (an
    existing figure file is overwritten only where ``figures.json`` marks a previous output, or
    with ``force``).
    ``cache`` reads back replications already run and stores the others (a killed run resumes);
    ``scheduler`` (a dask address) or ``dask_local`` (local dask workers) run the replications
    instead of ``workers`` local processes (:func:`sim.runs.executors.study_executor`).
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1, got {replications}")
    target = figures_output(out_dir, HEADINGS, force, stems=[SCORECARD])
    target.check()
    scenario_dir = Path(scenario_dir) if scenario_dir is not None else paths.SCENARIOS
    overrides = list(overrides)
    files = [scenario_file(scenario_dir, name) for name in SCENARIO_NAMES]
    # Load (validate) every scenario before simulating anything: bad input fails fast.
    scenarios = [load_scenario(f, overrides) for f in files]
    staffed = staffing_scenarios(scenario_dir, overrides)
    gate_points = gate_sweep_scenarios(scenario_dir, overrides)
    runway_points = runways_sweep_scenarios(scenario_dir, overrides)
    seed = scenarios[0].run.seed if seed is None else seed
    n_sweep = sweep_replications or default_sweep_replications(replications)
    total = replications * (len(scenarios) + len(staffed)) + n_sweep * (len(gate_points) + len(runway_points))
    if ensemble_draws > 0:
        spec = load_spec(ensemble_spec or paths.DATA / "ensemble.toml", scenarios[0])
        drawn = draw_parameters(spec, ensemble_draws, seed)
        total += len(drawn) * len(files) * ensemble_replications

    bar = ProgressLog(total, "figures") if progress is True else None
    tick: Progress | None = bar.update if bar is not None else (progress if callable(progress) else None)
    if cache is not None:
        cache.check()
    with bar if bar is not None else nullcontext(), study_executor(
            workers, tasks=total, scheduler=scheduler, dask_local=dask_local) as executor:
        everything = _compare(scenarios + staffed, replications, seed, executor, tick, cache)
        gate_cmp = _compare([sc for _, _, sc in gate_points], n_sweep, seed, executor, tick, cache)
        runway_cmp = _compare([sc for _, _, sc in runway_points], n_sweep, seed, executor, tick, cache)
        if ensemble_draws > 0:
            effects = run_ensemble(files, spec, drawn, ensemble_replications, seed, ENSEMBLE_FIGURE_METRICS,
                                   extra_overrides=overrides, executor=executor, progress=tick)

    gate = gate_sweep_frame(gate_points, gate_cmp)
    gate_base = {name: sc for name, k, sc in gate_points if k == GATE_CONFIG_JOBS[0]}
    curve = gate_theory(gate_base, "monolith", range(max(GATE_CONFIG_JOBS) + 1))
    runways = runways_sweep_frame(runway_points, runway_cmp)
    comparison = everything.subset([sc.scenario.name for sc in scenarios])
    groups = [(equal, added, cores_plus(added)) for equal, added in STAFFING_PAIRS]
    staffing_cmp = everything.subset([SCENARIO_NAMES[0], *(name for group in groups for name in group)])
    robust = robustness(effects, drawn) if ensemble_draws > 0 else None
    if robust is not None:  # the findings' verbs follow the ensemble (sim.outputs.findings.Effect.robust)
        comparison.comparison = annotate(comparison.comparison, robust)

    with target.commit() as tmp:
        outputs = _draw_comparison(comparison, tmp)
        outputs.append(_emit(4, plots.plot_gate_sweep(gate, curve, reference="monolith",
                                                      nova_2014=nova_2014_gate(scenarios[0], comparison)), tmp))
        outputs.append(_emit(5, plots.plot_runways_sweep(runways), tmp))
        outputs.append(_emit(6, plots.plot_interface_usable(comparison, names=["monolith", "split"]), tmp))
        outputs.append(_emit(8, plots.plot_staffing(staffing_cmp, groups), tmp))
        outputs.sort(key=lambda o: o.number)
        card = build_scorecard(comparison)
        if robust is not None:
            card = with_ensemble(card, robust)
        save_figure(plot_scorecard(card), tmp, SCORECARD)
        robust_lines = (["## Robustness over the parameter ensemble", "",
                         robustness_markdown(headline_rows(robust), ensemble_draws, ensemble_replications, seed)]
                        if robust is not None else [])
        header = [*readme_lines(card, f"{SCORECARD}.png"), *robust_lines, "## Run settings", "",
                  *_make_header(files, seed, replications, n_sweep, overrides)]
        write_readme(tmp, outputs, header, calibration_figures_in(Path(out_dir)), sensitivity_section_in(Path(out_dir)))
        manifest = {
            "seed": seed,
            "replications": replications,
            "sweep_replications": n_sweep,
            "scenario_files": [_relative(f) for f in files],
            "overrides": overrides,
            "gate_sweep": {"config_jobs_per_driver": list(GATE_CONFIG_JOBS), "warmup_days": GATE_SWEEP_WARMUP_DAYS,
                           "metric": GATE_METRIC, "area": GATE_AREA},
            "runways_sweep": {"slots": list(RUNWAY_SLOTS), "readings": list(RUNWAY_READINGS),
                              "metrics": list(RUNWAY_METRICS), "area": RUNWAY_AREA},
            "figures": [asdict(o) for o in outputs],
            "scorecard": {"files": [f"{SCORECARD}.{fmt}" for fmt in FORMATS], **card.to_json()},
            "ensemble": None if robust is None else {
                "draws": ensemble_draws, "replications": ensemble_replications,
                "spec": _relative(Path(ensemble_spec or paths.DATA / "ensemble.toml")),
                "agreement": AGREEMENT,
                "robustness": json.loads(robust.to_json(orient="records")),
            },
            "versions": package_versions(),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return outputs


def nova_2014_gate(monolith: Scenario, comparison: Comparison) -> tuple[float, float]:
    """Figure 4's marker: the gating jobs a non-driver change runs in the shipped monolith (Nova's 2014
    set-up) and its simulated false rejections per merged non-driver change in the comparison run."""
    jobs = gate_theory({"monolith": monolith}, "monolith", [monolith.gate.config_jobs_per_driver])["jobs"].iloc[0]
    return float(jobs), table_value(comparison.comparison, monolith.scenario.name, GATE_METRIC, GATE_AREA)


def _compare(scenarios: list[Scenario], replications: int, seed: int, executor: Executor | None,
             progress: Progress | None, cache: TaskCache | None) -> Comparison:
    return compare(scenarios, replications, seed, executor=executor, progress=progress, cache=cache)


def _make_header(files: Sequence[Path], seed: int, replications: int, n_sweep: int, overrides: Sequence[str]) -> list[str]:
    slots = ", ".join(str(s) for s in RUNWAY_SLOTS)
    jobs = ", ".join(str(k) for k in GATE_CONFIG_JOBS)
    return [
        f"Written by `python -m sim figures --replications {replications} --seed {seed}`"
        + "".join(f" --set {o}" for o in overrides)
        + "; each figure as PNG (150 dpi) and SVG. " + TITLES_NOTE
        + " `figures.json` holds the same findings with the run's parameters and versions.",
        "",
        "- Scenario files: " + ", ".join(f"`{_relative(f)}`" for f in files) + f" (reference: `{SCENARIO_NAMES[0]}`), "
        "each at the monolith's total review capacity (their new roles staffed with nova cores' time)",
        ("- Figure 8 also runs " + ", ".join(f"`{added}.toml`" for _, added in STAFFING_PAIRS) + " (the new roles "
         "as added people) and, for each, the monolith with `review.reviews_per_core_per_day` raised by the same "
         "capacity"),
        f"- Seed: {seed}, shared by every run (replication r of every scenario sees the same random draws)",
        (f"- Replications: {replications} per scenario (figures 1, 2, 3, 6, 7, 8); {n_sweep} per sweep point "
         "(figures 4, 5)"),
        (f"- Figure 4 sweep: `gate.config_jobs_per_driver` in {{{jobs}}} with `gate.third_party_gating = true`, on "
         f"monolith.toml and split.toml, `run.warmup_days = {GATE_SWEEP_WARMUP_DAYS}`; metric `{GATE_METRIC}`, "
         f"area `{GATE_AREA}`"),
        (f"- Figure 5 sweep: `policy.runways.slots` in {{{slots}}} on runways.toml with `policy.runways.exclusive` "
         f"false (as practised) and true (exclusive hold), and monolith.toml as 'no runways'; full warm-up; metrics "
         f"{', '.join(f'`{m}`' for m in RUNWAY_METRICS)}, area `{RUNWAY_AREA}`"),
        "- Overrides: " + (", ".join(f"`{o}`" for o in overrides) if overrides else "none"),
    ]

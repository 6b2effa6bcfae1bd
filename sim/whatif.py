"""What-if scenarios: one governance setting as scenario overrides of the monolith (for sliders),
and the bias a shorter warm-up than the scenario's own puts into its numbers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.outputs.report import headline_frame
from sim.runs.compare import compare
from sim.scenario import load_scenario


def what_if_overrides(
    drivers: Sequence[str],
    *,
    cores: int,
    runway_slots: int = 0,
    lieutenants: int = 0,
    split: Sequence[str] = (),
    config_jobs: int = 0,
    job_failure: float = 0.01,
    from_cores: float = 1.0,
    runways_exclusive: bool = False,
    nodes: int = 0,
) -> list[str]:
    """``section.key=value`` overrides of the monolith for one setting.

    ``runway_slots`` 0 means no runways, ``lieutenants`` 0 no lieutenants; ``split`` lists the
    drivers moved to their own repositories. Lieutenants go to the drivers that stay in nova (a
    driver cannot have both). Split drivers keep the team sizes of the scenario they are applied to.
    ``from_cores``: the share of the lieutenants' and driver teams' capacity taken from nova's cores
    (1: equal total review capacity; 0: they are new people), ``policy.staffing.from_cores``.
    ``runways_exclusive``: runways as an exclusive hold (a change without a slot waits unreviewed)
    rather than as Nova ran them. ``nodes``: test nodes for every check and gate job (``ci.nodes``;
    0 leaves the pool unbounded).
    """
    split = [d for d in drivers if d in split]
    kept = [d for d in drivers if d not in split]
    mechanisms = (["runways"] if runway_slots else []) + (["lieutenants"] if lieutenants and kept else [])
    mechanisms += ["split"] if split else []
    out = ['scenario.name="what-if"', 'policy.name="what-if"', f"policy.mechanisms={_toml(mechanisms)}",
           f"review.cores={cores}", f"gate.config_jobs_per_driver={config_jobs}",
           f"gate.config_job_false_failure_prob={job_failure}", f"policy.staffing.from_cores={from_cores}"]
    if runway_slots:
        out.append(f"policy.runways.slots={runway_slots}")
        if runways_exclusive:
            out.append("policy.runways.exclusive=true")
    if nodes:
        out.append(f"ci.nodes={nodes}")
    if lieutenants and kept:
        out += [f"policy.lieutenants.per_driver={lieutenants}", f"policy.lieutenants.drivers={_toml(kept)}"]
    if split:
        out.append(f"policy.split.drivers={_toml(split)}")
    return out


def warmup_overrides(warmup_days: float) -> list[str]:
    """The ``run.warmup_days`` override for a warm-up of ``warmup_days`` simulated days; none (the
    scenario's own warm-up) when it is negative."""
    return [] if warmup_days < 0 else [f"run.warmup_days={warmup_days}"]


def warmup_bias(path: Path, warmup_days: float, replications: int, seed: int, *,
                overrides: Sequence[str] = (), workers: int = 1) -> pd.DataFrame:
    """How far a shorter warm-up moves the headline numbers of the scenario at ``path`` (the monolith).

    Runs it at its own ``run.warmup_days`` and at ``warmup_days`` under the same seed
    (common random numbers) and returns, per headline label (rows as in
    :func:`~sim.outputs.report.headline_frame`), the mean at each warm-up and the paired difference
    short minus own ("bias", in the metric's unit) with its 95 % CI. The model starts empty, so a
    short warm-up measures a system that has not yet filled up. ``overrides`` (``section.key=value``)
    apply to both runs.
    """
    reference = load_scenario(path, overrides)
    own = reference.run.warmup_days
    if not 0 <= warmup_days < own:
        raise ValueError(f"warmup_days: {warmup_days} must be at least 0 and below the scenario's own ({own:g} days)")
    short = load_scenario(path, [*overrides, f'scenario.name="{reference.scenario.name}, short warm-up"',
                                 *warmup_overrides(warmup_days)])
    frame = headline_frame(compare([reference, short], replications, seed, workers=workers))
    own_rows = frame[frame["scenario"] == reference.scenario.name].set_index("label")
    short_rows = frame[frame["scenario"] == short.scenario.name].set_index("label")
    return pd.DataFrame({
        f"{own:g}-day warm-up": own_rows["mean"], f"{warmup_days:g}-day warm-up": short_rows["mean"],
        "bias": short_rows["diff"], "bias CI low": short_rows["diff_ci_low"],
        "bias CI high": short_rows["diff_ci_high"],
    }).loc[list(dict.fromkeys(frame["label"]))]


def _toml(names: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{n}"' for n in names) + "]"

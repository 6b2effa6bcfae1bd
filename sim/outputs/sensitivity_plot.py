"""The sensitivity study's figure and its section for figures/README.md (``sim sensitivity --figures``).

One panel per outcome: each Sobol factor's total-order index ST (share of the effect's variance it
explains, with its interactions) for each policy's effect vs the monolith, with SALib's bootstrap
95 % interval as whiskers; the headline names the factor with the largest ST most often.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.outputs.findings import parameter_words
from sim.outputs.style import new_figure, policy_colours, set_caption, set_title, styled


def leading_factor(sobol: pd.DataFrame) -> tuple[str, int, int]:
    """The factor with the largest ST in most policy x outcome cells: (factor, cells it leads, cells)."""
    cells = sobol.groupby(["policy", "outcome"], sort=False)
    leaders = cells.apply(lambda g: g.loc[g["ST"].idxmax(), "factor"], include_groups=False)
    counts = leaders.value_counts()
    return str(counts.index[0]), int(counts.iloc[0]), len(leaders)


WIDE = 0.25  # a median bootstrap half-width of ST above this makes the title say the indices are uncertain
XLIM = (-0.25, 1.5)  # ST is a share of variance (0 to 1); estimates from few samples stray further: cut there


def finding_text(sobol: pd.DataFrame, n: int) -> str:
    """The headline: the factor leading most effects, its median ST, and whether N was enough."""
    factor, led, cells = leading_factor(sobol)
    share = sobol[sobol["factor"] == factor]["ST"].median()
    width = float(sobol["ST_conf"].median())
    caveat = (f"; with N = {n} the intervals are wide (median ±{width:.2f}), a ranking not a measure"
              if width > WIDE else "")
    return (f"Of the uncertain inputs, {parameter_words(factor)} moves the policies' effects most: largest total Sobol index in "
            f"{led} of {cells} policy x outcome effects (median ST {share:.2f}){caveat}")


@styled
def plot_sensitivity(sobol: pd.DataFrame, settings: Mapping[str, Any]) -> tuple[Figure, str]:
    """Five panels (outcomes): ST per factor (rows) and policy (bars), 95 % bootstrap whiskers."""
    outcomes = list(dict.fromkeys(sobol["outcome"]))
    policies = list(dict.fromkeys(sobol["policy"]))
    factors = list(dict.fromkeys(sobol["factor"]))
    colours = policy_colours(policies)
    fig, axes = new_figure(ncols=len(outcomes), size=(16.0, 7.0), sharey=True)
    height = 0.8 / len(policies)
    for ax, outcome in zip(axes[0], outcomes):
        part = sobol[sobol["outcome"] == outcome].set_index(["policy", "factor"])
        for j, policy in enumerate(policies):
            y = np.arange(len(factors)) + (j - (len(policies) - 1) / 2) * height
            st = part.loc[[(policy, f) for f in factors], "ST"].to_numpy(dtype=float)
            conf = part.loc[[(policy, f) for f in factors], "ST_conf"].to_numpy(dtype=float)
            ax.barh(y, st, height=height, color=colours[policy], label=policy, xerr=conf,
                    error_kw={"ecolor": "0.25", "elinewidth": 1.2, "capsize": 2})
        ax.set_title(outcome.replace(" median", "\nmedian"), fontsize=13)
        ax.set_xlim(*XLIM)
        ax.set_xlabel("total Sobol index ST\n(share of variance)", fontsize=12)
        ax.axvline(0, color="0.5", linewidth=0.8)
    axes[0][0].set_yticks(np.arange(len(factors)), [parameter_words(f) for f in factors])
    axes[0][0].invert_yaxis()
    fig.legend(*axes[0][0].get_legend_handles_labels(), title="policy vs monolith", loc="outside right center")
    finding = finding_text(sobol, int(settings["sobol"]["N"]))
    set_title(fig, finding)
    sob, mor, cost = settings["sobol"], settings["morris"], settings["cost"]
    set_caption(fig, f"Sobol N = {sob['N']} (first and total order only) on the {len(factors)} top Morris factors of "
                     f"{mor['factors']} ({mor['trajectories']} trajectories); {settings['replications_per_scenario_and_point']}"
                     f" replication(s) per scenario and point, common random numbers; whiskers: SALib bootstrap 95 % "
                     f"interval (cut at the axis). {cost['replications']:,} replications.")
    return fig, finding


def sensitivity_markdown(sobol: pd.DataFrame, ranking: pd.Series, settings: Mapping[str, Any], finding: str) -> str:
    """The figure's section: finding, how it was computed, the Morris ranking (``ranking``: each
    factor's mean relative mu*, largest first) and the Sobol table."""
    sob, mor, cost = settings["sobol"], settings["morris"], settings["cost"]
    rank = ranking
    lines = [
        "## Sensitivity study", "",
        "![sensitivity](sensitivity.png) ([`sensitivity.png`](sensitivity.png), [`sensitivity.svg`](sensitivity.svg))",
        "", f"**{finding}.**", "",
        (f"Written by `{settings['command']}` (`make sensitivity`; tables in `data/sensitivity/`). Morris screening "
        f"({mor['trajectories']} trajectories, {mor['design_points']} design points) over all {mor['factors']} factors "
        "of `data/ensemble.toml` (fitted parameters on a log scale within their 95 % interval, policy assumptions "
        f"over their stated range), then Sobol first- and total-order indices (N = {sob['N']}, "
        f"{sob['design_points']} design points, second order not computed) on the {len(sob['factors'])} factors with "
        "the largest Morris mu* relative to each effect's largest, averaged over the "
        f"{len(settings['policies']) * len(settings['outcomes'])} effects. Each effect is a policy's paired difference from the "
        f"monolith ({settings['replications_per_scenario_and_point']} replication(s) per scenario and point, one seed). "
        f"Cost: {cost['replications']:,} replications, {cost['wall_seconds']:.0f} s wall, {cost['cpu_seconds']:.0f} s "
        f"CPU on {cost['machine']['cpus']} CPUs with {cost['workers']} workers."),
        "", "Morris ranking (mean over every policy x outcome of mu* / that effect's largest mu*): "
        + ", ".join(f"`{f}` {v:.2f}" for f, v in rank.head(6).items()) + ".", "",
        "| policy | outcome | factor | S1 (95 % CI) | ST (95 % CI) |", "|---|---|---|---|---|",
    ]
    for row in sobol.to_dict("records"):
        lines.append(f"| {row['policy']} | {row['outcome']} | `{row['factor']}` | {row['S1']:.2f} ± {row['S1_conf']:.2f} "
                     f"| {row['ST']:.2f} ± {row['ST_conf']:.2f} |")
    return "\n".join(lines) + "\n"

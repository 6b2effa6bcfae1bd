"""The fit report figure: observed vs simulated time to merge per major area, weekly merges, and
how the all-area median moves with review capacity (PNG and SVG)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.calibrate.criteria import TTM_MEDIAN, major_areas
from sim.outputs.figures import FORMATS, MANIFEST, save_figure
from sim.outputs.plots import ecdf_panel
from sim.outputs.style import OKABE_ITO, new_figure, set_title, styled
from sim.safe_output import FilesInto

if TYPE_CHECKING:
    from sim.calibrate.pipeline import CycleCheck

OBSERVED, SIMULATED = "observed", "simulated"
COLOURS = {OBSERVED: OKABE_ITO["black"], SIMULATED: OKABE_ITO["vermillion"]}


def finding(check: CycleCheck, predicted: bool) -> str:
    """The title: the all-area median and p90 errors and how many criteria hold, from the numbers."""
    table = check.table
    rows = table[(table["area"] == "all") & (table["phase"] == "time_to_merge")].set_index("metric")
    med, p90 = rows.loc[TTM_MEDIAN], rows.loc["time_to_merge_p90_days"]
    verb = "predicts" if predicted else "reproduces"
    text = (f"{check.cycle.capitalize()}: the model {verb} a median time to merge of {med['simulated']:.1f} d "
            f"(observed {med['observed']:.1f} d, {med['rel_error']:+.0%}) and a p90 of {p90['simulated']:.0f} d "
            f"(observed {p90['observed']:.0f} d, {p90['rel_error']:+.0%})")
    if not predicted and not check.criteria.empty:
        text += f"; {int(check.criteria['passed'].sum())} of {len(check.criteria)} fit criteria met"
    return text


def figure_output(directory: Path, stem: str, force: bool = False) -> FilesInto:
    """``directory`` as the destination of ``stem``.png/.svg (``check()`` it before the fit)."""
    return FilesInto(Path(directory), tuple(f"{stem}.{fmt}" for fmt in FORMATS), MANIFEST, force, option="--figures")


def calibration_figure(check: CycleCheck, directory: Path | FilesInto, stem: str,
                       predicted: bool = False) -> tuple[str, ...]:
    """Draw and save ``stem``.png/.svg into ``directory`` (atomically, file by file; nothing else touched)."""
    fig = _draw(check, predicted)
    target = directory if isinstance(directory, FilesInto) else figure_output(directory, stem)
    with target.commit() as tmp:
        return save_figure(fig, tmp, stem)


@styled
def _draw(check: CycleCheck, predicted: bool) -> Figure:
    areas = ["all", *major_areas(check.table, 100)][:7]
    fig, axes = new_figure(ncols=3, nrows=3, size=(16, 12))
    flat = axes.ravel()
    for ax, area in zip(flat, areas):
        obs = check.observed_changes
        sim = check.changes
        samples = {
            OBSERVED: (obs if area == "all" else obs[obs["area"] == area])["time_to_merge_days"].to_numpy(),
            SIMULATED: (sim if area == "all" else sim[sim["area"] == area])["time_to_merge_days"].to_numpy(),
        }
        ecdf_panel(ax, samples, COLOURS, "time to merge (days, log scale)")
        row = check.table[(check.table["area"] == area) & (check.table["metric"] == TTM_MEDIAN)].iloc[0]
        ax.set_title(f"{area} (n={int(row['n'])} observed)\nmedian: simulated {row['simulated']:.1f} d, "
                     f"observed {row['observed']:.1f} d", fontsize=13)
        ax.set_ylabel("share merged\nwithin x days")
    flat[0].legend(loc="lower right")
    for ax in flat[len(areas):-2]:
        ax.set_visible(False)
    _weekly_panel(flat[-2], check, predicted)
    if check.sensitivity.empty:
        flat[-1].set_visible(False)
    else:
        _sensitivity_panel(flat[-1], check)
    set_title(fig, finding(check, predicted))
    return fig


def _weekly_panel(ax: Axes, check: CycleCheck, predicted: bool) -> None:
    w = check.weekly
    ax.plot(w["week"], w["observed"], color=COLOURS[OBSERVED], marker="o", ms=4, label=OBSERVED)
    ax.plot(w["week"], w["simulated"], color=COLOURS[SIMULATED], ls="--", label=f"{SIMULATED} (mean)")
    ax.fill_between(w["week"], w["simulated"] - w["half"], w["simulated"] + w["half"], color=COLOURS[SIMULATED],
                    alpha=0.2, lw=0, label="95 % CI of the mean")
    ax.set_xlabel("week of the release cycle")
    ax.set_ylabel("changes merged per week")
    read_off = not predicted and check.scenario.review.weekly_activity is not None
    ax.set_title("weekly merges, simulated vs observed" + (" (review activity read off them)" if read_off else ""),
                 fontsize=13)
    ax.legend(loc="upper left", fontsize=10)


def _sensitivity_panel(ax: Axes, check: CycleCheck) -> None:
    s = check.sensitivity[check.sensitivity["metric"] == TTM_MEDIAN]
    x = (s["capacity_factor"].to_numpy() - 1.0) * 100
    ax.errorbar(x, s["mean"], yerr=s["half"], color=OKABE_ITO["blue"], marker="o", label="simulated (mean, 95% CI)")
    ax.axhline(float(check.table[(check.table["area"] == "all") & (check.table["metric"] == TTM_MEDIAN)]["observed"].iloc[0]),
               color=COLOURS[OBSERVED], ls=":", label="observed median")
    ax.set_xlabel("review capacity change (%)")
    ax.set_ylabel("median time to merge (days)")
    ax.set_title("simulated median vs review capacity (all areas)", fontsize=13)
    ax.set_xticks(np.round(x).astype(int))
    ax.legend(loc="upper right", fontsize=10)

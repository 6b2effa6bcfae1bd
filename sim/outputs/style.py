"""Figure style: the palettes, one colour per policy, the slide rc style, figure creation, titles.

Slide-sized (16:9) figures with large fonts, the Okabe-Ito colour-blind-safe palette, one colour
per policy across all figures (:func:`policy_colours`), and the finding as the figure's title
(:func:`set_title`). Nothing here reads results beyond the names of a comparison's scenarios.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from sim.runs.compare import Comparison

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
# One colour per policy in every figure (keyed by scenario name, then by policy name).
KNOWN_COLOURS: dict[str, str] = {
    "monolith": OKABE_ITO["black"],
    "runways": OKABE_ITO["orange"],
    "lieutenants": OKABE_ITO["sky_blue"],
    "split": OKABE_ITO["bluish_green"],
    "sponsorship": OKABE_ITO["reddish_purple"],
    "lieutenants_runways": OKABE_ITO["blue"],
    "lieutenants+runways": OKABE_ITO["blue"],
}
# Colours for other scenarios, in order (yellow last: weak on white).
SPARE_COLOURS: tuple[str, ...] = (
    OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["sky_blue"], OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"], OKABE_ITO["reddish_purple"], OKABE_ITO["yellow"],
)
LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))
# Where the time goes: a second colour-blind-safe palette (Paul Tol's "muted"), so bucket colours
# are never mistaken for policy colours.
BUCKET_COLOURS: dict[str, str] = {
    "wait_review_days": "#332288",
    "review_days": "#88CCEE",
    "author_days": "#44AA99",
    "ci_days": "#DDCC77",
    "gate_days": "#CC6677",
    "freeze_days": "#882255",
}
ROLE_MARKERS: dict[str, str] = {"core": "o", "lieutenant": "^", "driver-core": "s"}
ROLE_HATCHES: dict[str, str] = {"core": "", "lieutenant": "//", "driver-core": ".."}

SLIDE: tuple[float, float] = (13.33, 7.5)  # inches: a 16:9 slide
SVG_HASH_SALT = "driversplit"  # stable SVG element ids: identical inputs give identical SVG files
STYLE: dict[str, Any] = {
    "font.size": 15,
    "axes.titlesize": 16,
    "axes.labelsize": 15,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 12,
    "legend.title_fontsize": 12,
    "figure.titlesize": 17,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.8,
    "lines.linewidth": 2.5,
    "lines.markersize": 8,
    "errorbar.capsize": 4,
    "svg.hashsalt": SVG_HASH_SALT,
}

P = ParamSpec("P")
R = TypeVar("R")


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Run a drawing function inside the slide style (fonts are fixed when artists are created)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with mpl.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper


def policy_colours(names: Iterable[str], policies: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour per scenario: the known policy colour when there is one, else a spare Okabe-Ito colour.

    ``policies`` maps a scenario name to its policy name, tried when the scenario name is unknown.
    """
    names = list(dict.fromkeys(names))
    policies = dict(policies or {})
    colours: dict[str, str] = {}
    for name in names:
        for key in (name, policies.get(name)):
            if key in KNOWN_COLOURS and KNOWN_COLOURS[key] not in colours.values():
                colours[name] = KNOWN_COLOURS[key]
                break
    spare = [c for c in SPARE_COLOURS if c not in colours.values()] or list(SPARE_COLOURS)
    i = 0
    for name in names:
        if name not in colours:
            colours[name] = spare[i % len(spare)]
            i += 1
    return colours


def comparison_colours(comparison: Comparison) -> dict[str, str]:
    """:func:`policy_colours` of a comparison's scenarios, falling back on their policy names."""
    return policy_colours(comparison.names, {r.scenario.scenario.name: r.scenario.policy.name for r in comparison.runs})


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = SLIDE,
               **kwargs: Any) -> tuple[Figure, np.ndarray]:
    """A figure of ``size`` (inches) with constrained layout and an ``nrows`` x ``ncols`` array of axes.

    ``kwargs`` go to :meth:`Figure.subplots` (``sharex``, ``height_ratios``, ...).
    """
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


TITLE_LINES = 2  # a title wraps onto at most this many lines
MIN_TITLE_SIZE = 12.0  # points: the title shrinks to fit its lines, never below this
CAPTION_SIZE = 11.0  # points: the statistics line under the axes


def text_width(text: str, size: float, weight: str = "normal") -> float:
    """Width (inches) of one line of ``text`` at ``size`` points in the current font."""
    width, _, _ = TextToPath().get_text_width_height_descent(text, FontProperties(size=size, weight=weight), ismath=False)
    return width / 72.0


def wrap_to_width(text: str, width: float, size: float, weight: str = "normal") -> list[str]:
    """``text`` broken at spaces into the fewest lines no wider than ``width`` inches at ``size`` points."""
    chars = max(20, int(width * 72 / (size * 0.45)))  # start from more characters than can fit
    while True:
        lines = textwrap.wrap(text, chars)
        if chars <= 20 or max((text_width(line, size, weight) for line in lines), default=0.0) <= width:
            return lines
        chars -= 2


def title_lines(text: str, fig: Figure, size: float) -> list[str]:
    """``text`` wrapped to ``fig``'s width (less a margin) at ``size`` points, bold."""
    return wrap_to_width(text, fig.get_figwidth() * 0.97, size, "bold")


def set_title(fig: Figure, finding: str) -> None:
    """The finding's headline as the figure's title, wrapped to the figure's width: at most
    :data:`TITLE_LINES` lines, the font shrinking (down to :data:`MIN_TITLE_SIZE`) when it needs to.
    When the finding carries a ``caption`` (:class:`sim.outputs.findings.Finding`: the statistics the
    axes do not show), it is printed under the axes (:func:`set_caption`)."""
    size = mpl.rcParams["figure.titlesize"]
    size = float(size) if not isinstance(size, str) else 17.0  # points; a named size ("large") counts as 17
    while len(title_lines(finding, fig, size)) > TITLE_LINES and size > MIN_TITLE_SIZE:
        size -= 0.5
    fig.suptitle("\n".join(title_lines(str(finding), fig, size)), fontsize=size, fontweight="bold", ha="center")
    caption = getattr(finding, "caption", "")
    if caption:
        set_caption(fig, caption)


def set_caption(fig: Figure, text: str) -> None:
    """``text`` (the statistics behind the title) as a small grey caption under the axes."""
    lines = wrap_to_width(text, fig.get_figwidth() * 0.97, CAPTION_SIZE)
    fig.supxlabel("\n".join(lines), fontsize=CAPTION_SIZE, color="0.3", ha="center")

"""argparse value types shared by every command: whole numbers in a range, probabilities, replications.

Each refuses a bad value with a message naming what is allowed; argparse then exits 2 with one line.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable


@functools.cache
def max_replications() -> int:
    """The schema's cap on run.replications (read when a value is parsed: the schema imports pydantic
    and the scenario loader scipy, too slow for ``--help``)."""
    from sim.scenario import Run, upper_bound

    return int(upper_bound(Run.model_fields["replications"]) or 10_000)


def __getattr__(name: str) -> int:
    if name == "MAX_REPLICATIONS":
        return max_replications()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """A whole number in [``minimum``, ``maximum``] (no upper bound when None)."""
    allowed = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum:,}"

    def parse(text: str) -> int:
        value = int(text) if text.isascii() and text.isdigit() else None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number {allowed}")
        return value

    return parse


positive = whole(1)
count = whole(0)


def replications(text: str) -> int:
    """A number of replications in run.replications' range, 1 to the schema's cap."""
    return whole(1, max_replications())(text)


def probability(text: str) -> float:
    """A number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not in (0, 1)")
    return value

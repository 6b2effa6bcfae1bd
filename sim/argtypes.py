"""argparse value types shared by every command: whole numbers in a range, probabilities, replications.

Each refuses a bad value with a message naming what is allowed; argparse then exits 2 with one line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sim.scenario import Run, upper_bound

MAX_REPLICATIONS = int(upper_bound(Run.model_fields["replications"]) or 10_000)  # the schema's cap


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
replications = whole(1, MAX_REPLICATIONS)  # run.replications' range


def probability(text: str) -> float:
    """A number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not in (0, 1)")
    return value

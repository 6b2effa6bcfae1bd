"""Changes waiting for a reviewer, grouped by area, with their selection weights.

A reviewer picks in two stages: an area with probability proportional to
(the reviewer's weight for the area) x (total attractiveness waiting in it), then a change in that
area proportional to its attractiveness. Together this is one draw proportional to
expertise x attractiveness over every waiting change, at the cost of a scan of one area's list.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from sim.engine.rng import Stream

if TYPE_CHECKING:
    from sim.model.change import Change


class WeightedQueue:
    """Per-area lists of waiting changes with O(1) add/remove (swap with the last element)."""

    __slots__ = ("items", "weights", "totals", "size")

    def __init__(self, n_areas: int) -> None:
        self.items: list[list[Change]] = [[] for _ in range(n_areas)]
        self.weights: list[list[float]] = [[] for _ in range(n_areas)]
        self.totals: list[float] = [0.0] * n_areas
        self.size = 0

    def add(self, change: Change, position: dict[int, int], weight: float) -> None:
        """``change`` waits, with selection weight ``weight`` (its attractiveness, maybe aged)."""
        a = change.area
        position[change.id] = len(self.items[a])
        self.items[a].append(change)
        self.weights[a].append(weight)
        self.totals[a] += weight
        self.size += 1

    def remove(self, change: Change, position: dict[int, int]) -> None:
        a = change.area
        i = position.pop(change.id)
        items, weights = self.items[a], self.weights[a]
        weight = weights[i]
        last_item, last_weight = items.pop(), weights.pop()
        if i < len(items):
            items[i], weights[i] = last_item, last_weight
            position[last_item.id] = i
        self.size -= 1
        # Recompute rather than subtract when the area empties, so float drift cannot accumulate.
        self.totals[a] = self.totals[a] - weight if items else 0.0

    def rescale(self, factor: float) -> None:
        """Multiply every weight by ``factor`` (selection probabilities do not change)."""
        for a, weights in enumerate(self.weights):
            weights[:] = [w * factor for w in weights]
            self.totals[a] = sum(weights)

    def draw(self, area_weights: list[float], stream: Stream) -> Change | None:
        """A change drawn proportional to area weight x attractiveness; None if nothing eligible.

        The same draws as ``stream.choice_index`` on the running sums (``itertools.accumulate``)
        of the area scores, then of the area's weights; the sums are spelled out as loops, which
        a compiled build (``make fast``) runs without allocating.
        """
        cumulative: list[float] = []
        total = 0.0
        for weight, area_total in zip(area_weights, self.totals):
            total += weight * area_total
            cumulative.append(total)
        if total <= 0.0:
            return None
        a = min(bisect_right(cumulative, stream.uniform() * total), len(cumulative) - 1)
        items = self.items[a]
        if not items:
            return None
        return items[_inverse_index(self.weights[a], stream.uniform())]

    def __len__(self) -> int:
        return self.size


def _inverse_index(weights: list[float], u: float) -> int:
    """The first index whose running sum of ``weights`` (> 0) exceeds ``u`` x their total (the last
    index if rounding leaves none): ``Stream.choice_index`` on ``accumulate(weights)``, by two scans."""
    total = 0.0
    for w in weights:
        total += w
    x = u * total
    running = 0.0
    for i, w in enumerate(weights):
        running += w
        if running > x:
            return i
    return len(weights) - 1

"""A review board: the changes waiting for review in one repository and the reviewers who pick them.

A change offered to the board goes straight to an idle reviewer who may review it (chosen in
proportion to their weight for its area times their capacity), or waits. A reviewer who finishes a review picks the
next change by the board's selection rule (:class:`~sim.model.queue.WeightedQueue`: expertise x
attractiveness, times the area's ``attention`` until the change's first core review), never one
they already reviewed at this patch set. With ``review.engaged_priority``, that share of a
reviewer's picks goes first to the waiting changes they reviewed before (engagement: cores come
back to the changes they took up). A policy may add priority lanes (runway items, sponsored
blueprints): with the lane's share of picks, the reviewer first picks by the same rule among the
lane's waiting changes. A lane may draw from another board's queue (split driver teams reviewing
nova's interface changes): the change is reviewed by this board's reviewer and goes back to its
own board afterwards. A waiting change whose
author's patience runs out is abandoned at that moment; the board notices lazily, when a
reviewer draws it or at the end of the run, which costs no events and changes no outcome.
A review lasts its effort divided by the reviewer's rate, times the cycle's activity multiplier
in the week it starts (``review.weekly_activity``: summit and post-release lull, pre-freeze push),
in work days: with a working week (``cycle.weekend_activity``) a review left on Friday ends on Monday.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Final

from sim.engine.clock import Clock
from sim.engine.rng import Stream
from sim.engine.workweek import WorkWeek
from sim.model.change import Change
from sim.model.queue import WeightedQueue
from sim.model.reviewers import Reviewer

MAX_REJECTIONS: Final = 8  # draws before falling back to an exact scan of eligible changes
MAX_ATTENTION_EXPONENT: Final = 500.0  # stored weights stay below e^500 (floats overflow near e^709)


class ReviewBoard:
    """Review queue and reviewers of one repository (nova, or a split-out driver repo)."""

    def __init__(
        self,
        clock: Clock,
        name: str,
        reviewers: list[Reviewer],
        n_areas: int,
        *,
        selection: Stream,
        effort: Stream,
        effort_cv: float,
        median_size: float,
        size_elasticity: float,
        window: tuple[float, float],
        on_reviewed: Callable[[Change, Reviewer], None],
        on_expired: Callable[[Change, float], None],
        may_review: Callable[[Reviewer, Change], bool] | None = None,
        effort_factor: Callable[[Reviewer, Change], float] | None = None,
        activity: Callable[[float], float] | None = None,
        attention_decay: float = 0.0,
        workweek: WorkWeek | None = None,
        first_attention: tuple[float, ...] = (),
        engaged_priority: float = 0.0,
    ) -> None:
        """``first_attention``: per area, the selection weight of a change before its first core
        review (empty: 1 everywhere). ``engaged_priority``: share of picks going first to changes the
        reviewer reviewed before (0: no such lane)."""
        self.clock = clock
        self.name = name
        self.reviewers = reviewers
        self.queue = WeightedQueue(n_areas)
        self.position: dict[int, int] = {}
        self.idle: list[Reviewer] = list(reviewers)
        self.selection = selection
        self.effort = effort
        self.effort_cv = effort_cv
        self.median_size = median_size
        self.size_elasticity = size_elasticity
        self.window = window
        self.on_reviewed = on_reviewed
        self.on_expired = on_expired
        self.may_review = may_review
        self.effort_factor = effort_factor
        self.activity = activity
        self.attention_decay = attention_decay
        self.workweek = workweek
        self.attention_origin = 0.0
        # (share of picks, candidates of a reviewer, the board whose queue they wait in)
        self.lanes: list[tuple[float, Callable[[Reviewer], Iterable[Change]], ReviewBoard]] = []
        self.first_attention = first_attention
        self.engaged: dict[int, list[Change]] = {}  # reviewer id -> open changes they reviewed
        self.track_engagement = engaged_priority > 0.0
        if self.track_engagement:
            self.lanes.append((engaged_priority, self._engaged_changes, self))
        self.watchers: list[Callable[[ReviewBoard, Reviewer, Change], None]] = []  # see watch()
        self._review_end = self._finish  # bound once, not per scheduled review end

    def add_reviewers(self, reviewers: list[Reviewer]) -> None:
        """New reviewers join the board, idle."""
        self.reviewers.extend(reviewers)
        self.idle.extend(reviewers)

    def remove_reviewers(self, reviewers: list[Reviewer]) -> None:
        """Idle reviewers leave the board (before the run starts)."""
        for reviewer in reviewers:
            self.reviewers.remove(reviewer)
            self.idle.remove(reviewer)

    def watch(self, callback: Callable[[ReviewBoard, Reviewer, Change], None]) -> None:
        """Call ``callback(board, reviewer, change)`` whenever a review starts (for checks and traces)."""
        self.watchers.append(callback)

    def add_lane(self, share: float, candidates: Callable[[Reviewer], Iterable[Change]],
                 source: ReviewBoard | None = None) -> None:
        """A priority lane: ``share`` of a reviewer's picks go to ``candidates(reviewer)`` when one is
        waiting in ``source``'s queue (default: this board's). A change picked from another board is
        reviewed here, by this board's reviewer, and offered back to its own board afterwards."""
        self.lanes.append((share, candidates, self if source is None else source))

    # ------------------------------------------------------------------ offering work

    def offer(self, change: Change) -> None:
        """The change, ready for review since ``change.ready_since``: hand it to an idle reviewer or
        let it wait."""
        change.board = self
        reviewer = self._idle_reviewer_for(change) if self.idle else None
        if reviewer is None:
            self.queue.add(change, self.position, self.selection_weight(change))
        else:
            self.idle.remove(reviewer)
            self._start(reviewer, change)

    def selection_weight(self, change: Change) -> float:
        """Selection weight of a change that starts to wait: its attractiveness, times
        exp(decay x (last upload - origin)) when attention decays with the age of its patch set.

        Every waiting change's true weight decays by the same exp(-decay x now), which cancels in
        the selection probabilities, so weights stored at the start of a wait stay exact. The
        origin moves forward before the exponent could overflow.
        """
        weight = change.attractiveness
        if self.first_attention and math.isnan(change.first_review):
            weight *= self.first_attention[change.area]
        if not self.attention_decay:
            return weight
        exponent = self.attention_decay * (change.last_upload - self.attention_origin)
        if exponent > MAX_ATTENTION_EXPONENT:
            shift = self.clock.now() - self.attention_origin
            self.queue.rescale(math.exp(-self.attention_decay * shift))
            self.attention_origin += shift
            exponent = self.attention_decay * (change.last_upload - self.attention_origin)
        return weight * math.exp(exponent)

    def withdraw(self, change: Change) -> bool:
        """Take a waiting change out of the queue (a policy holds it back; it keeps waiting).

        Returns False when the change was not waiting here (being reviewed, or with its author).
        """
        if change.id not in self.position:
            return False
        self.queue.remove(change, self.position)
        return True

    def may_take(self, reviewer: Reviewer, change: Change) -> bool:
        """May ``reviewer`` review ``change`` now: they know its area at all, have not reviewed this
        patch set, and the policy lets them (``may_review``)."""
        return (
            reviewer.weights[change.area] > 0.0
            and reviewer.id not in change.reviewed_by
            and (self.may_review is None or self.may_review(reviewer, change))
        )

    def _idle_reviewer_for(self, change: Change) -> Reviewer | None:
        """An idle reviewer who may review ``change``, drawn in proportion to weight x capacity:
        a reviewer with more time for review is more often the one who picks an offered change up."""
        area = change.area
        candidates = [r for r in self.idle if self.may_take(r, change)]
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        cumulative, total = [], 0.0
        for r in candidates:
            total += r.weights[area] * r.rate
            cumulative.append(total)
        return candidates[self.selection.choice_index(cumulative)]

    # ------------------------------------------------------------------ reviewing

    def _expire(self, change: Change) -> None:
        self.queue.remove(change, self.position)
        self.on_expired(change, change.deadline())

    def _pick_among(self, reviewer: Reviewer, changes: Iterable[Change]) -> Change | None:
        """A waiting change among ``changes`` drawn by the selection rule, or None."""
        now = self.clock.now()
        position, weights, queue_weights = self.position, reviewer.weights, self.queue.weights
        cumulative, candidates, total = [], [], 0.0
        for change in list(changes):  # a copy: expiring a change may edit the source
            if change.id not in position:
                continue
            if change.deadline() <= now:
                self._expire(change)
            elif self.may_take(reviewer, change):
                total += weights[change.area] * queue_weights[change.area][position[change.id]]
                cumulative.append(total)
                candidates.append(change)
        if not candidates or total <= 0.0:
            return None
        return candidates[self.selection.choice_index(cumulative)]

    def _next_for(self, reviewer: Reviewer) -> Change | None:
        """The next change ``reviewer`` reviews, or None (then they wait for an offer)."""
        now = self.clock.now()
        queue = self.queue
        selection = self.selection
        for share, candidates, source in self.lanes:
            if share > 0.0 and source.queue.size and selection.uniform() < share:  # share 0: no draw, as without the lane
                change = source._pick_among(reviewer, candidates(reviewer))
                if change is not None:
                    return change
        weights = reviewer.weights
        for _ in range(MAX_REJECTIONS):
            change = queue.draw(weights, selection)
            if change is None:
                return None
            if change.deadline() <= now:
                self._expire(change)
            elif self.may_take(reviewer, change):
                return change
        # Rare: the draws kept hitting changes this reviewer may not take. Scan exactly.
        return self._pick_among(reviewer, chain.from_iterable(queue.items))

    def _start(self, reviewer: Reviewer, change: Change) -> None:
        """``reviewer`` (no longer idle) begins reviewing ``change`` (no longer waiting)."""
        for watcher in self.watchers:
            watcher(self, reviewer, change)
        now = self.clock.now()
        change.wait_review += now - change.ready_since
        change.ready_since = math.nan
        if math.isnan(change.first_review):
            change.first_review = now
        reviewer.busy = True
        reviewer.review_start = now
        effort = self.effort.gamma_unit_mean(self.effort_cv)
        if self.size_elasticity:
            effort *= (change.size / self.median_size) ** self.size_elasticity
        if self.effort_factor is not None:
            effort *= self.effort_factor(reviewer, change)
        rate = reviewer.rate if self.activity is None else reviewer.rate * self.activity(now)
        work = effort / rate
        reviewer.review_work = work
        duration = work if self.workweek is None else self.workweek.finish(now, work) - now
        self.clock.after(duration, self._review_end, reviewer, change)

    def _finish(self, reviewer: Reviewer, change: Change) -> None:
        now = self.clock.now()
        start, end = self.window
        reviewer.busy_days += self._busy(reviewer.review_start, now, reviewer.review_work)
        if start <= now < end:
            reviewer.reviews += 1
        reviewer.busy = False
        change.review_time += now - reviewer.review_start
        change.core_reviews += 1
        change.reviewed_by.add(reviewer.id)
        if self.track_engagement:
            engaged = self.engaged.setdefault(reviewer.id, [])
            if change not in engaged:
                engaged.append(change)
        self.on_reviewed(change, reviewer)
        self._take_next(reviewer)

    def _busy(self, begin: float, end: float, work: float = -1.0) -> float:
        """Days of reviewing between ``begin`` and ``end`` inside the measurement window; in work
        days with a working week, so that a review left over the weekend does not count as two
        busy days (utilization is the share of the reviewers' working time). ``work``: the work
        days from ``begin`` to ``end`` when known (a whole review), so they are not counted again."""
        lo, hi = max(begin, self.window[0]), min(end, self.window[1])
        if hi <= lo:
            return 0.0
        if self.workweek is None:
            return hi - lo
        if work >= 0.0 and lo == begin and hi == end:
            return work
        return self.workweek.work_between(lo, hi)

    def _engaged_changes(self, reviewer: Reviewer) -> list[Change]:
        """The open changes ``reviewer`` reviewed before (closed ones are dropped as they are met)."""
        engaged = self.engaged.get(reviewer.id)
        if not engaged:
            return []
        engaged[:] = [c for c in engaged if not c.closed]
        return engaged

    def _take_next(self, reviewer: Reviewer) -> None:
        change = self._next_for(reviewer)
        if change is None:
            self.idle.append(reviewer)
        else:
            board = change.board if change.board is not None else self  # the queue it waits in (see offer)
            board.queue.remove(change, board.position)
            self._start(reviewer, change)

    # ------------------------------------------------------------------ end of run

    def close(self, end: float) -> None:
        """At the end of the run: expire waiting changes whose patience ran out; account busy time."""
        for area_items in self.queue.items:
            for change in list(area_items):
                if change.deadline() <= end:
                    self._expire(change)
        for reviewer in self.reviewers:
            if reviewer.busy:
                reviewer.busy_days += self._busy(reviewer.review_start, end)

    def waiting(self) -> int:
        return len(self.queue)

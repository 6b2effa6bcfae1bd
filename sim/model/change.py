"""The change: one proposed patch (series) travelling from first upload to merge or abandonment."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from sim.model.records import ChangeRecord

if TYPE_CHECKING:
    from sim.model.gate import Gate
    from sim.model.review import ReviewBoard
    from sim.model.reviewers import Reviewer

NAN: Final = math.nan

class Change:
    """Mutable state of one change; a plain slotted object because the hot loop reads it often.

    Times are simulation days; ``nan`` means "has not happened".
    """

    __slots__ = (
        "id",
        "area",  # index into the scenario's areas
        "kind",  # "bug" | "blueprint" | "other"
        "size",  # changed lines
        "touches_interface",
        "driver_only",  # a driver-area change touching no code outside its driver
        "feature",  # blueprint series this change belongs to (-1: not a blueprint)
        "parent",  # for a follow-up in a split driver repo: the interface change it adopts (-1: none)
        "defects",  # latent defects still in the current patch set
        "defects_initial",
        "patience",  # days an author waits on reviewers (or stalls) before abandoning
        "attractiveness",  # weight multiplying every reviewer's selection weight
        "arrived",
        "first_review",
        "last_upload",
        "approved",
        "merged",
        "abandoned",
        "usable",  # when the change's feature works everywhere (interface changes: after every follow-up)
        "followups_open",  # follow-ups still to merge before ``usable``
        "patch_sets",
        "core_reviews",
        "rechecks",
        "gate_attempts",
        "gate_resets",
        "votes",  # reviewers who gave +2 on the current patch set
        "reviewed_by",  # reviewers who reviewed the current patch set (any vote)
        "ready_since",  # when the change last became ready for review (nan: not waiting)
        "held_since",  # when a policy last held it back from review (runway queue, waiting for sponsors)
        # Where the time goes (days); for a merged change they sum to its time to merge.
        "wait_review",  # ready, waiting for a reviewer (including time held by a policy)
        "held_time",  # the part of wait_review spent held by a policy
        "review_time",  # being reviewed (cores, non-cores)
        "author_time",  # the author revising (or stalled)
        "ci_time",  # check runs and recheck delays
        "gate_time",  # in the gate queue
        "freeze_time",  # approved blueprint held by the feature freeze
        "board",  # the ReviewBoard that reviews it (set by the policy)
        "gate",  # the Gate that tests it (set by the policy)
    )

    def __init__(
        self,
        id: int,
        area: int,
        kind: str,
        size: float,
        touches_interface: bool,
        driver_only: bool,
        feature: int,
        defects: int,
        patience: float,
        attractiveness: float,
        arrived: float,
        parent: int = -1,
    ) -> None:
        self.id = id
        self.area = area
        self.kind = kind
        self.size = size
        self.touches_interface = touches_interface
        self.driver_only = driver_only
        self.feature = feature
        self.parent = parent
        self.defects = defects
        self.defects_initial = defects
        self.patience = patience
        self.attractiveness = attractiveness
        self.arrived = arrived
        self.first_review = NAN
        self.last_upload = arrived
        self.approved = NAN
        self.merged = NAN
        self.abandoned = NAN
        self.usable = NAN
        self.followups_open = 0
        self.patch_sets = 1
        self.core_reviews = 0
        self.rechecks = 0
        self.gate_attempts = 0
        self.gate_resets = 0
        self.votes: list[Reviewer] = []
        self.reviewed_by: set[int] = set()
        self.ready_since = NAN
        self.held_since = NAN
        self.wait_review = 0.0
        self.held_time = 0.0
        self.review_time = 0.0
        self.author_time = 0.0
        self.ci_time = 0.0
        self.gate_time = 0.0
        self.freeze_time = 0.0
        self.board: ReviewBoard | None = None
        self.gate: Gate | None = None

    def deadline(self) -> float:
        """When the author of this waiting change gives up: ``patience`` days after it became ready
        (``patience`` is infinite where authors never abandon)."""
        return self.ready_since + self.patience

    @property
    def closed(self) -> bool:
        return not (math.isnan(self.merged) and math.isnan(self.abandoned))

    def record(self, area_names: tuple[str, ...]) -> ChangeRecord:
        """The change as a row of ``changes.csv.gz``."""
        return ChangeRecord(
            change=self.id,
            area=area_names[self.area],
            kind=self.kind,
            size_lines=self.size,
            touches_interface=self.touches_interface,
            driver_only=self.driver_only,
            feature=self.feature,
            parent=self.parent,
            defects_initial=self.defects_initial,
            arrived=self.arrived,
            first_review=self.first_review,
            last_upload=self.last_upload,
            approved=self.approved,
            merged=self.merged,
            abandoned=self.abandoned,
            usable=self.usable,
            patch_sets=self.patch_sets,
            core_reviews=self.core_reviews,
            rechecks=self.rechecks,
            gate_attempts=self.gate_attempts,
            gate_resets_suffered=self.gate_resets,
            wait_review_days=self.wait_review,
            held_days=self.held_time,
            review_days=self.review_time,
            author_days=self.author_time,
            ci_days=self.ci_time,
            gate_days=self.gate_time,
            freeze_days=self.freeze_time,
            repo=self.board.name if self.board is not None else "",
        )

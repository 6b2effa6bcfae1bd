"""What a replication leaves behind, as plain data (picklable, no SimPy objects): one row type per
record, named fields rather than positions.

- :class:`ChangeRecord`: one row per change, the columns of ``changes.csv.gz`` (times in days);
- :class:`ReviewerRecord`: one row per reviewer (load inside the measurement window);
- :class:`GateLog`: what a gate did (runs, resets, exits), with :class:`Outcome` codes;
- :class:`Records`: all of one replication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple

from sim.model.nodes import NodeLog


class ChangeRecord(NamedTuple):
    """One change, as a row of ``changes.csv.gz`` (times in days since the replication started; NaN:
    has not happened)."""

    change: int
    area: str
    kind: str  # bug | blueprint | other
    size_lines: float
    touches_interface: bool
    driver_only: bool
    feature: int  # blueprint series (-1: not a blueprint)
    parent: int  # the interface change a follow-up adopts (-1: not a follow-up)
    defects_initial: int
    arrived: float
    first_review: float
    last_upload: float
    approved: float
    merged: float
    abandoned: float
    usable: float  # when the change's feature works in every driver
    patch_sets: int
    core_reviews: int
    rechecks: int
    gate_attempts: int
    gate_resets_suffered: int
    wait_review_days: float  # where the time goes (days); for a merged change they sum to its time to merge
    held_days: float  # the part of wait_review_days a policy held it back
    review_days: float
    author_days: float
    ci_days: float
    gate_days: float
    freeze_days: float
    repo: str  # the review board (repository) that reviewed it


RECORD_FIELDS: tuple[str, ...] = ChangeRecord._fields


class ReviewerRecord(NamedTuple):
    """One reviewer's load inside the measurement window."""

    board: str
    reviewer: str
    role: str  # core | lieutenant | driver-core (sim.scenario.staffing.ROLES)
    capacity: float  # reviews of a median-size change per day, before the weekly rhythm
    busy_days: float
    reviews: int


class Outcome(IntEnum):
    """How a gate run ended, and how an item left the gate."""

    PASS = 0  # a run passed; an item merged
    FALSE_FAILURE = 1  # a job failed falsely (flaky); the item is rechecked
    TRUE_FAILURE = 2  # a latent defect was caught; the item is revised


@dataclass
class GateLog:
    """What a gate did, as flat values (times in days) for the metrics to aggregate.

    While the gate runs, each log is one flat list of values (``add_run`` etc.): a tuple per entry
    would be one more object for the garbage collector to track and scan, tens of thousands per run.
    ``runs``, ``resets`` and ``exits`` give the entries as tuples; outcomes are :class:`Outcome` codes.
    """

    run_values: list[float | int] = field(default_factory=list)
    reset_values: list[float | int] = field(default_factory=list)
    exit_values: list[float | int] = field(default_factory=list)

    def add_run(self, end: float, area: int, outcome: int, jobs: int) -> None:
        self.run_values += (end, area, outcome, jobs)

    def add_reset(self, time: float, area: int, restarted: int, wasted_hours: float, nova: int) -> None:
        self.reset_values += (time, area, restarted, wasted_hours, nova)

    def add_exit(self, time: float, area: int, outcome: int) -> None:
        self.exit_values += (time, area, outcome)

    @property
    def runs(self) -> list[tuple[float, int, int, int]]:
        """(end time, area or -1 for another project's change, outcome, jobs)."""
        return _entries(self.run_values, 4)  # type: ignore[return-value]

    @property
    def resets(self) -> list[tuple[float, int, int, float, int]]:
        """(time, area of the failing item or -1, items restarted, wasted job-hours, nova items restarted)."""
        return _entries(self.reset_values, 5)  # type: ignore[return-value]

    @property
    def exits(self) -> list[tuple[float, int, int]]:
        """(time, area or -1, outcome: PASS = merged, else the failure that ejected it)."""
        return _entries(self.exit_values, 3)  # type: ignore[return-value]


def _entries(values: list[float | int], width: int) -> list[tuple[float | int, ...]]:
    """Consecutive groups of ``width`` values as tuples."""
    return list(zip(*[iter(values)] * width, strict=True))


@dataclass
class Records:
    """Everything one replication produced."""

    scenario_name: str
    policy: str
    replication: int
    area_names: tuple[str, ...]
    driver_areas: tuple[str, ...]
    window: tuple[float, float]  # measurement window [start, end) in days
    changes: list[ChangeRecord]
    gates: dict[str, GateLog]
    reviewers: list[ReviewerRecord]
    open_time_integral: float  # integral of the open-change count over the window (change-days)
    sim_events: int
    extra: dict[str, Any] = field(default_factory=dict)  # policy-specific records
    nodes: NodeLog | None = None  # the test-node pool's runs (None: unbounded pool, ``ci.nodes`` unset)

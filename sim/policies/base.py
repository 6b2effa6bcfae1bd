"""The policy seam: for each change, which board reviews it, how many votes approve it, which
gate tests it and with which jobs.

:class:`Policy` implements today's arrangement (one repo, one core team, one gate: the
monolith). A governance policy subclasses it and overrides only the decisions it changes; the
model calls nothing else. Hooks (all optional):

- ``build(world)``: create review boards (``world.add_board``) and gates (``world.add_gate``).
- ``route(change)``: at arrival, set ``change.board`` and ``change.gate``.
- ``offer(change)``: the change is ready for review (a policy may hold it in its own queue).
- ``approved(change) -> bool``: do the votes on the current patch set approve it?
- ``check_pass_prob(change)`` / ``gate_jobs(change) -> (pass probability, job count)``.
- ``on_new_patch_set``, ``on_approved``, ``on_closed``: notifications.
- ``extra_records() -> dict``: policy-specific data for the metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.model.ci import per_area_pass
from sim.model.reviewers import core_team

if TYPE_CHECKING:
    from sim.model.change import Change
    from sim.model.world import World
    from sim.scenario import Scenario


class Policy:
    """Monolith: every change is reviewed by the nova core team and gated in the integrated queue."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.votes_required = scenario.review.votes_required

    # ------------------------------------------------------------------ structure

    def build(self, world: World) -> None:
        sc = self.scenario
        self.world = world
        self.board = world.add_board("nova", core_team(sc, world.streams["roster"]))
        voting = sc.gate.third_party_gating
        self.check_pass, _ = per_area_pass(sc, sc.check.jobs, third_party_voting=voting)
        self.gate_pass, self.gate_job_count = per_area_pass(
            sc, sc.gate.jobs, extra_jobs=sc.gate.extra_config_jobs,
            extra_fail=sc.gate.extra_job_false_failure_prob, third_party_voting=voting,
        )
        self.gate = None
        if sc.gate.enabled:
            # Other projects' changes run the integrated jobs, not nova's third-party CIs.
            background_pass, background_jobs = per_area_pass(sc, sc.gate.jobs, third_party_voting=False)
            self.gate = world.add_gate(
                "nova", background_rate=sc.gate.background_rate_per_day,
                background_pass=background_pass[0], background_jobs=background_jobs[0],
            )

    def route(self, change: Change) -> None:
        change.board = self.board
        change.gate = self.gate

    # ------------------------------------------------------------------ decisions

    def offer(self, change: Change) -> None:
        change.board.offer(change)

    def approved(self, change: Change) -> bool:
        return len(change.votes) >= self.votes_required

    def check_pass_prob(self, change: Change) -> float:
        return self.check_pass[change.area]

    def gate_jobs(self, change: Change) -> tuple[float, int]:
        return self.gate_pass[change.area], self.gate_job_count[change.area]

    # ------------------------------------------------------------------ notifications

    def on_new_patch_set(self, change: Change) -> None:
        pass

    def on_approved(self, change: Change) -> None:
        pass

    def on_closed(self, change: Change) -> None:
        pass

    def extra_records(self) -> dict[str, Any]:
        return {}

"""The sweeps behind figures 4 and 5, and figure 4's theory curve: scenarios at each sweep point,
and tidy frames of their results.

Figure 4 sweeps the driver configuration jobs (``gate.config_jobs_per_driver``, with third-party
CI voting in the gate) on the monolith and the split; its theory curve is the false-rejection
ratio q / (1 - q) of independent job failures, from the same job tables the model uses
(:func:`sim.model.ci.job_tables`). Figure 5 sweeps runway slots in both readings of runways (as
Nova ran them, and as an exclusive hold). Figure 8 asks who staffs a
policy's new roles: each added-people variant beside the monolith whose cores get the same added
capacity (:func:`staffing_scenarios`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from sim import theory
from sim.model.ci import job_tables, nova_gate_job_probs
from sim.runs.compare import Comparison
from sim.runs.metrics import NON_DRIVERS
from sim.scenario import Scenario, load_scenario, staffing

# Figure 4: driver configuration jobs swept, with third-party CI voting in the gate.
GATE_CONFIG_JOBS: tuple[int, ...] = (0, 2, 5, 10, 20)
# The gate's false-rejection ratio is a per-attempt property that settles within days; 60 days of
# warm-up (instead of a whole cycle) do not bias it (checked against the full warm-up).
GATE_SWEEP_WARMUP_DAYS = 60
GATE_METRIC, GATE_AREA = "gate_false_rejections_per_merged", NON_DRIVERS
# Figure 5: runway slots swept; 0 stands for the monolith (no runways). Runway queues follow the
# release cycle (feature freeze), so this sweep keeps the scenarios' full warm-up.
RUNWAY_SLOTS: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 40)
RUNWAY_METRICS: tuple[str, ...] = ("merged_per_week", "time_to_merge_median_days", "abandoned_fraction")
# The two readings of runways (policy.runways.exclusive), and Nova's own choice of slots (facts §4: process.rst).
PRACTISED, EXCLUSIVE, NO_RUNWAYS = "as practised", "exclusive hold", "none"
RUNWAY_READINGS: dict[str, bool] = {PRACTISED: False, EXCLUSIVE: True}
NOVA_RUNWAY_SLOTS = 3
RUNWAY_AREA = "kind:blueprint"


def expected_false_rejections(per_job: Iterable[float]) -> float:
    """q / (1 - q): expected false rejections per merged change if attempts fail independently with q."""
    q = theory.false_failure_prob(per_job)
    return q / (1.0 - q)


def nova_gate_jobs(scenario: Scenario) -> int:
    """Gating jobs a non-driver change runs in nova's gate (:func:`sim.model.ci.job_tables`)."""
    non_driver = [i for i, name in enumerate(scenario.area_names) if name not in scenario.driver_areas]
    return job_tables(scenario).gate_jobs[non_driver[0] if non_driver else 0]


def _with_config_jobs(scenario: Scenario, k: int) -> Scenario:
    return scenario.model_copy(update={"gate": scenario.gate.model_copy(update={"config_jobs_per_driver": k})})


def gate_theory(scenarios: dict[str, Scenario], reference: str, config_jobs: Iterable[int]) -> pd.DataFrame:
    """The theory curve of figure 4 at every ``config_jobs_per_driver`` in ``config_jobs``.

    Columns: scenario, config_jobs_per_driver, jobs (x: jobs in the reference's gate), own_jobs
    (jobs in the scenario's nova gate), q (per-run false-failure probability), expected (q/(1-q)).
    """
    rows = []
    for k in config_jobs:
        x = nova_gate_jobs(_with_config_jobs(scenarios[reference], k))
        for name, sc in scenarios.items():
            variant = _with_config_jobs(sc, k)
            probs = nova_gate_job_probs(variant)
            rows.append((name, k, x, len(probs), theory.false_failure_prob(probs), expected_false_rejections(probs)))
    return pd.DataFrame(rows, columns=["scenario", "config_jobs_per_driver", "jobs", "own_jobs", "q", "expected"])


# ------------------------------------------------------------------------------ sweeps


def scenario_file(scenario_dir: Path, name: str) -> Path:
    return scenario_dir / f"{name}.toml"


def gate_sweep_scenarios(scenario_dir: Path, overrides: Sequence[str] = (),
                         config_jobs: Sequence[int] = GATE_CONFIG_JOBS) -> list[tuple[str, int, Scenario]]:
    """(policy, config_jobs_per_driver, scenario) for monolith and split at every sweep point."""
    out = []
    for k in config_jobs:
        for name in ("monolith", "split"):
            sc = load_scenario(scenario_file(scenario_dir, name), [
                f"run.warmup_days={GATE_SWEEP_WARMUP_DAYS}", *overrides, "gate.third_party_gating=true",
                f"gate.config_jobs_per_driver={k}", f'scenario.name="{name}_jobs{k}"',
            ])
            out.append((name, k, sc))
    return out


def runways_sweep_scenarios(scenario_dir: Path, overrides: Sequence[str] = (),
                            slots: Sequence[int] = RUNWAY_SLOTS) -> list[tuple[str, int, Scenario]]:
    """(reading, slots, scenario): the monolith (reading ``none``, slots 0), then runways.toml at every
    slot count in each reading of :data:`RUNWAY_READINGS`."""
    monolith = load_scenario(scenario_file(scenario_dir, "monolith"), [*overrides, 'scenario.name="no_runways"'])
    out = [(NO_RUNWAYS, 0, monolith)]
    for reading, exclusive in RUNWAY_READINGS.items():
        for s in slots:
            name = f"runways_{s}" + ("_exclusive" if exclusive else "")
            out.append((reading, s, load_scenario(scenario_file(scenario_dir, "runways"), [
                *overrides, f"policy.runways.slots={s}", f"policy.runways.exclusive={str(exclusive).lower()}",
                f'scenario.name="{name}"',
            ])))
    return out


# Figure 8: each policy that adds roles, at equal capacity and with added people (data/scenarios/NAME.toml).
STAFFING_PAIRS: tuple[tuple[str, str], ...] = (("lieutenants", "lieutenants_added"), ("split", "split_added"))


def cores_plus(added: str) -> str:
    """The name of the monolith whose cores get the capacity scenario ``added`` adds."""
    return f"cores_plus_{added}"


def staffing_scenarios(scenario_dir: Path, overrides: Sequence[str] = ()) -> list[Scenario]:
    """For each added-people variant of :data:`STAFFING_PAIRS`: the variant, then the monolith with its
    cores' capacity raised by the same reviews/day (``review.reviews_per_core_per_day`` scaled)."""
    monolith_file = scenario_file(scenario_dir, "monolith")
    monolith = load_scenario(monolith_file, overrides)
    out = []
    for _, added in STAFFING_PAIRS:
        variant = load_scenario(scenario_file(scenario_dir, added), overrides)
        extra = staffing.total_capacity(variant) - staffing.total_capacity(monolith)
        rate = staffing.core_rate_for(monolith, staffing.own_core_capacity(monolith) + extra)
        out += [variant, load_scenario(monolith_file, [
            *overrides, f"review.reviews_per_core_per_day={rate!r}", f'scenario.name="{cores_plus(added)}"',
            f'policy.name="monolith + {extra:.1f} reviews/day of cores"',
        ])]
    return out


def _values(comparison: Comparison, metric: str, area: str) -> dict[str, pd.Series]:
    """Per-replication values of one metric, per scenario name."""
    out = {}
    for run in comparison.runs:
        pr = run.per_replication
        rows = pr[(pr["metric"] == metric) & (pr["area"] == area)]
        out[run.scenario.scenario.name] = rows.set_index("replication")["value"]
    return out


def gate_sweep_frame(points: Sequence[tuple[str, int, Scenario]], comparison: Comparison) -> pd.DataFrame:
    """Tidy figure-4 data: scenario (policy), config_jobs_per_driver, jobs (x), own_jobs, replication, value."""
    values = _values(comparison, GATE_METRIC, GATE_AREA)
    x_of = {k: nova_gate_jobs(sc) for name, k, sc in points if name == "monolith"}
    frames = []
    for name, k, sc in points:
        v = values[sc.scenario.name]
        frames.append(pd.DataFrame({"scenario": name, "config_jobs_per_driver": k, "jobs": x_of[k],
                                    "own_jobs": nova_gate_jobs(sc), "replication": v.index, "value": v.to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def runways_sweep_frame(points: Sequence[tuple[str, int, Scenario]], comparison: Comparison) -> pd.DataFrame:
    """Tidy figure-5 data: reading, slots (0 = no runways), metric, replication, value (blueprint changes)."""
    frames = []
    for metric in RUNWAY_METRICS:
        values = _values(comparison, metric, RUNWAY_AREA)
        for reading, s, sc in points:
            v = values[sc.scenario.name]
            frames.append(pd.DataFrame({"reading": reading, "slots": s, "metric": metric, "replication": v.index,
                                        "value": v.to_numpy()}))
    return pd.concat(frames, ignore_index=True)

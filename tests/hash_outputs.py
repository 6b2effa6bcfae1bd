"""Hashes of each replication's records and metrics, for before/after comparison of a speed change.

Usage, from the repository root: PYTHONPATH=. DRIVERSPLIT_PURE=1 python tests/hash_outputs.py [horizon_days]
One line per scenario x replication: hashes of the records, of the replication metrics (all but
sim_events, the engine-work count that a speed change is meant to lower) and of Little's law, and
sim_events. Run it on the commit before a change and after it; the hashes must not change.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import sim

print("# sim from", sim.__file__, flush=True)
from sim.runs import metrics
from sim.scenario import load_scenario
from sim.simulate import simulate

SCENARIOS = ("monolith", "split", "runways", "lieutenants", "sponsorship")


def digest(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
    return h.hexdigest()[:16]


def main() -> None:
    overrides = [f"run.horizon_days={sys.argv[1]}"] if len(sys.argv) > 1 else []
    for name in SCENARIOS:
        scenario = load_scenario(Path("data/scenarios") / f"{name}.toml", overrides=overrides) if overrides else load_scenario(Path("data/scenarios") / f"{name}.toml")
        for rep in (0, 1):
            rec = simulate(scenario, rep)
            gates = {k: (v.run_values, v.reset_values, v.exit_values) for k, v in rec.gates.items()}
            records = digest(rec.changes, gates, rec.reviewers, rec.open_time_integral, rec.window, sorted(rec.extra.items()))
            m = metrics.replication_metrics(rec)
            no_events = m[m["metric"] != "sim_events"]
            mhash = hashlib.sha256(no_events.to_csv(index=False, float_format="%r").encode()).hexdigest()[:16]
            little = digest(sorted(metrics.littles_law(rec).items()))
            print(f"{name:12s} rep {rep}  records {records}  metrics(no sim_events) {mhash}  little {little}  sim_events {rec.sim_events}", flush=True)


if __name__ == "__main__":
    main()

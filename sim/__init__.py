"""driversplit: a discrete-event model of OpenStack Nova's code review and its governance options.

The Python API (the CLI is a thin layer over it)::

    import sim
    scenario = sim.load_scenario("data/scenarios/monolith.toml")
    result = sim.run_replications(scenario, replications=10, seed=1, workers=2)
    result.summary      # tidy DataFrame: scenario, policy, area, metric, mean, ci_low, ci_high, n
    result.changes      # one row per change per replication
"""

from sim._compiled import guard

guard()  # before any compiled module loads: refuse a stale `make fast` build

from sim.runs.runner import RunResult, run_replications
from sim.scenario import Scenario, ScenarioError, load_scenario, validate_scenario

__version__ = "0.1.0"

__all__ = [
    "RunResult", "Scenario", "ScenarioError", "load_scenario", "run_replications", "validate_scenario", "__version__",
]

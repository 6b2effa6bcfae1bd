"""driversplit: a discrete-event model of OpenStack Nova's code review and its governance options.

The Python API (the CLI is a thin layer over it)::

    import sim
    scenario = sim.load_scenario("data/scenarios/monolith.toml")
    result = sim.run_replications(scenario, replications=10, seed=1, workers=2)
    result.summary      # tidy DataFrame: scenario, policy, area, metric, mean, ci_low, ci_high, n
    result.changes      # one row per change per replication
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim._compiled import guard

guard()  # before any compiled module loads: refuse a stale `make fast` build

if TYPE_CHECKING:
    from sim.runs.runner import RunResult, run_replications
    from sim.scenario import Scenario, ScenarioError, load_scenario, validate_scenario

__version__ = "0.1.0"  # the fallback of `python -m sim --version` when the package is not installed

# The API is imported on first use (PEP 562): `import sim` stays light, so `python -m sim --help`
# does not wait for numpy, scipy, pandas and SimPy.
_API = {
    "RunResult": "sim.runs.runner", "run_replications": "sim.runs.runner",
    "Scenario": "sim.scenario", "ScenarioError": "sim.scenario", "load_scenario": "sim.scenario",
    "validate_scenario": "sim.scenario",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "RunResult", "Scenario", "ScenarioError", "load_scenario", "run_replications", "validate_scenario", "__version__",
]

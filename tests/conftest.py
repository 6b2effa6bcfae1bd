"""Session fixtures shared by the test modules (helpers live in simtest.py)."""

from __future__ import annotations

# The suite runs whichever build ``import sim`` loads: the compiled one after ``make fast`` (as in
# CI), else the Python sources; ``DRIVERSPLIT_PURE=1`` forces the sources. ``make test`` runs the
# model's tests on the sources too when a compiled build is present, and test_compiled.py compares
# the records of both builds. Tests observe the model through its public hooks only (watchers,
# ids), which compiled classes keep.

import pytest
from simtest import MMC, MONOLITH, SHORT_MONOLITH

from sim.runs.runner import RunResult, run_replications
from sim.scenario import Scenario, load_scenario


@pytest.fixture(scope="session")
def mmc() -> Scenario:
    return load_scenario(MMC)


@pytest.fixture(scope="session")
def short_monolith() -> Scenario:
    return load_scenario(MONOLITH, SHORT_MONOLITH)


@pytest.fixture(scope="session")
def monolith_run(short_monolith: Scenario) -> RunResult:
    """Two replications of the shortened monolith, records kept (shared by several tests)."""
    return run_replications(short_monolith, 2, 11, keep_records=True)


@pytest.fixture(scope="session")
def mmc_run(mmc: Scenario) -> RunResult:
    """Twenty replications of mmc.toml as shipped (M/M/5 at 4 changes/day)."""
    return run_replications(mmc, 20, 1, workers=2)

"""Session fixtures shared by the test modules (helpers live in simtest.py)."""

from __future__ import annotations

import os

# The suite tests the Python sources, even when a compiled build (make fast) is present: some tests
# instrument methods or pass stand-ins, which compiled classes do not allow. test_compiled.py
# checks that the compiled build gives the same records. Set before anything imports sim.
os.environ["DRIVERSPLIT_PURE"] = "1"

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

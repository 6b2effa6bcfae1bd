"""The dask path of the study runner: a two-worker LocalCluster (worker processes) gives the same
results as the local pool, with and without the task cache."""

from __future__ import annotations

import pandas as pd
import pytest
from simtest import MMC

from sim.runs.compare import compare
from sim.runs.executors import study_executor
from sim.runs.study import TaskCache
from sim.scenario import load_scenario

pytest.importorskip("distributed")

SHORT = ["run.cycles=1"]


@pytest.fixture(scope="module")
def scenarios():
    return [load_scenario(MMC, [*SHORT, 'scenario.name="five"']),
            load_scenario(MMC, [*SHORT, "review.cores=6", 'scenario.name="six"'])]


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.comparison, b.comparison, check_exact=True)
    for run_a, run_b in zip(a.runs, b.runs, strict=True):
        pd.testing.assert_frame_equal(run_a.changes, run_b.changes, check_exact=True)
        pd.testing.assert_frame_equal(run_a.reviewers, run_b.reviewers, check_exact=True)


def test_a_local_dask_cluster_matches_the_local_pool(scenarios, tmp_path):
    local = compare(scenarios, 4, 5, workers=2)
    cache = TaskCache(tmp_path)
    with study_executor(dask_local=2) as executor:
        assert executor is not None and type(executor).__module__.startswith("distributed")
        on_dask = compare(scenarios, 4, 5, executor=executor, cache=cache)
    _same(on_dask, local)
    assert (cache.hits, cache.stored) == (0, 8)
    # What dask stored reads back as what the local pool computes.
    again = TaskCache(tmp_path)
    _same(compare(scenarios, 4, 5, workers=1, cache=again), local)
    assert (again.hits, again.stored) == (8, 0)


def test_scheduler_and_dask_local_exclude_each_other():
    from sim.errors import InputError

    with pytest.raises(InputError, match="one of them"), study_executor(scheduler="tcp://x:1", dask_local=2):
        pass


def test_compare_on_a_scheduler_writes_the_local_pool_bytes(tmp_path, capsys):
    """``sim compare --scheduler ADDRESS`` (a running LocalCluster's scheduler) and ``--dask-local``
    write the same files as ``--workers 2``."""
    import distributed

    from sim.cli import main

    six = tmp_path / "six.toml"  # the M/M/5 queue with a sixth reviewer, under its own name
    six.write_text(f'extends = "{MMC}"\n[scenario]\nname = "six"\n[review]\ncores = 6\n', encoding="utf-8")
    args = ["compare", str(MMC), str(six), "--set", "run.cycles=1", "--replications", "3", "--seed", "4"]
    assert main([*args, "--workers", "2", "--out", str(tmp_path / "local")]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert main([*args, "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "scheduler")]) == 0
    assert main([*args, "--dask-local", "2", "--out", str(tmp_path / "dask_local")]) == 0
    capsys.readouterr()
    for name in ("comparison.csv", "summary.csv", "run.json"):
        local = (tmp_path / "local" / name).read_bytes()
        assert (tmp_path / "scheduler" / name).read_bytes() == local, name
        assert (tmp_path / "dask_local" / name).read_bytes() == local, name

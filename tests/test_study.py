"""The study runner (sim.runs.study): task keys, the task cache, resuming a killed study."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Executor, Future

import pandas as pd
import pytest
from simtest import MMC, ROOT, kill_mid_study

from sim.runs import study
from sim.runs.runner import REPLICATION, run_replications
from sim.runs.study import Task, TaskCache, model_version, point_key, task_key
from sim.scenario import load_scenario

SHORT = ["run.cycles=1"]  # one 26-week cycle of the M/M/5 scenario: ~0.1 s a replication


@pytest.fixture(scope="module")
def mmc():
    return load_scenario(MMC, SHORT)


def test_task_key_is_a_content_hash(mmc):
    same = load_scenario(MMC, SHORT)  # loaded again: equal content, equal key
    key = task_key(Task(mmc, 0, 1), "replication")
    assert task_key(Task(same, 0, 1), "replication") == key
    changed = load_scenario(MMC, [*SHORT, "review.cores=6"])
    others = {
        "scenario": task_key(Task(changed, 0, 1), "replication"),
        "seed": task_key(Task(mmc, 0, 2), "replication"),
        "replication": task_key(Task(mmc, 1, 1), "replication"),
        "measure": task_key(Task(mmc, 0, 1), "metrics"),
        "model version": task_key(Task(mmc, 0, 1), "replication", version=model_version() + "-edited"),
    }
    assert all(k != key for k in others.values()), others
    assert len(set(others.values())) == len(others)
    assert point_key(changed) != point_key(mmc)


def test_model_version_follows_the_sources(tmp_path, monkeypatch):
    (tmp_path / "model.py").write_text("RATE = 1\n")
    monkeypatch.setattr(study, "SOURCE_ROOT", tmp_path)
    before = study.model_version.__wrapped__()
    (tmp_path / "model.py").write_text("RATE = 2\n")
    assert study.model_version.__wrapped__() != before


def _frames_equal(a, b) -> None:
    for name in ("summary", "per_replication", "changes", "reviewers", "littles_law"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)


def test_repeat_reads_everything_back_and_computes_nothing(mmc, tmp_path, monkeypatch):
    fresh = run_replications(mmc, 4, 7)
    cache = TaskCache(tmp_path / "cache")
    first = run_replications(mmc, 4, 7, cache=cache)
    assert (cache.hits, cache.stored) == (0, 4)
    assert cache.count(REPLICATION.name) == 4
    _frames_equal(first, fresh)

    def no_simulation(*args, **kwargs):
        raise AssertionError("a cached task was simulated again")

    monkeypatch.setattr(study, "simulate", no_simulation)
    again = TaskCache(tmp_path / "cache")
    repeat = run_replications(mmc, 4, 7, cache=again)
    assert (again.hits, again.stored) == (4, 0)
    _frames_equal(repeat, fresh)


def test_an_incomplete_task_is_run_again(mmc, tmp_path):
    cache = TaskCache(tmp_path)
    run_replications(mmc, 3, 7, cache=cache)
    # A task killed between its tables and its entry: the tables are there, the entry is not.
    key = task_key(Task(mmc, 1, 7), REPLICATION.name)
    (tmp_path / REPLICATION.name / study.DONE_DIR / f"{key}.json").unlink()
    again = TaskCache(tmp_path)
    run_replications(mmc, 3, 7, cache=again)
    assert (again.hits, again.stored) == (2, 1)


def test_a_changed_seed_or_scenario_misses_the_cache(mmc, tmp_path):
    cache = TaskCache(tmp_path)
    run_replications(mmc, 2, 7, cache=cache)
    other = TaskCache(tmp_path)
    run_replications(mmc, 2, 8, cache=other)
    run_replications(load_scenario(MMC, [*SHORT, "review.cores=6"]), 2, 7, cache=other)
    assert (other.hits, other.stored) == (0, 4)


def test_a_cache_path_that_is_a_file_is_one_clear_error(tmp_path):
    from sim.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["run", str(MMC), "--set", "run.cycles=1", "--replications", "1", "--out", str(tmp_path / "out"),
               "--cache", str(blocker / "cache")])
    assert rc == 2
    assert not (tmp_path / "out").exists()


def _sim(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


RUN = ["run", str(MMC), "--set", "run.cycles=1", "--replications", "16", "--seed", "3"]
OUTPUTS = ("summary.csv", "changes.parquet", "run.json")


def test_a_killed_study_resumes_with_identical_bytes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    whole = tmp_path / "whole"
    subprocess.run(_sim(*RUN, "--out", str(whole)), cwd=ROOT, env=env, check=True, capture_output=True)

    cache, done = tmp_path / "cache", tmp_path / "cache" / REPLICATION.name / study.DONE_DIR
    resumed = tmp_path / "resumed"
    proc = subprocess.Popen(_sim(*RUN, "--out", str(resumed), "--cache", str(cache)), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cached_at_kill = kill_mid_study(proc, done, 3, 16, 120)
    assert not resumed.exists()

    rerun = subprocess.run(_sim(*RUN, "--out", str(resumed), "--cache", str(cache)), cwd=ROOT, env=env,
                           check=True, capture_output=True, text=True)
    assert f"{cached_at_kill} of 16 replications read back, {16 - cached_at_kill} run and stored" in rerun.stdout
    for name in OUTPUTS:
        assert (resumed / name).read_bytes() == (whole / name).read_bytes(), name


class _OtherVersionExecutor(Executor):
    """Runs each task here and reports it as run by another model version (a stale cluster worker)."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        _, result = fn(*args, **kwargs)
        future.set_result(("0.0.0+elsewhere", result))
        return future


def test_a_worker_with_another_model_version_is_refused(mmc, tmp_path):
    cache = TaskCache(tmp_path)
    with pytest.raises(study.ModelVersionMismatch, match="0.0.0\\+elsewhere"):
        run_replications(mmc, 2, 7, executor=_OtherVersionExecutor(), cache=cache)
    assert cache.stored == 0


def test_check_baseline_goes_through_the_cache(tmp_path, capsys):
    from sim.cli import main

    update = ["check-baseline", "--update", "--scenario", str(MMC), "--set", "run.cycles=1", "--replications", "3",
              "--seed", "2", "--cache", str(tmp_path / "cache")]
    assert main([*update, "--baseline", str(tmp_path / "first")]) == 0
    assert "0 of 3 replications read back, 3 run and stored" in capsys.readouterr().out
    assert main([*update, "--baseline", str(tmp_path / "again")]) == 0
    assert "3 of 3 replications read back, 0 run and stored" in capsys.readouterr().out
    for name in ("summary.csv", "baseline.json", "README.md"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "first" / name).read_bytes(), name
    assert main(["check-baseline", "--baseline", str(tmp_path / "first"), "--cache", str(tmp_path / "cache")]) == 0
    assert "3 of 3 replications read back" in capsys.readouterr().out


def test_online_summary_is_the_summary_bit_for_bit(mmc):
    from sim.runs import metrics
    from sim.runs.online import OnlineSummary

    result = run_replications(load_scenario(MMC, [*SHORT, "review.cores=4"]), 5, 11)
    online = OnlineSummary()
    for _, frame in result.per_replication.groupby("replication", sort=True):
        online.add(frame)
    expected = metrics.summarize(result.per_replication, "s", "p")
    pd.testing.assert_frame_equal(online.summary("s", "p"), expected, check_exact=True)
    assert expected["n"].min() < 5 or expected["mean"].isna().any() or len(expected) > 10  # many groups, real values


def test_the_calibration_reads_its_replications_back(mmc, tmp_path):
    from sim.calibrate.fit import simulate_with_times

    fresh = simulate_with_times(mmc, range(3), 4)
    cache = TaskCache(tmp_path)
    simulate_with_times(mmc, range(3), 4, cache=cache)
    again = TaskCache(tmp_path)
    per_rep, times = simulate_with_times(mmc, range(3), 4, cache=again)
    assert (cache.stored, again.hits, again.stored) == (3, 3, 0)
    pd.testing.assert_frame_equal(per_rep, fresh[0], check_exact=True)
    pd.testing.assert_frame_equal(times, fresh[1], check_exact=True)


def test_the_cache_gives_back_the_frames_it_stored(mmc, tmp_path):
    frame = pd.DataFrame({"area": pd.array(["a", "b", "c"], dtype="str"), "x": [1.5, float("nan"), 3.0],
                          "n": [1, 2, 3], "flag": [True, False, True]}).iloc[[0, 2]]  # an index with a gap
    cache = TaskCache(tmp_path)
    cache.store("probe", "k1", Task(mmc, 0, 1), {"t": frame, "empty": frame.iloc[:0]})
    assert cache.has("probe", "k1") and not cache.has("probe", "k2")
    back = cache.load("probe", "k1")
    pd.testing.assert_frame_equal(back["t"], frame, check_exact=True)
    pd.testing.assert_frame_equal(back["empty"], frame.iloc[:0], check_exact=True)
    assert not list(tmp_path.rglob(".*tmp-*")), "temporary files left behind"

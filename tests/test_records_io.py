"""The per-change records on disk (sim/runs/records_io.py): Parquet by default, gzipped CSV on
request, one reader for both."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from simtest import MMC, run_cli

from sim.errors import InputError
from sim.runs.records_io import CHANGES_FILES, ChangesWriter, read_changes, write_changes
from sim.runs.runner import run_replications
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def changes() -> pd.DataFrame:
    """The change rows of two short M/M/c replications, as `sim run` writes them."""
    return run_replications(load_scenario(MMC, ["run.cycles=1"]), 2, 4).changes


@pytest.mark.parametrize("records", ["parquet", "csv"])
def test_written_rows_read_back_equal_with_their_types(changes: pd.DataFrame, tmp_path: Path, records: str) -> None:
    path = write_changes(changes, tmp_path, records)
    assert path.name == CHANGES_FILES[records]
    back = read_changes(path)
    pd.testing.assert_frame_equal(back, changes, check_exact=True)
    pd.testing.assert_frame_equal(read_changes(tmp_path), changes, check_exact=True)  # the run's directory


def test_parquet_bytes_depend_only_on_the_rows(changes: pd.DataFrame, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_changes(changes, tmp_path / "a").read_bytes()
    assert write_changes(changes, tmp_path / "b").read_bytes() == first
    (tmp_path / "c").mkdir()
    assert write_changes(changes.iloc[:-1], tmp_path / "c").read_bytes() != first


def test_a_directory_with_both_formats_reads_the_last_written(changes: pd.DataFrame, tmp_path: Path) -> None:
    """A rerun in the other format leaves the earlier run's file beside its own: the newer is the run's."""
    write_changes(changes, tmp_path, "csv")
    parquet = write_changes(changes.iloc[:3], tmp_path, "parquet")
    assert len(read_changes(tmp_path)) == 3
    csv = write_changes(changes.iloc[:5], tmp_path, "csv")
    later = parquet.stat().st_mtime_ns + 1_000_000
    os.utime(csv, ns=(later, later))  # a coarse file-system clock could give both the same time
    assert len(read_changes(tmp_path)) == 5


@pytest.mark.parametrize("name, words", [
    ("missing.parquet", ["missing.parquet", "no such file"]),
    ("changes.json", ["changes.json", ".parquet, .csv.gz or .csv"]),
    ("empty_dir", ["empty_dir", "changes.parquet or changes.csv.gz"]),
])
def test_bad_paths_are_one_clear_error(tmp_path: Path, name: str, words: list[str]) -> None:
    path = tmp_path / name
    if name == "changes.json":
        path.write_text("{}")
    if name == "empty_dir":
        path.mkdir()
    with pytest.raises(InputError) as error:
        read_changes(path)
    assert all(word in str(error.value) for word in words) and "\n" not in str(error.value)


def test_run_writes_csv_on_request_with_the_same_rows(tmp_path: Path) -> None:
    for records in ("parquet", "csv"):
        proc = run_cli("run", str(MMC), "--replications", "2", "--seed", "4", "--set", "run.cycles=1",
                       "--records", records, "--out", str(tmp_path / records))
        assert proc.returncode == 0, proc.stderr
        assert CHANGES_FILES[records] in proc.stdout
        assert sorted(p.name for p in (tmp_path / records).iterdir()) == sorted([CHANGES_FILES[records], "run.json", "summary.csv"])
    pd.testing.assert_frame_equal(read_changes(tmp_path / "csv"), read_changes(tmp_path / "parquet"), check_exact=True)
    bad = run_cli("run", str(MMC), "--records", "xlsx", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "--records" in bad.stderr and not (tmp_path / "bad").exists()


@pytest.mark.parametrize("records", ["parquet", "csv"])
def test_rows_streamed_replication_by_replication_read_back_as_one_frame(tmp_path: Path, records: str) -> None:
    """`sim run`'s path: each replication's rows go to disk as they arrive and the result keeps none."""
    scenario = load_scenario(MMC, ["run.cycles=1"])
    frames: list[pd.DataFrame] = []
    with ChangesWriter(tmp_path, records) as writer:
        result = run_replications(scenario, 3, 4, workers=2,
                                  changes_to=lambda frame: (frames.append(frame), writer.write(frame)))
    assert result.changes.empty and list(result.changes.columns) == list(frames[0].columns)
    assert [f["replication"].unique().tolist() for f in frames] == [[0], [1], [2]]  # in replication order
    collected = run_replications(scenario, 3, 4)
    kept = collected.changes
    assert writer.rows == len(kept)
    pd.testing.assert_frame_equal(read_changes(writer.path), kept, check_exact=True)
    pd.testing.assert_frame_equal(result.summary, collected.summary, check_exact=True)  # aggregated online
    assert result.replications == 3
    for name in ("per_replication", "reviewers", "littles_law"):  # the columns, none of the rows
        streamed, full = getattr(result, name), getattr(collected, name)
        assert streamed.empty and not full.empty and streamed.dtypes.to_dict() == full.dtypes.to_dict(), name


@pytest.mark.parametrize("workers", [1, 2])
def test_streaming_keeps_no_earlier_replication_alive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      workers: int) -> None:
    """Memory flat in the replications (issue 15, item 6): when replication r's rows are handed over,
    no object of an earlier replication (its result, metric, reviewer or change frames) is alive."""
    import gc
    import weakref

    from sim.runs import runner

    alive: list[tuple[int, list[weakref.ref]]] = []  # replication, weak references to its result and frames
    real_run_tasks = runner.run_tasks

    def watched_run_tasks(*args, **kwargs):
        for result in real_run_tasks(*args, **kwargs):
            refs = [weakref.ref(obj) for obj in (result, result.changes, result.metrics, result.reviewers)]
            alive.append((result.replication, refs))
            yield result

    def earlier_alive(frame: pd.DataFrame) -> list[int]:
        now = int(frame["replication"].iloc[0])
        gc.collect()
        return [r for r, refs in alive if r < now and any(ref() is not None for ref in refs)]

    monkeypatch.setattr(runner, "run_tasks", watched_run_tasks)
    leaks: list[int] = []
    with ChangesWriter(tmp_path) as writer:
        run_replications(load_scenario(MMC, ["run.cycles=1"]), 4, 4, workers=workers,
                         changes_to=lambda frame: (leaks.extend(earlier_alive(frame)), writer.write(frame)))
    assert len(alive) == 4 and writer.rows > 0
    assert leaks == [], f"replications {sorted(set(leaks))} still alive while later ones were handed over"


def test_only_empty_frames_still_write_a_file_of_the_columns(changes: pd.DataFrame, tmp_path: Path) -> None:
    with ChangesWriter(tmp_path) as writer:
        writer.write(changes.iloc[:0])
        writer.write(changes.iloc[:0])
    back = read_changes(writer.path)
    assert back.empty and list(back.columns) == list(changes.columns)
    (tmp_path / "mixed").mkdir()
    with ChangesWriter(tmp_path / "mixed") as writer:  # an empty first frame does not fix the types
        writer.write(changes.iloc[:0])
        writer.write(changes)
    pd.testing.assert_frame_equal(read_changes(writer.path), changes, check_exact=True)

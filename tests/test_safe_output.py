"""Outputs never destroy what the program did not write (sim.safe_output), checked on the file system."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.errors import OutputError
from sim.safe_output import TMP_TAG, FilesInto, ResultDirectory, ResultFile, is_result, remove_stale

MARKER = "run.json"


def ours(directory: Path, **files: str) -> Path:
    """A directory holding a previous result of ours (a marker recording the driversplit version)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(json.dumps({"versions": {"driversplit": "0"}}))
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def write_result(target: ResultDirectory, **files: str) -> None:
    target.check()
    with target.commit() as tmp:
        (tmp / MARKER).write_text(json.dumps({"versions": {"driversplit": "0"}}))
        for name, text in files.items():
            (tmp / name).write_text(text)


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ------------------------------------------------------------------------------ result directories


def test_a_foreign_directory_is_refused_and_untouched(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(OutputError, match=r"not empty and not a driversplit result \(no run.json\).*--force"):
        ResultDirectory(target, MARKER).check()
    assert entries(target) == ["keep"]


def test_a_run_json_of_another_tool_is_not_a_marker(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir()
    (target / MARKER).write_text('{"tool": "other"}')
    assert not is_result(target, MARKER)
    with pytest.raises(OutputError):
        ResultDirectory(target, MARKER).check()


def test_force_writes_into_a_foreign_directory_and_keeps_its_files(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir()
    (target / "keep").write_text("x")
    write_result(ResultDirectory(target, MARKER, force=True), summary="new")
    assert entries(target) == ["keep", MARKER, "summary"]
    assert (target / "keep").read_text() == "x"


def test_a_previous_result_is_replaced_whole(tmp_path: Path) -> None:
    target = ours(tmp_path / "d", summary="old")
    before = target.stat().st_ino
    write_result(ResultDirectory(target, MARKER), summary="new")
    assert entries(target) == [MARKER, "summary"]
    assert target.stat().st_ino != before, "the directory was swapped whole, not rewritten file by file"
    assert (target / "summary").read_text() == "new"
    assert entries(tmp_path) == ["d"]


def test_files_beside_a_previous_result_are_kept(tmp_path: Path) -> None:
    target = ours(tmp_path / "d", summary="old")
    (target / "notes.txt").write_text("mine")
    write_result(ResultDirectory(target, MARKER), summary="new")
    assert entries(target) == ["notes.txt", MARKER, "summary"]
    assert (target / "summary").read_text() == "new" and (target / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("shape", ["file", "under_a_file"])
def test_a_target_that_cannot_be_a_directory_is_refused(shape: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    target = tmp_path / "f" if shape == "file" else tmp_path / "f" / "sub"
    with pytest.raises(OutputError, match="exists and is not a directory" if shape == "file" else "is a file"):
        ResultDirectory(target, MARKER).check()
    assert (tmp_path / "f").read_text() == "x"
    assert entries(tmp_path) == ["f"]


def test_a_new_nested_target_is_created(tmp_path: Path) -> None:
    write_result(ResultDirectory(tmp_path / "a" / "b", MARKER), summary="s")
    assert entries(tmp_path / "a" / "b") == [MARKER, "summary"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_an_unwritable_parent_is_refused(tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir(mode=0o555)
    with pytest.raises(OutputError, match="not writable"):
        ResultDirectory(parent / "out", MARKER).check()


@pytest.mark.parametrize("fault", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_previous_result_and_no_temporary(fault: BaseException, tmp_path: Path) -> None:
    target = ours(tmp_path / "d", summary="old")
    with pytest.raises(type(fault)), ResultDirectory(target, MARKER).commit() as tmp:
        (tmp / "summary").write_text("half")
        raise fault
    assert (target / "summary").read_text() == "old"
    assert entries(tmp_path) == ["d"]


# ------------------------------------------------------------------------------ temporaries of killed runs


def dead_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "d"
    dead = tmp_path / f".d{TMP_TAG}{dead_pid()}-abcd"
    dead.mkdir()
    (dead / "summary").write_text("half")
    alive = tmp_path / f".d{TMP_TAG}{os.getppid()}-abcd"  # a running process (pytest's parent)
    alive.mkdir()
    other = tmp_path / f".e{TMP_TAG}{dead_pid()}-abcd"  # another target's: not ours to judge
    other.mkdir()
    remove_stale(target)
    assert entries(tmp_path) == sorted([alive.name, other.name])


def test_the_next_write_removes_a_killed_writers_temporary(tmp_path: Path) -> None:
    target = tmp_path / "d"
    (tmp_path / f".d{TMP_TAG}{dead_pid()}-0000").mkdir()
    write_result(ResultDirectory(target, MARKER), summary="s")
    assert entries(tmp_path) == ["d"]


# ------------------------------------------------------------------------------ concurrent writers


def _writer(target: str, tag: str, writes: int, errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    for i in range(writes):
        try:
            write_result(ResultDirectory(Path(target), MARKER), a=f"{tag}{i}", b=f"{tag}{i}")
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.put(repr(exc))


def test_concurrent_writers_both_succeed_and_the_last_wins_whole(tmp_path: Path) -> None:
    """Two processes x 100 writes to one target: no error, no temporary left, never a mix of two writes."""
    target = tmp_path / "d"
    errors: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.get_context("fork").Process(target=_writer, args=(str(target), tag, 100, errors))
             for tag in "xy"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    assert all(p.exitcode == 0 for p in procs)
    assert entries(tmp_path) == ["d"]
    assert entries(target) == ["a", "b", MARKER]
    assert (target / "a").read_text() == (target / "b").read_text()


# ------------------------------------------------------------------------------ files into a shared directory


def test_files_into_touch_only_their_names(tmp_path: Path) -> None:
    shared = tmp_path / "figures"
    shared.mkdir()
    (shared / "calibration.png").write_text("other command's")
    (shared / "figures.json").write_text(json.dumps({"versions": {"driversplit": "0"}}))
    (shared / "fig1.png").write_text("old")
    out = FilesInto(shared, ("fig1.png", "figures.json"), "figures.json")
    out.check()
    with out.commit() as tmp:
        (tmp / "fig1.png").write_text("new")
    assert entries(shared) == ["calibration.png", "fig1.png", "figures.json"]
    assert (shared / "fig1.png").read_text() == "new" and (shared / "calibration.png").read_text() == "other command's"


def test_files_into_refuse_to_overwrite_foreign_files_without_force(tmp_path: Path) -> None:
    shared = tmp_path / "docs"
    shared.mkdir()
    (shared / "README.md").write_text("the user's")
    out = FilesInto(shared, ("README.md", "fig1.png"), "figures.json")
    with pytest.raises(OutputError, match="would overwrite README.md"):
        out.check()
    forced = FilesInto(shared, ("README.md", "fig1.png"), "figures.json", force=True)
    forced.check()
    assert (shared / "README.md").read_text() == "the user's"


def test_files_into_refuse_undeclared_outputs(tmp_path: Path) -> None:
    out = FilesInto(tmp_path / "f", ("a",), "figures.json")
    with pytest.raises(RuntimeError, match="undeclared"), out.commit() as tmp:
        (tmp / "b").write_text("x")
    assert entries(tmp_path) == []


# ------------------------------------------------------------------------------ single files


def test_result_file_replaces_only_its_own_file_and_gets_the_umask_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("the user's")
    with pytest.raises(OutputError, match="was not written by driversplit"):
        ResultFile(path).check()
    mine = ResultFile(path, is_ours=lambda p: True)
    mine.check()
    with mine.commit() as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert entries(tmp_path) == ["out.csv"]


def test_result_file_refuses_a_directory_and_a_special_file(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a directory"):
        ResultFile(tmp_path, force=True).check()
    with pytest.raises(OutputError, match="not a regular file"):
        ResultFile(Path("/dev/null"), force=True).check()

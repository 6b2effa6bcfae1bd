"""Issue 12: outputs and options of ``sim data extract``, ``sim calibrate`` and ``sim params`` that
cannot work are refused with exit 2 and one line naming the file or option, never a traceback,
before any work; ``data extract`` replaces only what it wrote and leaves no temporary file.

Every file written here is under pytest's ``tmp_path``.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from simtest import run_cli

from sim.calibrate import DataError
from sim.calibrate.data import COLUMNS, check_output, write_changes
from sim.cli import build_parser, main
from sim.errors import OutputError
from sim.scenario.table import END, START, ParamTableError, update_markdown

HEADER = ",".join(COLUMNS)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def one_line(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 2, one line on stderr holding every fragment, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def no_temporary_files(directory: Path) -> bool:
    return not any(p.name.startswith(".") for p in directory.iterdir())


def git(path: Path, *args: str, when: str = "2014-01-01T00:00:00Z") -> None:
    """Run git in ``path`` as author and committer A at ``when`` (UTC), no user configuration."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com", "GIT_COMMITTER_NAME": "A",
           "GIT_COMMITTER_EMAIL": "a@example.com", "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when,
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path)}
    subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git clone with two commits on master (the smallest history extract accepts)."""
    path = tmp_path_factory.mktemp("repo")
    git(path, "init", "-q", "-b", "master")
    git(path, "commit", "-q", "--allow-empty", "-m", "one")
    git(path, "commit", "-q", "--allow-empty", "-m", "two")
    return path


# ------------------------------------------------------------------------------ data extract --out


def bad_outputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """--out values that cannot be written, each with the fragment its error names."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x\n", encoding="utf-8")
    return {
        "existing_directory": (tmp_path / "dir", "is a directory"),
        "under_a_file": (tmp_path / "file" / "out.csv", f"{tmp_path / 'file'} is a file, not a directory"),
        "foreign_file": (tmp_path / "file", "exists and was not written by driversplit"),
    }


@pytest.mark.parametrize("case", ["existing_directory", "under_a_file", "foreign_file"])
def test_extract_refuses_a_bad_out_before_walking_the_repository(case: str, tmp_path: Path) -> None:
    out, fragment = bad_outputs(tmp_path)[case]
    before = sorted(tmp_path.rglob("*"))
    # the repository does not exist: an error about --out proves --out was checked first
    proc = run_cli("data", "extract", "--repo", str(tmp_path / "norepo"), "--out", str(out))
    one_line(proc, str(out), fragment)
    assert sorted(tmp_path.rglob("*")) == before and (tmp_path / "file").read_text(encoding="utf-8") == "x\n"


def test_extract_checks_out_before_reading_history(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from sim.calibrate import extract

    monkeypatch.setattr(extract, "read_history", lambda *a, **k: pytest.fail("the repository was walked"))
    assert main(["data", "extract", "--repo", str(repo), "--out", str(tmp_path)]) == 2
    assert f"error: --out {tmp_path}: is a directory" in capsys.readouterr().err


def test_extract_replaces_a_changes_csv_and_a_foreign_file_only_with_force(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "changes.csv.gz"
    assert main(["data", "extract", "--repo", str(repo), "--out", str(out)]) == 0
    assert main(["data", "extract", "--repo", str(repo), "--out", str(out)]) == 0, "its own output is replaced"
    notes = tmp_path / "notes.csv"
    notes.write_text("change_id,commit\nmine,keep\n", encoding="utf-8")
    one_line(run_cli("data", "extract", "--repo", str(repo), "--out", str(notes)), str(notes), "--force")
    assert notes.read_text(encoding="utf-8") == "change_id,commit\nmine,keep\n"
    assert main(["data", "extract", "--repo", str(repo), "--out", str(notes), "--force"]) == 0
    assert notes.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert gzip.decompress(out.read_bytes()).decode("utf-8").splitlines()[0] == HEADER
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changes.csv.gz", "notes.csv"]
    assert main(["data", "extract", "--repo", str(repo), "--out", str(tmp_path / "new" / "c.csv")]) == 0, \
        "a missing directory is created"


def test_extract_reports_a_history_the_loader_refuses(tmp_path: Path) -> None:
    """A commit dated 1999 is extracted faithfully; the loader's refusal names its line, exit 2."""
    path = tmp_path / "old"
    path.mkdir()
    when = "1999-06-01T00:00:00Z"
    git(path, "init", "-q", "-b", "master")
    git(path, "commit", "-q", "--allow-empty", "-m", "old", when=when)
    out = tmp_path / "changes.csv"
    one_line(run_cli("data", "extract", "--repo", str(path), "--out", str(out)),
             f"{out}: line 2, column authored_at: '{when}' is before 2000-01-01T00:00:00Z", "file is kept")
    assert out.read_text(encoding="utf-8").splitlines()[0] == HEADER


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_extract_writes_the_mode_the_umask_gives(umask: int, repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "changes.csv"
    previous = os.umask(umask)
    try:
        assert main(["data", "extract", "--repo", str(repo), "--out", str(out)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_check_output_refuses_an_unwritable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Faked with os.access: root may write anywhere, so chmod alone cannot show it (see below)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: Path(p) != locked and real(p, mode, **k))
    with pytest.raises(OutputError, match=f"^--out {locked}: directory is not writable$"):
        check_output(locked / "out.csv")


@pytest.mark.skipif(IS_ROOT, reason="root may write into a read-only directory")
def test_extract_refuses_a_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        one_line(run_cli("data", "extract", "--repo", str(tmp_path / "norepo"), "--out", str(locked / "o.csv")),
                 "is not writable")
    finally:
        locked.chmod(0o755)


def test_check_output_refuses_what_is_not_a_regular_file() -> None:
    with pytest.raises(OutputError, match="^--out /dev/null: exists and is not a regular file$"):
        check_output("/dev/null", force=True)


@pytest.mark.parametrize("fault", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")])
def test_write_changes_removes_its_temporary_file_on_any_failure(fault: BaseException, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame([dict.fromkeys(COLUMNS, "0")])
    out = tmp_path / "changes.csv"
    out.write_text(HEADER + "\nold\n", encoding="utf-8")

    def fail(*args: object) -> None:
        raise fault

    monkeypatch.setattr(os, "replace", fail)
    if isinstance(fault, OSError):
        with pytest.raises(DataError, match=f"^{out}: cannot write \\(No space left on device\\)$"):
            write_changes(frame, out)
    else:
        with pytest.raises(KeyboardInterrupt):
            write_changes(frame, out)
    assert out.read_text(encoding="utf-8") == HEADER + "\nold\n"
    assert no_temporary_files(tmp_path), list(tmp_path.iterdir())


# ------------------------------------------------------------------------------ calibrate options


@pytest.mark.parametrize("option,value,expected", [
    ("--replications", "0", "'0' is not a whole number from 1 to 10,000"),
    ("--replications", "10001", "'10001' is not a whole number from 1 to 10,000"),
    ("--check-replications", "0", "'0' is not a whole number from 1 to 10,000"),
    ("--workers", "0", "'0' is not a whole number >= 1"),
    ("--budget", "-1", "'-1' is not a whole number from 0 to 100,000"),
    ("--seed", "x", "'x' is not a whole number >= 0"),
])
def test_calibrate_refuses_counts_that_cannot_work(option: str, value: str, expected: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["calibrate", "--cycle", "juno", f"{option}={value}"])
    assert info.value.code == 2
    assert f"argument {option}: {expected}" in capsys.readouterr().err


def test_calibrate_accepts_the_smallest_counts_that_work() -> None:
    """budget 0 runs each least-squares stage's floor (10 + 20 evaluations); one replication fits."""
    args = build_parser().parse_args(["calibrate", "--cycle", "juno", "--budget", "0", "--replications", "1",
                                      "--check-replications", "1", "--workers", "1", "--seed", "0"])
    assert (args.budget, args.replications, args.check_replications, args.workers, args.seed) == (0, 1, 1, 1, 0)


def test_calibrate_replications_0_exits_2_without_a_traceback() -> None:
    proc = run_cli("calibrate", "--cycle", "juno", "--replications", "0")  # argparse: usage line, then the error
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith("'0' is not a whole number from 1 to 10,000")


# ------------------------------------------------------------------------------ params --update


def markdown(path: Path, table: str = "| stale |") -> Path:
    path.write_text(f"# Parameters\n\n{START}\n{table}\n{END}\n\nafter\n", encoding="utf-8")
    return path


def test_params_update_refuses_a_missing_file_in_one_line(tmp_path: Path) -> None:
    one_line(run_cli("params", "--update", str(tmp_path / "missing.md")), "missing.md: file not found")


@pytest.mark.parametrize("case,expected", [
    ("directory", "is a directory"),
    ("no_markers", "no generated-table markers"),
    ("markers_reversed", "no generated-table markers"),
    ("not_text", "not a UTF-8 text file"),
])
def test_params_update_refuses_what_cannot_hold_the_table(case: str, expected: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "doc.md"
    content = {"no_markers": b"# Parameters\n", "markers_reversed": f"{END}\n{START}\n".encode(),
               "not_text": b"\xff\xfe\x00"}.get(case)
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    assert main(["params", "--update", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and err[0].startswith(f"error: {path}: {expected}"), err
    if content is not None:
        assert path.read_bytes() == content


def test_params_update_refuses_an_unwritable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Faked: root may write a read-only file. A file already up to date needs no write."""
    path = markdown(tmp_path / "doc.md")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_text", refuse)
    with pytest.raises(ParamTableError, match=f"^{path}: cannot write \\(Permission denied\\)$"):
        update_markdown(path)
    assert "| stale |" in path.read_text(encoding="utf-8")


@pytest.mark.skipif(IS_ROOT, reason="root may write a read-only file")
def test_params_update_refuses_a_read_only_file(tmp_path: Path) -> None:
    path = markdown(tmp_path / "doc.md")
    path.chmod(0o444)
    one_line(run_cli("params", "--update", str(path)), str(path), "cannot write")


def test_params_update_rewrites_only_between_the_markers(tmp_path: Path) -> None:
    path = markdown(tmp_path / "doc.md")
    assert update_markdown(path) is True
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# Parameters\n\n{START}\n| parameter |") and text.endswith(f"\n{END}\n\nafter\n")
    assert update_markdown(path) is False

"""Writing outputs without destroying what the program did not write.

Three shapes of output, each checked before any work (``check()``: a bad path fails in a second,
not after the simulation) and written at the end (``commit()``: a context manager that yields a
temporary location next to the target and moves it into place only when the block succeeds):

- :class:`ResultDirectory`: a directory that is one command's result (``sim run``, ``sim compare``,
  a baseline, a fit report), recognised by its *marker* file (``run.json``, ``baseline.json``...).
- :class:`FilesInto`: named files added to a directory shared with other outputs (``figures/``).
- :class:`ResultFile`: one file (a calibrated scenario, a changes CSV).

The promises:

1. Nothing the program did not write is deleted or overwritten. An existing non-empty directory
   is written into only when it holds the marker of a previous result (or with ``force``), and
   even then only the entries this write produces are replaced: any other file stays.
2. A result directory is replaced whole (two renames) when it holds nothing but our entries, so a
   reader sees the old result or the new one, never a mix; a failed or interrupted write leaves
   the previous result untouched and no temporary entry behind.
3. Temporaries are named ``.NAME.driversplit-tmp-PID-XXXX`` beside the target. Those of a killed
   process (its PID no longer runs) are removed by the next write to the same target.
4. Concurrent writers to one target serialise on an advisory lock of the parent directory while
   they move their files in: both succeed and the last one wins whole.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sim.errors import OutputError

TMP_TAG = ".driversplit-tmp-"
OLD_TAG = ".driversplit-old-"


# ------------------------------------------------------------------------------ the three shapes


@dataclass
class ResultDirectory:
    """A directory holding one result; ``marker`` names the file that marks a previous result."""

    path: Path
    marker: str
    force: bool = False
    option: str = "--out"  # how the user named the path, for messages

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    def check(self) -> None:
        """Refuse (``OutputError``) a target that is a file, cannot be created, or is foreign."""
        with locked(self.path.parent):
            self._validate()

    def _validate(self) -> None:
        target = self.path
        if _exists(target):
            if not target.is_dir():
                raise OutputError(f"{self.option} {target}: exists and is not a directory")
            _check_writable(target, self.option)
            if not (self.force or _is_empty(target) or is_result(target, self.marker)):
                raise OutputError(
                    f"{self.option} {target}: not empty and not a driversplit result (no {self.marker}); choose a "
                    f"new or empty directory, or add --force to write into it (its other files are kept)"
                )
        else:
            _check_creatable(target, self.option)
        remove_stale(target)

    @contextmanager
    def commit(self) -> Iterator[Path]:
        """Yield an empty temporary directory; its entries become the result if the block succeeds."""
        with _temporary(self.path, directory=True) as tmp:
            yield tmp
            with locked(self.path.parent):
                self._validate()  # again: the target may have changed while we worked
                _replace_directory(tmp, self.path)


@dataclass
class FilesInto:
    """Files with known ``names`` written into a directory other outputs share (nothing else touched).

    An existing file of one of those names is overwritten only when the directory holds ``marker``
    (a previous output of ours) or with ``force``.
    """

    path: Path
    names: tuple[str, ...]
    marker: str
    force: bool = False
    option: str = "--out"

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.names = tuple(self.names)

    def check(self) -> None:
        """Refuse a target that is a file or cannot be created, or files of our names not ours."""
        with locked(self.path.parent):
            self._validate()

    def _validate(self) -> None:
        target = self.path
        if not _exists(target):
            _check_creatable(target, self.option)
            return
        if not target.is_dir():
            raise OutputError(f"{self.option} {target}: exists and is not a directory")
        _check_writable(target, self.option)
        present = [name for name in self.names if _exists(target / name)]
        dirs = [name for name in present if (target / name).is_dir()]
        if dirs:
            raise OutputError(f"{self.option} {target}: {', '.join(dirs)} would be overwritten but is a directory")
        if present and not (self.force or is_result(target, self.marker)):
            raise OutputError(
                f"{self.option} {target}: would overwrite {', '.join(present[:3])}{' ...' if len(present) > 3 else ''} "
                f"which driversplit did not write (no {self.marker} there); choose another directory or add --force"
            )
        remove_stale(target)

    @contextmanager
    def commit(self) -> Iterator[Path]:
        """Yield a temporary directory; each file written there then replaces its namesake in ``path``."""
        with _temporary(self.path, directory=True) as tmp:
            yield tmp
            written = sorted(p.name for p in tmp.iterdir())
            undeclared = sorted(set(written) - set(self.names))
            if undeclared:  # the pre-check could not have vouched for them
                raise RuntimeError(f"{self.path}: wrote undeclared outputs {undeclared}")
            with locked(self.path.parent):
                self._validate()
                self.path.mkdir(parents=True, exist_ok=True)
                for name in written:
                    os.replace(tmp / name, self.path / name)


@dataclass
class ResultFile:
    """One output file; an existing file is replaced only when ``is_ours(path)`` or with ``force``."""

    path: Path
    is_ours: Callable[[Path], bool] = lambda path: False
    force: bool = False
    option: str = "--out"

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    def check(self) -> None:
        """Refuse a directory, a special file, a path that cannot be created, or a file not ours."""
        with locked(self.path.parent):
            self._validate()

    def _validate(self) -> None:
        target = self.path
        if _exists(target):
            if target.is_dir():
                raise OutputError(f"{self.option} {target}: is a directory; give a file name")
            if not target.is_file():
                raise OutputError(f"{self.option} {target}: exists and is not a regular file")
            _check_writable(target.parent, self.option)
            if not (self.force or self.is_ours(target)):
                raise OutputError(f"{self.option} {target}: exists and was not written by driversplit; "
                                  "choose another name or add --force to replace it")
        else:
            _check_creatable(target, self.option)
        remove_stale(target)

    @contextmanager
    def commit(self) -> Iterator[Path]:
        """Yield a temporary file path beside the target; it replaces the target if the block succeeds."""
        with _temporary(self.path, directory=False) as tmp:
            yield tmp
            tmp.chmod(0o666 & ~_umask())
            with locked(self.path.parent):
                self._validate()
                os.replace(tmp, self.path)

    def write_text(self, text: str) -> None:
        """Write ``text`` (UTF-8) as the whole file, atomically."""
        with self.commit() as tmp:
            tmp.write_text(text, encoding="utf-8")


def is_result(directory: Path, marker: str) -> bool:
    """Does ``directory`` hold ``marker`` as written by driversplit?

    A JSON marker must record the driversplit version that wrote it (``versions.driversplit``),
    so a ``run.json`` of another tool does not count; another marker must merely exist.
    """
    path = Path(directory) / marker
    if not path.is_file():
        return False
    if path.suffix != ".json":
        return True
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(content, dict) and "driversplit" in (content.get("versions") or {})


# ------------------------------------------------------------------------------ temporaries and locks


def remove_stale(target: Path) -> None:
    """Remove temporaries of earlier writes to ``target`` left by processes that no longer run."""
    target = Path(target)
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        pid = _owner(entry.name, target.name)
        if pid is not None and not _running(pid):
            _remove(entry)


def _owner(name: str, target_name: str) -> int | None:
    """The PID in a temporary's name for ``target_name`` (None if ``name`` is not one)."""
    for tag in (TMP_TAG, OLD_TAG):
        head = f".{target_name}{tag}"
        if name.startswith(head):
            pid = name[len(head):].split("-", 1)[0]
            return int(pid) if pid.isdigit() else None
    return None


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _temp_path(target: Path, tag: str) -> Path:
    return target.parent / f".{target.name}{tag}{os.getpid()}-{secrets.token_hex(4)}"


@contextmanager
def _temporary(target: Path, *, directory: bool) -> Iterator[Path]:
    """A temporary directory or file path beside ``target``, removed on every exit path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(target, TMP_TAG)
    if directory:
        tmp.mkdir(mode=0o777)  # the umask applies, like any directory the user makes
    try:
        yield tmp
    finally:
        _remove(tmp)


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``directory`` (POSIX ``flock``; a no-op elsewhere, or when
    ``directory`` does not exist yet: then no writer can be moving anything into it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _replace_directory(tmp: Path, target: Path) -> None:
    """Move the entries of ``tmp`` into ``target``: whole when nothing else is there, else one by one."""
    if not _exists(target):
        os.rename(tmp, target)
        return
    new = {p.name for p in tmp.iterdir()}
    foreign = [p for p in target.iterdir() if p.name not in new]
    if not foreign and not target.is_symlink():
        old = _temp_path(target, OLD_TAG)
        os.rename(target, old)
        os.rename(tmp, target)
        _remove(old)
        return
    for name in sorted(new):
        dest = target / name
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)  # our previous entry of that name (os.replace cannot replace a directory)
        os.replace(tmp / name, dest)


# ------------------------------------------------------------------------------ small checks


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _is_empty(directory: Path) -> bool:
    return not any(directory.iterdir())


def _check_creatable(target: Path, option: str) -> None:
    """Refuse a target under a file or in a directory we cannot write."""
    ancestor = target.parent
    while not _exists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{option} {target}: cannot be created: {ancestor} is a file, not a directory")
    _check_writable(ancestor, option)


def _check_writable(directory: Path, option: str) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {directory}: directory is not writable")


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

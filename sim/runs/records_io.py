"""The per-change records of a run on disk: ``changes.parquet`` (the default) or ``changes.csv.gz``.

Parquet (pyarrow, zstd) is written in a few milliseconds per replication and read back with its
column types; the gzipped CSV (``sim run --records csv``) is for tools without a Parquet reader
and costs ~10x more to write. Every reader goes through :func:`read_changes`, which takes either.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pandas as pd

from sim.errors import InputError

PARQUET, CSV = "parquet", "csv"
RECORD_FORMATS: tuple[str, ...] = (PARQUET, CSV)
CHANGES_FILES: dict[str, str] = {PARQUET: "changes.parquet", CSV: "changes.csv.gz"}


def changes_file(records: str) -> str:
    """The file name of the change records written in format ``records`` (:data:`RECORD_FORMATS`)."""
    if records not in CHANGES_FILES:
        raise InputError(f"--records {records}: must be one of {', '.join(RECORD_FORMATS)}")
    return CHANGES_FILES[records]


def write_changes(changes: pd.DataFrame, directory: Path, records: str = PARQUET) -> Path:
    """Write the change rows into ``directory`` as :func:`changes_file` ``(records)``; the path written.

    The bytes depend only on the rows (no timestamps): the same run writes the same file.
    """
    with ChangesWriter(directory, records) as writer:
        writer.write(changes)
    return writer.path


class ChangesWriter:
    """Change rows written as they come, one replication's frame at a time, into ``directory``.

    Memory stays flat in the number of replications: each frame is written and dropped (a row
    group per frame in Parquet, appended lines in the gzipped CSV). The bytes depend only on the
    frames and their order, so a run writes the same file whatever its number of workers.
    Use as a context manager; a run's frames arrive in replication order (the study runner's).
    """

    def __init__(self, directory: Path, records: str = PARQUET) -> None:
        self.path = directory / changes_file(records)
        self.records = records
        self.rows = 0
        self._parquet: Any = None  # pyarrow.parquet.ParquetWriter once the first frame fixed the schema
        self._csv: io.TextIOWrapper | None = None
        self._empty: pd.DataFrame | None = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows (its columns must be the first frame's)."""
        if frame.empty and self._parquet is None and self._csv is None:
            self._empty = frame  # an empty frame's columns carry no types: written only if nothing else is
            return
        self._write(frame)

    def _write(self, frame: pd.DataFrame) -> None:
        if self.records == PARQUET:
            import pyarrow as pa
            import pyarrow.parquet as pq

            # Arrow's own SIGINT handler, active during some of its calls, can consume a Ctrl-C that lands
            # in a write (the run then went on to the end): leave signals to Python's handlers.
            pa.lib.enable_signal_handlers(False)
            if self._parquet is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            else:
                table = pa.Table.from_pandas(frame, schema=self._parquet.schema, preserve_index=False)
            self._parquet.write_table(table)
        else:
            header = self._csv is None
            if self._csv is None:
                raw = gzip.GzipFile(self.path, mode="wb", mtime=0)
                self._csv = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            frame.to_csv(self._csv, index=False, header=header)
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file (with only empty frames written, a file of their columns and no rows)."""
        if self._parquet is None and self._csv is None and self._empty is not None:
            empty, self._empty = self._empty, None
            self._write(empty)
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        self._parquet = self._csv = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def read_changes(path: str | Path) -> pd.DataFrame:
    """The change rows of ``path``: a ``changes.parquet`` or a ``changes.csv.gz`` (or ``.csv``) file,
    or a run's directory holding one of them.

    A directory may hold both: a rerun in the other format replaces only the files it writes (see
    :mod:`sim.safe_output`), so the other format's file of an earlier run stays. The last written
    (latest modification time) is the run's.
    """
    path = Path(path)
    if path.is_dir():
        present = [path / name for name in CHANGES_FILES.values() if (path / name).is_file()]
        if not present:
            raise InputError(f"{path}: no {' or '.join(CHANGES_FILES.values())} in this directory")
        path = max(present, key=lambda p: p.stat().st_mtime_ns)
    if not path.is_file():
        raise InputError(f"{path}: no such file (change records: {' or '.join(CHANGES_FILES.values())})")
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.name.endswith((".csv.gz", ".csv")):
        return pd.read_csv(path)
    raise InputError(f"{path}: change records must be a .parquet, .csv.gz or .csv file")

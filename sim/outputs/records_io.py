"""The per-change records of a run on disk: ``changes.parquet`` (the default) or ``changes.csv.gz``.

Parquet (pyarrow, zstd) is written in a few milliseconds per replication and read back with its
column types; the gzipped CSV (``sim run --records csv``) is for tools without a Parquet reader
and costs ~10x more to write. Every reader goes through :func:`read_changes`, which takes either.
"""

from __future__ import annotations

from pathlib import Path

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
    path = directory / changes_file(records)
    if records == PARQUET:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(changes, preserve_index=False), path, compression="zstd")
    else:
        changes.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
    return path


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

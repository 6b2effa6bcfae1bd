"""Load and check a merged-changes CSV (the ``nova_changes.csv`` format) from any Gerrit project.

The format (one row per change commit that landed on the branch) is described in
``data/nova/README.md``. :func:`load_changes` reads it (plain or gzip), checks every row and
raises :class:`DataError` with one line naming the file, the line (1-based, header = line 1),
the column and the value. It returns the rows with parsed UTC times and derived columns in days.

Besides each field's format, the loader holds every file to three rules about the data's own span:

* Times are possible: ``authored_at``, ``committed_at`` and ``merged_at`` lie between
  :data:`EARLIEST_TIME` (2000-01-01T00:00:00Z; the shipped Nova history starts 2010-09-18) and
  the time of the check (a date in the future is a typo, never a merge).
* Each change appears once: no two rows share a ``commit``.
* Release labels follow merge time: a cycle is the period between two releases, cycle N =
  (release N-1, release N], so ordering the labelled rows by ``merged_at`` must give each label
  one unbroken run. Labels are ordered by their median ``merged_at``; the rows reported are the
  fewest whose removal leaves the labels in that order (a row merged after its cycle's release,
  like a ``merged_at`` of 9999-12-31 in a Juno row, would otherwise stretch the cycle to it).
  Unlabelled rows (``release`` empty) are not held to it. The rule needs no table of release
  dates, so another project's cycles that share Nova's names are judged on their own dates.

Rows flagged suspect are held to these rules too: they concern the file, not the change.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from sim.calibrate import DataError
from sim.paths import DATA
from sim.safe_output import ResultFile
from sim.scenario import KINDS

__all__ = [
    "COLUMNS", "EARLIEST_TIME", "KINDS", "NOVA_CHANGES", "NOVA_CYCLES", "NOVA_DRIVERS", "ChangeTable", "DataError",
    "check_output", "cycle_bounds", "load_changes", "load_model_areas", "model_areas", "write_changes",
]

COLUMNS: tuple[str, ...] = (
    "change_id", "commit", "merge_commit", "authored_at", "committed_at", "merged_at", "author_id",
    "author_domain", "files_changed", "lines_added", "lines_deleted", "area", "areas",
    "touches_virt_api", "kind", "series_len", "release", "suspect", "suspect_reason",
)
TIME_COLUMNS: tuple[str, ...] = ("authored_at", "committed_at", "merged_at")
COUNT_COLUMNS: tuple[str, ...] = ("files_changed", "lines_added", "lines_deleted", "series_len")
FLAG_COLUMNS: tuple[str, ...] = ("touches_virt_api", "suspect")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DAY = pd.Timedelta(days=1)
EARLIEST_TIME = pd.Timestamp("2000-01-01T00:00:00Z")
"""No time in a changes file may be earlier (UTC). The shipped Nova history's earliest time is an
``authored_at`` of 2010-09-18T02:08:22Z (its earliest ``merged_at`` 2011-01-03); a history
converted from older version control may hold earlier commits: ``data extract --since`` cuts them."""

NOVA_CHANGES = DATA / "nova" / "nova_changes.csv.gz"
NOVA_ROSTER = DATA / "nova" / "core_roster.csv"
NOVA_DRIVERS: tuple[str, ...] = (
    "baremetal", "docker", "hyperv", "ironic", "libvirt", "lxd", "other_virt", "powervm", "vmwareapi",
    "xenapi", "zvm",
)
NOVA_DATA_START = "2011-01-01T00:00:00Z"
NOVA_RELEASES: dict[str, str] = {
    "bexar": "2011-02-02T11:18:00Z",
    "cactus": "2011-04-15T02:47:01Z",
    "diablo": "2011-09-22T11:57:02Z",
    "essex": "2012-04-05T14:46:25Z",
    "folsom": "2012-09-27T15:59:31Z",
    "grizzly": "2013-04-04T14:39:06Z",
    "havana": "2013-10-17T14:13:55Z",
    "icehouse": "2014-04-17T09:44:36Z",
    "juno": "2014-10-16T11:49:55Z",
    "kilo": "2015-04-30T11:22:21Z",
    "liberty": "2015-10-15T09:14:11Z",
    "mitaka": "2016-04-07T07:40:36Z",
    "newton": "2016-10-06T13:15:56Z",
}
"""Nova's final release dates (UTC), from the data README's table; the cycle ends there."""


def _cycles(releases: Mapping[str, str], start: str) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    ends = [pd.Timestamp(t) for t in releases.values()]
    starts = [pd.Timestamp(start), *ends[:-1]]
    return dict(zip(releases, zip(starts, ends, strict=True), strict=True))


NOVA_CYCLES: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = _cycles(NOVA_RELEASES, NOVA_DATA_START)
"""Nova's cycles: name -> (start, end] in UTC; cycle N runs from N-1's release to N's. Bexar
starts where the data start (2011-01-01), not at the 2010.1 release."""


@dataclass(frozen=True)
class ChangeTable:
    """A checked changes file.

    ``frame`` has the file's columns with ``authored_at``, ``committed_at`` and ``merged_at`` as
    UTC timestamps, counts and 0/1 flags as integers, plus ``time_to_merge_days`` (merged -
    authored), ``revision_days`` (committed - authored, clipped at 0), ``final_days`` (merged -
    committed, clipped at 0), ``size_lines`` (added + deleted) and ``driver_only`` (the primary
    area is a driver and the only area touched). Rows keep the file's order.
    """

    frame: pd.DataFrame
    source: Path
    rows_read: int
    suspect_rows: int
    excluded: int
    suspect_reasons: dict[str, int] = field(default_factory=dict)

    def report(self) -> str:
        """One line: rows read, kept, and suspect rows by reason."""
        reasons = ", ".join(f"{k} {v}" for k, v in self.suspect_reasons.items()) or "none"
        return (f"{self.source}: {self.rows_read} rows, {len(self.frame)} kept, {self.suspect_rows} suspect "
                f"({self.excluded} excluded; reasons: {reasons})")


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and the 1-based line number of each row; blank lines are skipped."""
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: list[tuple[int, int]] = []
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if not header:
                raise DataError(f"{path}: file is empty (expected a header line: {','.join(COLUMNS)})")
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    ragged.append((reader.line_num, len(row)))
                rows.append(row)
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise DataError(f"{path}: corrupt gzip file ({exc})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
    if ragged:
        line, n = ragged[0]
        raise DataError(f"{path}: line {line}: expected {len(header)} fields, saw {n}{_more(len(ragged))}")
    return header, rows, lines


def _more(bad_rows: int) -> str:
    return f" (and {bad_rows - 1} more bad rows)" if bad_rows > 1 else ""


def _check_header(path: Path, header: list[str]) -> None:
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise DataError(f"{path}: line 1: duplicate column(s) {', '.join(duplicated)}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: line 1: missing column(s) {', '.join(missing)}")


def _parse_times(text: pd.Series) -> pd.Series:
    ok = text.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+00:00)")
    return pd.to_datetime(text.where(ok), format="ISO8601", utc=True, errors="coerce")


def _checks(
    raw: pd.DataFrame, times: dict[str, pd.Series], now: pd.Timestamp
) -> Iterator[tuple[str, pd.Series, str]]:
    """Yield (column, bad-row mask, problem) in the order problems are reported; ``now`` (UTC) is
    the latest time accepted."""
    yield "change_id", raw["change_id"].ne("") & ~raw["change_id"].str.fullmatch(r"I[0-9a-f]{40}"), \
        "is neither empty nor a Change-Id (I and 40 hex digits)"
    for col in ("commit", "merge_commit"):
        yield col, ~raw[col].str.fullmatch(r"[0-9a-f]{40}(?:[0-9a-f]{24})?"), "is not a hex commit id"
    for col in TIME_COLUMNS:
        yield col, times[col].isna(), "is not a UTC ISO 8601 time (YYYY-MM-DDTHH:MM:SSZ)"
        yield col, times[col] < EARLIEST_TIME, f"is before {EARLIEST_TIME:{TIME_FORMAT}}, the earliest time accepted"
        yield col, times[col] > now, f"is in the future (after {now:{TIME_FORMAT}}, the time of this check)"
    yield "author_id", ~raw["author_id"].str.fullmatch(r"[0-9a-f]{12}"), "is not 12 hex digits"
    for col in COUNT_COLUMNS[:3]:
        yield col, ~raw[col].str.fullmatch(r"\d{1,15}"), "is not a non-negative integer"
    yield "area", raw["area"].eq(""), "is empty (the primary area is required)"
    listed = [a in s.split(";") for a, s in zip(raw["area"], raw["areas"], strict=True)]
    yield "areas", raw["areas"].ne("") & ~pd.Series(listed, index=raw.index), "does not list the primary area"
    yield "touches_virt_api", ~raw["touches_virt_api"].isin(["0", "1"]), "is not 0 or 1"
    yield "kind", ~raw["kind"].isin(KINDS), f"is not one of {', '.join(KINDS)}"
    yield "series_len", ~raw["series_len"].str.fullmatch(r"0*[1-9]\d{0,14}"), "is not a positive integer"
    yield "suspect", ~raw["suspect"].isin(["0", "1"]), "is not 0 or 1"
    yield "suspect_reason", raw["suspect"].eq("1") != raw["suspect_reason"].ne(""), \
        "must be non-empty exactly when suspect is 1"
    clean = raw["suspect"].eq("0")
    order = (("committed_at", "authored_at"), ("merged_at", "committed_at"), ("merged_at", "authored_at"))
    for later, earlier in order:
        yield later, clean & (times[later] < times[earlier]), f"is before {earlier} in a row not flagged suspect"


def _validate(path: Path, raw: pd.DataFrame, lines: list[int]) -> dict[str, pd.Series]:
    """Check every row on its own; return the parsed times (UTC) by column."""
    times = {col: _parse_times(raw[col]) for col in TIME_COLUMNS}
    bad = pd.Series(False, index=raw.index)
    first: tuple[int, str, str] | None = None
    for column, mask, problem in _checks(raw, times, pd.Timestamp.now(tz="UTC")):
        mask = mask.fillna(True).astype(bool)
        if mask.any():
            row = int(mask.to_numpy().argmax())
            if first is None or row < first[0]:
                first = (row, column, problem)
            bad |= mask
    if first is not None:
        row, column, problem = first
        raise DataError(f"{path}: line {lines[row]}, column {column}: {raw.at[row, column]!r} {problem}"
                        f"{_more(int(bad.sum()))}")
    return times


def load_changes(
    path: str | os.PathLike[str], *, include_suspect: bool = False, drivers: Iterable[str] = NOVA_DRIVERS
) -> ChangeTable:
    """Read and check a changes CSV (plain or gzip); suspect rows are dropped unless ``include_suspect``.

    ``drivers`` names the data areas that are virt drivers (for ``driver_only``). Every row is
    checked, suspect or not, against its fields' formats and the module's rules on the data's span
    (possible times, one row per commit, release labels in merge order). Raises
    :class:`DataError` naming the file, line, column and value of the first bad row.
    """
    path = Path(path)
    header, rows, lines = _read_rows(path)
    _check_header(path, header)
    if not rows:
        raise DataError(f"{path}: no rows after the header")
    raw = pd.DataFrame(rows, columns=header, dtype=str)
    times = _validate(path, raw, lines)
    _check_unique_commits(path, raw, lines)
    _check_release_order(path, raw, times["merged_at"], lines)
    frame = raw.assign(**times)
    frame = frame.astype({c: "int64" for c in COUNT_COLUMNS} | {c: "int8" for c in FLAG_COLUMNS})
    suspect = frame["suspect"].eq(1)
    reasons = frame.loc[suspect, "suspect_reason"].str.split(";").explode().value_counts()
    if not include_suspect:
        frame = frame.loc[~suspect].reset_index(drop=True)
    return ChangeTable(
        frame=_derive(frame, tuple(drivers)), source=path, rows_read=len(raw), suspect_rows=int(suspect.sum()),
        excluded=0 if include_suspect else int(suspect.sum()),
        suspect_reasons={str(k): int(v) for k, v in reasons.items()},
    )


def _check_unique_commits(path: Path, raw: pd.DataFrame, lines: list[int]) -> None:
    """Refuse a ``commit`` seen on an earlier row, naming both lines."""
    repeated = raw["commit"].duplicated(keep="first")
    if not repeated.any():
        return
    row = int(repeated.to_numpy().argmax())
    commit = raw.at[row, "commit"]
    first = int(raw["commit"].eq(commit).to_numpy().argmax())
    raise DataError(f"{path}: line {lines[row]}, column commit: {commit!r} is a duplicate of line {lines[first]} "
                    f"(each change commit appears once){_more(int(repeated.sum()))}")


def _longest_ordered(ranks: Sequence[int]) -> list[int]:
    """Positions of a longest non-decreasing subsequence of ``ranks`` (O(n log n), patience sorting)."""
    tails: list[int] = []  # tails[k]: smallest last rank of an ordered subsequence of length k + 1
    ends: list[int] = []  # ends[k]: the position of that last rank
    previous = [-1] * len(ranks)
    for position, rank in enumerate(ranks):
        k = bisect.bisect_right(tails, rank)
        previous[position] = ends[k - 1] if k else -1
        if k == len(tails):
            tails.append(rank)
            ends.append(position)
        else:
            tails[k], ends[k] = rank, position
    kept, position = [], ends[-1] if ends else -1
    while position >= 0:
        kept.append(position)
        position = previous[position]
    return kept[::-1]


def _check_release_order(path: Path, raw: pd.DataFrame, merged: pd.Series, lines: list[int]) -> None:
    """Refuse labelled rows whose ``release`` disagrees with their ``merged_at`` (parsed, UTC; see
    the module docstring).

    Labels are ranked by median ``merged_at``; rows in ``merged_at`` order must then have
    non-decreasing ranks, and rows merged at the same time the same label. The rows outside a
    longest ordered subsequence are the fewest that break the order; the first of them in the
    file is reported with the period the rest of its release's rows were merged in.
    """
    release = raw["release"]
    labelled = release.ne("")
    if not labelled.any():
        return
    medians = merged[labelled].groupby(release[labelled]).median().sort_values(kind="stable")
    rank = release[labelled].map({label: i for i, label in enumerate(medians.index)})
    # at equal times the later label comes first, so that two labels at one time break the order
    order = pd.DataFrame({"merged": merged[labelled], "rank": rank}).sort_values(
        ["merged", "rank"], ascending=[True, False], kind="stable")
    ranks = order["rank"].to_numpy()
    if (ranks[1:] >= ranks[:-1]).all():
        return
    kept = order.index[_longest_ordered(ranks.tolist())]
    bad = order.index.difference(kept)
    row = int(bad.min())
    label = release[row]
    period = merged[kept][release[kept] == label]
    span = (f"its other rows were merged {period.min():{TIME_FORMAT}} to {period.max():{TIME_FORMAT}}"
            if len(period) else "no other row has that label")
    raise DataError(f"{path}: line {lines[row]}, column merged_at: {raw.at[row, 'merged_at']!r} is outside the merge "
                    f"period of release {label!r} ({span}; a release's rows are merged after the previous release's "
                    f"and before the next one's){_more(len(bad))}")


def _derive(frame: pd.DataFrame, drivers: Sequence[str]) -> pd.DataFrame:
    ttm = (frame["merged_at"] - frame["authored_at"]) / DAY
    revision = ((frame["committed_at"] - frame["authored_at"]) / DAY).clip(lower=0)
    final = ((frame["merged_at"] - frame["committed_at"]) / DAY).clip(lower=0)
    return frame.assign(
        time_to_merge_days=ttm, revision_days=revision, final_days=final,
        size_lines=frame["lines_added"] + frame["lines_deleted"],
        driver_only=frame["area"].isin(drivers) & frame["areas"].eq(frame["area"]),
    )


def model_areas(data_areas: pd.Series, mapping: Mapping[str, Sequence[str]], default: str = "other") -> pd.Series:
    """Model area of each data area: ``mapping`` is model area -> data areas; the rest go to ``default``.

    Raises :class:`DataError` when a data area is claimed by two model areas.
    """
    lookup: dict[str, str] = {}
    for model, sources in mapping.items():
        for source in sources:
            if source in lookup and lookup[source] != model:
                raise DataError(f"data area {source!r} is mapped to both {lookup[source]!r} and {model!r}")
            lookup[source] = model
    return data_areas.map(lookup).fillna(default).astype(str).rename("model_area")


def cycle_bounds(
    frame: pd.DataFrame, cycle: str, known: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]] = NOVA_CYCLES
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(start, end] of ``cycle`` in UTC.

    The ``known`` bounds are used when every row labelled ``cycle`` was merged inside them (so
    Nova's table is not applied to another project's same-named cycle); otherwise the cycle runs
    from one second before the first to the last ``merged_at`` of those rows (times are whole
    seconds, so every merge of the cycle is inside), which cuts off any quiet days before the
    first and after the last merge. Raises :class:`DataError` when no row has that release label.
    """
    merged = frame.loc[frame["release"] == cycle, "merged_at"]
    if merged.empty:
        labels = ", ".join(sorted(set(frame["release"]) - {""})) or "none"
        raise DataError(f"release {cycle!r}: no rows with that release (releases with rows: {labels})")
    if cycle in known:
        start, end = known[cycle]
        if merged.min() > start and merged.max() <= end:
            return start, end
    return merged.min() - pd.Timedelta(seconds=1), merged.max()


def _is_changes_file(path: Path) -> bool:
    """True when ``path`` (plain or gzip) starts with exactly the ``COLUMNS`` header line."""
    header = ",".join(COLUMNS)
    try:
        with _open_text(path) as handle:
            first = handle.readline(len(header) + 2)
    except (OSError, UnicodeDecodeError, EOFError):
        return False
    return first.rstrip("\r\n") == header


def check_output(path: str | os.PathLike[str], *, force: bool = False) -> ResultFile:
    """The output of a changes CSV at ``path``, checked before any work is done.

    Refused (:class:`~sim.errors.OutputError` naming the path): a directory or another file that
    is not a regular one, a path under a file, an unwritable directory, and an existing file that
    is not a changes CSV (its first line is not the ``COLUMNS`` header) unless ``force``.
    Temporaries of killed writes to ``path`` are removed (see :class:`~sim.safe_output.ResultFile`,
    which also does the writing).
    """
    output = ResultFile(Path(path), is_ours=_is_changes_file, force=force)
    output.check()
    return output


def write_changes(frame: pd.DataFrame, path: str | os.PathLike[str], *, force: bool = False) -> None:
    """Write ``frame`` (the file's columns) as CSV, gzip if the name ends in .gz, atomically.

    Times are written as ``YYYY-MM-DDTHH:MM:SSZ``; the gzip header carries no name or time.
    ``path`` is checked by :func:`check_output` (an existing file that is not a changes CSV is
    replaced only with ``force``). The data go to a temporary file beside ``path`` that gets the
    umask's mode and replaces ``path`` when complete; it is removed on any failure, an interrupt
    included, and a file system error is a :class:`DataError` naming ``path``.
    """
    output = check_output(path, force=force)
    out = frame.loc[:, list(COLUMNS)].copy()
    for col in TIME_COLUMNS:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime(TIME_FORMAT)
    data = out.to_csv(index=False, lineterminator="\n").encode("utf-8")
    if output.path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=9, mtime=0)
    try:
        with output.commit() as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise DataError(f"{output.path}: cannot write ({exc.strerror or exc})") from None


def read_toml(path: str | os.PathLike[str]) -> dict[str, object]:
    """The tables of a TOML file; a missing, non-text or malformed file raises :class:`DataError`."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise DataError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: malformed TOML: {exc}") from None


def load_model_areas(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Model area -> data areas from the ``[areas.NAME]`` tables of a TOML file (a scenario works):
    ``data_areas`` lists the data areas, default ``[NAME]``; other keys are ignored."""
    raw = read_toml(path)
    areas = raw.get("areas")
    if not isinstance(areas, dict) or not areas:
        raise DataError(f"{path}: areas: expected [areas.NAME] tables")
    mapping = {}
    for name, table in areas.items():
        sources = table.get("data_areas", [name]) if isinstance(table, dict) else None
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise DataError(f"{path}: areas.{name}.data_areas: expected a list of data area names")
        mapping[name] = list(sources) or [name]
    return mapping


ROSTER_COLUMNS = ("date", "size", "change")


def load_roster(path: str | os.PathLike[str] = NOVA_ROSTER) -> pd.DataFrame:
    """A core team's size over time (columns date (UTC), size, change; one row per change of the
    roster, in date order). A missing file, a wrong header, a bad date or size, or dates out of
    order raise :class:`DataError` naming the file, line and column."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise DataError(f"{path}: not a UTF-8 text file") from None
    if not rows or tuple(rows[0]) != ROSTER_COLUMNS:
        raise DataError(f"{path}: line 1: header must be {','.join(ROSTER_COLUMNS)}")
    dates, sizes, changes = [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(ROSTER_COLUMNS):
            raise DataError(f"{path}: line {line}: {len(row)} fields, expected {len(ROSTER_COLUMNS)}")
        try:
            date = pd.Timestamp(row[0], tz="UTC")
        except ValueError:
            raise DataError(f"{path}: line {line}, column date: {row[0]!r} is not a date (YYYY-MM-DD)") from None
        if not row[1].isdigit() or int(row[1]) < 1:
            raise DataError(f"{path}: line {line}, column size: {row[1]!r} is not a whole number >= 1")
        if dates and date < dates[-1]:
            raise DataError(f"{path}: line {line}, column date: {row[0]} is before the previous row's date")
        dates.append(date)
        sizes.append(int(row[1]))
        changes.append(row[2])
    return pd.DataFrame({"date": dates, "size": sizes, "change": changes})


def roster_size(roster: pd.DataFrame, when: pd.Timestamp) -> int | None:
    """Members of the roster at time ``when`` (None before its first row)."""
    before = roster[roster["date"] <= when]
    return int(before["size"].iloc[-1]) if len(before) else None

"""Build a changes CSV (the ``nova_changes.csv`` format) from a Gerrit-managed project's git history.

The walk follows the data README: take the first-parent chain of the branch, oldest first. A
merge commit M lands every non-merge commit in ``M^1..M^2`` (and any further parents), each
becoming a row with ``merged_at`` = M's committer date; a non-merge first-parent commit was
fast-forwarded or pushed and becomes its own row with ``merge_commit`` = ``commit``. One
``git log`` call reads every commit (author e-mail through ``.mailmap``, dates, message and
``--numstat -M``). Paths map to areas through a small TOML file (:func:`load_area_rules`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibrate import DataError
from sim.calibrate.data import COLUMNS, read_toml

SUSPECT_REASONS: tuple[str, ...] = (
    "no_merge_commit", "pre_gerrit", "branch_merge", "authored_after_merge", "committed_after_merge",
    "authored_after_committed", "authored_over_1y_before_merge", "cherry_pick", "repeat_change_id", "no_files",
)
"""Reasons the extractor computes, in the order they are written (the data README's ``missing_blob``
cannot happen in a complete clone)."""

CHANGE_ID = re.compile(r"^Change-Id:\s*(I[0-9a-f]{40})\s*$", re.MULTILINE)
CHERRY_PICK = re.compile(r"\(cherry picked from commit [0-9a-f]{7,40}\)")
BUG = re.compile(
    r"^\s*(?:(?:closes|partial|related|fixes)-bug\b|(?:fix(?:es|ed)?\s*:?\s*)?(?:lp\s*:?\s*)?bug\s*[#:]?\s*#?\d+)",
    re.IGNORECASE | re.MULTILINE,
)
BLUEPRINT = re.compile(
    r"^\s*(?:(?:partially[- ])?implements\s*:|(?:(?:partially[- ])?implements|part\s+of|related\s+to)?\s*"
    r"\b(?:blueprint|bp)\b[\s:/]+[\w.-]+)",
    re.IGNORECASE | re.MULTILINE,
)
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+00:00)")
RULE_KEYS = ("default", "drivers", "interface_files", "gerrit_start", "test_roots", "areas", "cycles")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a path pattern (match with ``fullmatch``).

    ``dir/`` matches the directory and everything below it; ``*`` any characters except ``/``;
    ``?`` one character except ``/``; ``**/`` any number of directories (also none); anything
    else is matched literally, so a pattern without wildcards is one exact path.
    """
    parts = re.split(r"(\*\*/|\*|\?)", pattern)
    body = "".join({"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(p, re.escape(p)) for p in parts)
    return re.compile(body + (".*" if pattern.endswith("/") else ""))


@dataclass(frozen=True)
class AreaRules:
    """Path -> area mapping and project facts read from an areas TOML (see ``data/nova/areas.toml``).

    A path gets the area of the first pattern that matches it, in file order; if none does, the
    path is rewritten by the first matching ``test_roots`` prefix (``nova/tests/unit/`` ->
    ``nova/``, so tests count toward the code they test) and matched again; else ``default``.
    """

    patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()
    default: str = "other"
    drivers: tuple[str, ...] = ()
    interface_files: frozenset[str] = frozenset()
    test_roots: tuple[tuple[str, str], ...] = ()
    cycles: tuple[tuple[str, str], ...] = ()
    gerrit_start: pd.Timestamp | None = None
    source: str = "(no areas file)"

    def area_of(self, path: str) -> str:
        """The area of one repository path."""
        candidates = [path]
        for prefix, replacement in self.test_roots:
            if path.startswith(prefix):
                candidates.append(replacement + path[len(prefix):])
                break
        for candidate in candidates:
            for area, regex in self.patterns:
                if regex.fullmatch(candidate):
                    return area
        return self.default


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DataError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"{where}: expected a table, got {value!r}")
    return value


def load_area_rules(path: str | os.PathLike[str] | None) -> AreaRules:
    """Read an areas TOML; ``None`` gives rules that put every path in ``other``.

    Keys: ``default`` (area of unmatched paths), ``drivers`` (driver areas), ``interface_files``
    (exact paths; a change touching one has ``touches_virt_api`` = 1), ``gerrit_start`` (UTC time
    of the first Gerrit merge; earlier rows are ``pre_gerrit``), ``[test_roots]`` (prefix ->
    replacement), ``[areas]`` (area -> patterns, see :func:`glob_regex`) and ``[cycles]`` (cycle ->
    release tag or UTC time of the release, oldest first). Raises :class:`DataError` naming the key.
    """
    if path is None:
        return AreaRules()
    raw = read_toml(path)
    unknown = sorted(set(raw) - set(RULE_KEYS))
    if unknown:
        raise DataError(f"{path}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(RULE_KEYS)})")
    default = raw.get("default", "other")
    if not isinstance(default, str) or not default:
        raise DataError(f"{path}: default: expected a non-empty area name, got {default!r}")
    patterns = tuple(
        (area, glob_regex(p))
        for area, value in _table(raw.get("areas", {}), f"{path}: areas").items()
        for p in _strings(value, f"{path}: areas.{area}")
    )
    roots = _table(raw.get("test_roots", {}), f"{path}: test_roots")
    for prefix, replacement in roots.items():
        if not isinstance(replacement, str):
            raise DataError(f"{path}: test_roots.{prefix}: expected a string, got {replacement!r}")
    cycles = _table(raw.get("cycles", {}), f"{path}: cycles")
    for name, release in cycles.items():
        if not isinstance(release, str) or not release:
            raise DataError(f"{path}: cycles.{name}: expected a release tag or UTC time, got {release!r}")
    gerrit_start = raw.get("gerrit_start")
    if gerrit_start is not None and not (isinstance(gerrit_start, str) and ISO_UTC.fullmatch(gerrit_start)):
        raise DataError(f"{path}: gerrit_start: expected a UTC time like 2011-09-23T15:42:47Z, got {gerrit_start!r}")
    return AreaRules(
        patterns=patterns, default=default, drivers=_strings(raw.get("drivers", []), f"{path}: drivers"),
        interface_files=frozenset(_strings(raw.get("interface_files", []), f"{path}: interface_files")),
        test_roots=tuple(roots.items()), cycles=tuple(cycles.items()),
        gerrit_start=None if gerrit_start is None else pd.Timestamp(gerrit_start), source=str(path),
    )


@dataclass(frozen=True)
class FileStat:
    """One ``--numstat -M`` entry: lines added and deleted (0 for binary files), path, old path of a rename."""

    added: int
    deleted: int
    path: str
    old_path: str | None = None


@dataclass(frozen=True)
class Commit:
    """One commit; times are Unix seconds, ``email`` is resolved through ``.mailmap``."""

    sha: str
    parents: tuple[str, ...]
    authored: int
    committed: int
    email: str
    message: str
    files: tuple[FileStat, ...]


def _git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), "-c", "log.showSignature=false", *args],
            capture_output=True, check=False,
        )
    except FileNotFoundError:
        raise DataError("git: command not found (the extractor needs git on PATH)") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["failed"]
        raise DataError(f"{repo}: git {args[0]}: {message[-1]}")
    return proc.stdout.decode("utf-8", "replace")


def _numstat(text: str) -> tuple[FileStat, ...]:
    tokens = iter(text.lstrip("\0\n").split("\0"))
    stats = []
    for token in tokens:
        if not token.strip():
            continue
        added, deleted, path = token.lstrip("\n").split("\t", 2)
        old = None
        if not path:
            old, path = next(tokens), next(tokens)
        stats.append(FileStat(0 if added == "-" else int(added), 0 if deleted == "-" else int(deleted), path, old))
    return tuple(stats)


def read_history(repo: str | os.PathLike[str], branch: str = "master") -> tuple[dict[str, Commit], list[str], str]:
    """Every commit reachable from ``branch``: (commits by sha, shas parents-first, tip sha)."""
    repo = Path(repo)
    if not repo.is_dir():
        raise DataError(f"{repo}: no such directory (--repo)")
    try:
        _git(repo, "rev-parse", "--git-dir")
    except DataError:
        raise DataError(f"{repo}: not a git repository (--repo)") from None
    try:
        tip = _git(repo, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}").strip()
    except DataError:
        raise DataError(f"{repo}: branch {branch!r} not found (--branch)") from None
    out = _git(
        repo, "log", "--topo-order", "-z", "--numstat", "-M", "--diff-merges=off", "--no-ext-diff",
        "--no-textconv", "--no-color", "--encoding=UTF-8", "--format=%x1e%H%x1f%P%x1f%at%x1f%ct%x1f%aE%x1f%B%x1f", tip,
    )
    commits: dict[str, Commit] = {}
    for record in out.split("\x1e")[1:]:
        sha, parents, authored, committed, email, rest = record.split("\x1f", 5)
        message, stats = rest.rsplit("\x1f", 1)
        commits[sha] = Commit(sha, tuple(parents.split()), int(authored), int(committed), email, message,
                              _numstat(stats))
    return commits, list(reversed(commits)), tip


@dataclass(frozen=True)
class Landing:
    """A first-parent commit and the non-merge commits it landed, in series (parents-first) order."""

    merge: str
    changes: tuple[str, ...]
    branch_merge: bool


def landings(commits: Mapping[str, Commit], order: list[str], tip: str) -> Iterator[Landing]:
    """Walk the first-parent chain oldest first; assign each commit to the landing that first reached it."""
    chain = []
    sha: str | None = tip
    while sha is not None and sha in commits:
        chain.append(sha)
        sha = commits[sha].parents[0] if commits[sha].parents else None
    rank = {s: i for i, s in enumerate(order)}
    seen: set[str] = set()
    for merge in reversed(chain):
        parents = commits[merge].parents
        if len(parents) <= 1:
            seen.add(merge)
            yield Landing(merge, (merge,), branch_merge=False)
            continue
        new, stack = [], list(parents[1:])
        while stack:
            s = stack.pop()
            if s in seen or s not in commits:
                continue
            seen.add(s)
            new.append(s)
            stack.extend(commits[s].parents)
        seen.add(merge)
        changes = sorted((s for s in new if len(commits[s].parents) <= 1), key=rank.__getitem__)
        if changes:
            yield Landing(merge, tuple(changes), branch_merge=len(changes) < len(new))


def classify_kind(message: str) -> str:
    """``bug``, ``blueprint`` or ``other`` from lines that start with a bug or blueprint reference."""
    if BUG.search(message):
        return "bug"
    if BLUEPRINT.search(message):
        return "blueprint"
    return "other"


def _areas(files: tuple[FileStat, ...], area_of: Callable[[str], str], default: str) -> tuple[str, str]:
    """(primary area, ';'-joined sorted areas): most lines, then most files, then name; a renamed
    file's lines and file count go to its new path's area, its old path only adds to the areas."""
    if not files:
        return default, ""
    lines: dict[str, list[int]] = {}
    touched = set()
    for f in files:
        area = area_of(f.path)
        tally = lines.setdefault(area, [0, 0])
        tally[0] += f.added + f.deleted
        tally[1] += 1
        touched.add(area)
        if f.old_path is not None:
            touched.add(area_of(f.old_path))
    primary = min(lines, key=lambda a: (-lines[a][0], -lines[a][1], a))
    return primary, ";".join(sorted(touched))


def _rows(commits: Mapping[str, Commit], walk: Iterator[Landing], rules: AreaRules) -> pd.DataFrame:
    area_of = functools.lru_cache(maxsize=None)(rules.area_of)
    rows = []
    for landing in walk:
        for sha in landing.changes:
            c = commits[sha]
            area, areas = _areas(c.files, area_of, rules.default)
            ids = CHANGE_ID.findall(c.message)
            paths = {f.path for f in c.files} | {f.old_path for f in c.files if f.old_path}
            rows.append({
                "change_id": ids[-1] if ids else "", "commit": sha, "merge_commit": landing.merge,
                "authored_at": c.authored, "committed_at": c.committed,
                "merged_at": c.committed if sha == landing.merge else commits[landing.merge].committed,
                "email": c.email.lower(), "files_changed": len(c.files),
                "lines_added": sum(f.added for f in c.files), "lines_deleted": sum(f.deleted for f in c.files),
                "area": area, "areas": areas, "touches_virt_api": int(bool(paths & rules.interface_files)),
                "kind": classify_kind(c.message), "series_len": len(landing.changes),
                "no_merge_commit": sha == landing.merge, "branch_merge": landing.branch_merge,
                "cherry_pick": bool(CHERRY_PICK.search(c.message)), "no_files": not c.files,
            })
    frame = pd.DataFrame(rows, columns=[*COLUMNS[:6], "email", *COLUMNS[8:16], "no_merge_commit", "branch_merge",
                                        "cherry_pick", "no_files"])
    for col in ("authored_at", "committed_at", "merged_at"):
        frame[col] = pd.to_datetime(frame[col].astype("int64"), unit="s", utc=True)
    return frame


def _release_times(repo: Path, rules: AreaRules) -> tuple[list[str], pd.DatetimeIndex]:
    names, times = [], []
    for name, release in rules.cycles:
        if ISO_UTC.fullmatch(release):
            when = pd.Timestamp(release)
        else:
            unix = _git(repo, "for-each-ref", "--format=%(creatordate:unix)", f"refs/tags/{release}").split()
            if not unix:
                raise DataError(f"{rules.source}: cycles.{name}: tag {release!r} not found in {repo}")
            when = pd.Timestamp(int(unix[0]), unit="s", tz="UTC")
        if times and when <= times[-1]:
            raise DataError(f"{rules.source}: cycles.{name}: release {when} is not after the previous cycle's")
        names.append(name)
        times.append(when)
    return names, pd.DatetimeIndex(times, tz="UTC")


def _release(merged: pd.Series, names: list[str], ends: pd.DatetimeIndex) -> pd.Series:
    """Cycle N covers (release of N-1, release of N]; rows after the last release get ''."""
    labels = np.array([*names, ""], dtype=object)
    return pd.Series(labels[ends.searchsorted(merged)], index=merged.index, dtype=str)


def extract(
    repo: str | os.PathLike[str], rules: AreaRules | None = None, *, branch: str = "master",
    since: pd.Timestamp | None = None, until: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Rows of the changes CSV (``COLUMNS``, times as UTC timestamps) for ``branch`` of ``repo``.

    Rows are sorted by ``merged_at`` (stable: first-parent order, then series order) and kept when
    ``since <= merged_at <= until``. ``repeat_change_id`` and the domain rule (a domain used by
    fewer than 2 distinct authors becomes ``other``) apply to the kept rows.
    """
    rules = rules or AreaRules()
    repo = Path(repo)
    commits, order, tip = read_history(repo, branch)
    names, ends = _release_times(repo, rules)
    frame = _rows(commits, landings(commits, order, tip), rules)
    frame = frame.sort_values("merged_at", kind="stable").reset_index(drop=True)
    keep = pd.Series(True, index=frame.index)
    if since is not None:
        keep &= frame["merged_at"] >= since
    if until is not None:
        keep &= frame["merged_at"] <= until
    frame = frame.loc[keep].reset_index(drop=True)

    frame["author_id"] = [hashlib.sha256(e.encode("utf-8")).hexdigest()[:12] for e in frame["email"]]
    domain = frame["email"].str.rpartition("@")[2].where(frame["email"].str.contains("@"), "")
    authors = frame.groupby(domain)["author_id"].transform("nunique")
    frame["author_domain"] = domain.where((authors >= 2) | domain.eq(""), "other")
    frame["release"] = _release(frame["merged_at"], names, ends)

    year = pd.Timedelta(days=365)
    flags = {
        "no_merge_commit": frame["no_merge_commit"],
        "pre_gerrit": frame["merged_at"] < rules.gerrit_start if rules.gerrit_start is not None else False,
        "branch_merge": frame["branch_merge"],
        "authored_after_merge": frame["authored_at"] > frame["merged_at"],
        "committed_after_merge": frame["committed_at"] > frame["merged_at"],
        "authored_after_committed": frame["authored_at"] > frame["committed_at"],
        "authored_over_1y_before_merge": frame["merged_at"] - frame["authored_at"] > year,
        "cherry_pick": frame["cherry_pick"],
        "repeat_change_id": frame["change_id"].ne("") & frame["change_id"].duplicated(),
        "no_files": frame["no_files"],
    }
    reasons = pd.DataFrame({k: pd.Series(v, index=frame.index, dtype=bool) for k, v in flags.items()})
    joined = sum((reasons[k].map({True: f"{k};", False: ""}) for k in reasons), pd.Series("", index=frame.index))
    frame["suspect_reason"] = joined.str.rstrip(";")
    frame["suspect"] = reasons.any(axis=1).astype(int)
    return frame.loc[:, list(COLUMNS)]

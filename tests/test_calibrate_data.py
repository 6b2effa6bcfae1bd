"""The calibration data layer: loader checks, the git extractor, empirical summaries, ``sim data``.

The expected values here are computed by hand (the tiny CSV and the synthetic git history) or
come from the independent computation in data-portrait.md (the shipped Nova history).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
import math
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from simtest import ROOT, run_cli

from sim.calibrate import DataError
from sim.calibrate.data import (
    COLUMNS,
    NOVA_CHANGES,
    NOVA_CYCLES,
    cycle_bounds,
    load_changes,
    load_model_areas,
    load_roster,
    model_areas,
    roster_size,
)
from sim.calibrate.extract import extract, glob_regex, load_area_rules
from sim.calibrate.summaries import (
    bootstrap_quantile_ci,
    cycle_summary,
    mix_summary,
    per_area,
    phase_quantiles,
    quantile_cis,
    size_summary,
    weekly_counts,
)
from sim.cli import main

A, B, C = "a" * 12, "b" * 12, "c" * 12
SHA = "0123456789abcdef0123456789abcdef01234567"
HEADER = ",".join(COLUMNS)
COMMITS = (f"{n:040x}" for n in itertools.count(1))  # each row its own commit (the loader refuses repeats)


def row(authored: str, committed: str, merged: str, *, author: str = A, added: int = 1, deleted: int = 0,
        area: str = "api", areas: str = "", api: int = 0, kind: str = "other", release: str = "r1",
        reason: str = "", commit: str | None = None) -> str:
    return ",".join([
        "", commit or next(COMMITS), SHA, authored, committed, merged, author, "example.com", "1", str(added),
        str(deleted), area, areas or area, str(api), kind, "1", release, str(int(bool(reason))), reason,
    ])


# Five clean rows and one suspect row. Days: time to merge 2, 4, 8, 16, 1.5; revision 1, 0, 6, 10, 1;
# final 1, 4, 2, 6, 0.5. Lines 10, 0, 100, 1000, 1.
TINY_ROWS = [
    row("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", "2020-01-03T00:00:00Z", area="libvirt", added=10, kind="bug"),
    row("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2020-01-05T00:00:00Z", area="libvirt", areas="api;libvirt",
        added=0, kind="bug"),
    row("2020-01-02T00:00:00Z", "2020-01-08T00:00:00Z", "2020-01-10T00:00:00Z", area="libvirt", author=B, added=60,
        deleted=40, api=1, kind="blueprint"),
    row("2020-01-03T00:00:00Z", "2020-01-13T00:00:00Z", "2020-01-19T00:00:00Z", author=C, added=1000),
    row("2020-01-04T00:00:00Z", "2020-01-05T00:00:00Z", "2020-01-05T12:00:00Z", author=C),
    row("2020-01-10T00:00:00Z", "2020-01-09T00:00:00Z", "2020-01-09T00:00:00Z",
        reason="no_merge_commit;authored_after_merge"),
]


def write(tmp_path: Path, lines: list[str], name: str = "changes.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write(tmp_path, TINY_ROWS)


# ------------------------------------------------------------------------------ loader


def test_loader_derives_days_and_excludes_suspect_rows(tiny: Path) -> None:
    table = load_changes(tiny)
    assert (table.rows_read, table.suspect_rows, table.excluded, len(table.frame)) == (6, 1, 1, 5)
    assert table.suspect_reasons == {"no_merge_commit": 1, "authored_after_merge": 1}
    f = table.frame
    assert f["time_to_merge_days"].tolist() == [2, 4, 8, 16, 1.5]
    assert f["revision_days"].tolist() == [1, 0, 6, 10, 1]
    assert f["final_days"].tolist() == [1, 4, 2, 6, 0.5]
    assert f["size_lines"].tolist() == [10, 0, 100, 1000, 1]
    assert f["driver_only"].tolist() == [True, False, True, False, False]
    assert str(f["merged_at"].dt.tz) == "UTC"
    everything = load_changes(tiny, include_suspect=True)
    assert (len(everything.frame), everything.excluded) == (6, 0)
    assert everything.frame["revision_days"].iloc[5] == 0  # clipped, not -1


def test_loader_reads_gzip_whatever_the_name(tiny: Path, tmp_path: Path) -> None:
    packed = tmp_path / "packed.csv"
    packed.write_bytes(gzip.compress(tiny.read_bytes()))
    pd.testing.assert_frame_equal(load_changes(packed).frame, load_changes(tiny).frame)


BAD_CSV = {
    "missing_column": (lambda lines: [",".join(v for c, v in zip(COLUMNS, r.split(","), strict=True) if c != "kind")
                                      for r in [HEADER, *lines]],
                       ["line 1", "missing column(s) kind"]),
    "bad_timestamp": (lambda lines: [HEADER, lines[0], lines[1].replace("01-05T00:00:00Z", "13-05T00:00:00Z")],
                      ["line 3, column merged_at", "'2020-13-05T00:00:00Z'", "UTC ISO 8601"]),
    "local_time": (lambda lines: [HEADER, lines[0].replace("2020-01-03T00:00:00Z", "2020-01-03T00:00:00+02:00")],
                   ["line 2, column merged_at", "+02:00"]),
    "bad_kind": (lambda lines: [HEADER, lines[0], lines[1], lines[2].replace("blueprint", "feature")],
                 ["line 4, column kind", "'feature'", "bug, blueprint, other"]),
    "negative_lines": (lambda lines: [HEADER, lines[0].replace(",10,0,", ",-10,0,")],
                       ["line 2, column lines_added", "'-10'", "non-negative integer"]),
    "bad_flag": (lambda lines: [HEADER, lines[0].replace(",0,bug,", ",2,bug,")],
                 ["line 2, column touches_virt_api", "'2'", "0 or 1"]),
    "merged_before_authored": (
        lambda lines: [HEADER, lines[0], row("2020-01-05T00:00:00Z", "2020-01-05T00:00:00Z", "2020-01-04T00:00:00Z")],
        ["line 3, column merged_at", "before committed_at", "not flagged suspect"]),
    "suspect_without_reason": (lambda lines: [HEADER, lines[0][: -len(",0,")] + ",1,"],
                               ["line 2, column suspect_reason"]),
    "ragged_row": (lambda lines: [HEADER, lines[0], lines[1].rsplit(",", 1)[0]],
                   ["line 3", "expected 19 fields, saw 18"]),
    "several_bad_rows": (lambda lines: [HEADER, lines[0], *(r.replace("api", "") for r in lines[3:5])],
                         ["line 3, column area", "(and 1 more bad rows)"]),
    "header_only": (lambda lines: [HEADER], ["no rows after the header"]),
    "empty": (lambda lines: [], ["file is empty"]),
    # the rules on the data's own span (module docstring of sim.calibrate.data)
    "duplicated_commit": (lambda lines: [HEADER, *lines[:3], lines[1]],
                          ["line 5, column commit", "is a duplicate of line 3"]),
    "merged_in_the_future": (lambda lines: [HEADER, lines[0].replace("2020-01-03T00:00:00Z", "9999-12-31T00:00:00Z")],
                             ["line 2, column merged_at", "'9999-12-31T00:00:00Z'", "in the future"]),
    "authored_before_2000": (lambda lines: [HEADER, lines[0], lines[1].replace("2020-01-01", "1999-12-31")],
                             ["line 3, column authored_at", "'1999-12-31T00:00:00Z'", "before 2000-01-01T00:00:00Z"]),
    "merged_after_the_next_release": (
        lambda lines: [HEADER, *lines, *(row(f"2020-02-0{d}T00:00:00Z", f"2020-02-0{d}T00:00:00Z",
                                             f"2020-02-0{d}T12:00:00Z", release="r2") for d in (1, 2)),
                       row("2020-01-20T00:00:00Z", "2020-02-20T00:00:00Z", "2020-02-21T00:00:00Z")],
        ["line 10, column merged_at", "'2020-02-21T00:00:00Z' is outside the merge period of release 'r1'",
         "its other rows were merged 2020-01-03T00:00:00Z to 2020-01-19T00:00:00Z"]),
    "two_releases_at_one_time": (
        lambda lines: [HEADER, *lines, row("2020-01-18T00:00:00Z", "2020-01-18T00:00:00Z", "2020-01-19T00:00:00Z",
                                           release="r2"),
                       row("2020-02-01T00:00:00Z", "2020-02-01T00:00:00Z", "2020-02-02T00:00:00Z", release="r2")],
        ["column merged_at", "'2020-01-19T00:00:00Z' is outside the merge period of release"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_loader_names_file_line_column_and_value(case: str, tmp_path: Path) -> None:
    make, fragments = BAD_CSV[case]
    lines = make(TINY_ROWS)
    path = tmp_path / f"{case}.csv"
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_changes(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_loader_rules_are_the_files_own(tiny: Path, tmp_path: Path) -> None:
    """Release labels are judged on the file's dates, not Nova's (another project may name its
    cycles juno and kilo); unlabelled rows are not held to the order; a row merged at a release
    boundary belongs to the earlier cycle, the next cycle may start the next second."""
    text = tiny.read_text(encoding="utf-8")
    juno = write(tmp_path, text.replace(",r1,", ",juno,").splitlines()[1:], name="juno.csv")
    assert len(load_changes(juno).frame) == 5
    later = [row("2020-01-19T00:00:01Z", "2020-01-19T00:00:01Z", "2020-01-19T00:00:01Z", release="r2"),
             row("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2020-03-01T00:00:00Z", release=""),
             row("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", release="")]
    table = load_changes(write(tmp_path, [*TINY_ROWS, *later], name="more.csv"))
    assert table.frame["release"].tolist() == ["r1"] * 5 + ["r2", "", ""]


def test_the_shipped_history_with_one_bad_juno_row_is_refused(tmp_path: Path) -> None:
    """Issue 12's reproductions on the shipped file: a Juno merge dated 9999-12-31 (which made Juno
    416,674 weeks long), the same row dated 2020 (after every later release), 200 Juno rows twice."""
    lines = gzip.decompress(NOVA_CHANGES.read_bytes()).decode("utf-8").splitlines()
    merged, release = COLUMNS.index("merged_at"), COLUMNS.index("release")
    first = next(i for i, line in enumerate(lines) if line.split(",")[release] == "juno")
    fields = lines[first].split(",")
    cases = {
        "9999-12-31T00:00:00Z": f"line {first + 1}, column merged_at: '9999-12-31T00:00:00Z' is in the future",
        "2020-06-01T00:00:00Z": (f"line {first + 1}, column merged_at: '2020-06-01T00:00:00Z' is outside the merge "
                                 f"period of release 'juno' (its other rows were merged 2014-04-17T"),
    }
    for when, expected in cases.items():
        bad = lines.copy()
        bad[first] = ",".join([*fields[:merged], when, *fields[merged + 1:]])
        path = tmp_path / "late.csv"
        path.write_text("\n".join(bad) + "\n", encoding="utf-8")
        with pytest.raises(DataError) as info:
            load_changes(path)
        assert str(info.value).startswith(f"{path}: {expected}"), str(info.value)
        assert "\n" not in str(info.value) and "(and " not in str(info.value)
    path = tmp_path / "twice.csv"
    path.write_text("\n".join([*lines, *lines[first:first + 200]]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"line {len(lines) + 1}, column commit: '{fields[1]}' is a "
                                                  f"duplicate of line {first + 1}") + r".*\(and 199 more bad rows\)"):
        load_changes(path)


def test_loader_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.csv: file not found"):
        load_changes(tmp_path / "nope.csv")
    assert issubclass(DataError, ValueError)


def test_model_areas_maps_and_defaults(tmp_path: Path) -> None:
    areas = pd.Series(["libvirt", "db", "api", "baremetal"])
    mapped = model_areas(areas, {"misc": ["db", "network"], "ironic": ["ironic", "baremetal"], "api": ["api"]})
    assert mapped.tolist() == ["other", "misc", "api", "ironic"]
    with pytest.raises(DataError, match="'db' is mapped to both"):
        model_areas(areas, {"x": ["db"], "y": ["db"]})
    scenario = tmp_path / "s.toml"
    scenario.write_text('[areas.misc]\ndata_areas = ["db"]\nrate_per_day = 1\n[areas.api]\n', encoding="utf-8")
    assert load_model_areas(scenario) == {"misc": ["db"], "api": ["api"]}


def test_cycle_bounds_known_or_derived(tiny: Path) -> None:
    frame = load_changes(tiny).frame
    start, end = pd.Timestamp("2019-12-31T00:00:00Z"), pd.Timestamp("2020-01-31T00:00:00Z")
    assert cycle_bounds(frame, "r1", {"r1": (start, end)}) == (start, end)
    derived = (pd.Timestamp("2020-01-02T23:59:59Z"), pd.Timestamp("2020-01-19T00:00:00Z"))
    assert cycle_bounds(frame, "r1", {"r1": (start, pd.Timestamp("2020-01-15T00:00:00Z"))}) == derived
    assert cycle_bounds(frame, "r1") == derived
    with pytest.raises(DataError, match="'r9': no rows"):
        cycle_bounds(frame, "r9")
    assert NOVA_CYCLES["juno"] == (pd.Timestamp("2014-04-17T09:44:36Z"), pd.Timestamp("2014-10-16T11:49:55Z"))


# ------------------------------------------------------------------------------ summaries


def test_summaries_of_the_tiny_file_by_hand(tiny: Path) -> None:
    frame = load_changes(tiny).frame
    q = phase_quantiles(frame)
    assert q.index.tolist() == ["libvirt", "api", "all"]
    ttm = ["time_to_merge_p50", "time_to_merge_p75", "time_to_merge_p90"]
    assert q.loc["all", ["n", *ttm]].tolist() == [5, 4, 8, 12.8]
    assert q.loc["all", ["revision_p50", "revision_p75", "revision_p90"]].tolist() == pytest.approx([1, 6, 8.4])
    assert q.loc["all", ["final_p50", "final_p75", "final_p90"]].tolist() == pytest.approx([2, 4, 5.2])
    assert q.loc["libvirt", ttm].tolist() == pytest.approx([4, 6, 7.2])
    assert q.loc["api", ttm].tolist() == pytest.approx([8.75, 12.375, 14.55])

    size = size_summary(frame).loc["all"]
    assert size["log_lines_mean"] == pytest.approx(1.5 * math.log(10))
    assert size["log_lines_sd"] == pytest.approx(math.sqrt(5 / 3) * math.log(10))
    assert (size["median_lines"], size["zero_lines"]) == (10, 1)

    mix = mix_summary(frame)
    assert mix.loc["all", ["bug", "blueprint", "other", "virt_api_share", "driver_only_share"]].tolist() == \
        pytest.approx([0.4, 0.2, 0.4, 0.2, 0.4])
    assert mix["authors"].to_dict() == {"libvirt": 2, "api": 1, "all": 3}
    weekend = pd.concat([frame["authored_at"], frame["committed_at"]]).dt.day_of_week >= 5
    assert mix.loc["all", "weekend_upload_share"] == pytest.approx(weekend.mean())

    s = cycle_summary(frame, "r1")
    assert s.weeks == 2  # 16 days from 2020-01-02T23:59:59Z
    assert s.weekly.loc["all", ["merges_mean", "merges_dispersion", "arrivals_mean", "arrivals_dispersion"]].tolist() \
        == pytest.approx([2.5, 0.2, 1.0, 2.0])


def test_weekly_counts_fold_the_part_week_into_the_last() -> None:
    start = pd.Timestamp("2020-01-01T00:00:00Z")
    times = pd.Series(pd.to_datetime(["2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", "2020-01-08T00:00:00Z",
                                      "2020-01-15T01:00:00Z", "2020-01-15T02:00:00Z"], utc=True))
    assert weekly_counts(times, start, start + pd.Timedelta(days=14, hours=1)).tolist() == [1, 2]


def test_bootstrap_interval_of_a_median_of_two_values() -> None:
    # Resampled medians of [0, 1] are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4.
    assert bootstrap_quantile_ci([0.0, 1.0], 0.5, n_boot=2000, seed=3) == (0.0, 1.0)
    assert bootstrap_quantile_ci([0.0, 1.0], 0.5, n_boot=2000, seed=3, level=0.4) == (0.5, 0.5)
    assert bootstrap_quantile_ci([2.0] * 9, 0.9, n_boot=10, seed=0) == (2.0, 2.0)
    x = np.random.default_rng(1).lognormal(size=301)
    assert bootstrap_quantile_ci(x, 0.75, 500, 7) == bootstrap_quantile_ci(x, 0.75, 500, 7)
    low, high = bootstrap_quantile_ci(x, 0.75, 500, 7)
    assert low < np.quantile(x, 0.75) < high
    with pytest.raises(ValueError):
        bootstrap_quantile_ci([], 0.5)


@pytest.fixture(scope="module")
def nova() -> pd.DataFrame:
    """The shipped Nova history, suspect rows included."""
    return load_changes(NOVA_CHANGES, include_suspect=True).frame


def test_shipped_nova_readme_counts_are_the_loaders(nova: pd.DataFrame) -> None:
    text = (NOVA_CHANGES.parent / "README.md").read_text(encoding="utf-8")
    facts = [f"**{len(nova):,} rows**", f"{nova['merge_commit'].nunique():,} landing commits",
             f"{nova['author_id'].nunique():,} authors", f"**{int(nova['suspect'].sum()):,} suspect rows**"]
    kinds = nova["kind"].value_counts()
    facts.append(f"bug {kinds['bug']:,}, blueprint {kinds['blueprint']:,}, other {kinds['other']:,}")
    for release, rows in nova.groupby("release"):
        facts.append(f"| {release} | {len(rows):,} | {int((rows['suspect'] == 0).sum()):,} |")
    missing = [fact for fact in facts if fact not in text]
    assert not missing, missing


def test_shipped_nova_history_reproduces_the_juno_portrait(nova: pd.DataFrame) -> None:
    """data-portrait.md (an independent computation): juno, suspect = 0."""
    frame = nova[nova["suspect"] == 0]
    juno = frame[frame["release"] == "juno"]
    q = phase_quantiles(juno).round(1)
    portrait = {  # area: n, time to merge, revision phase, final phase (p50, p75, p90)
        "all": (1733, 13.2, 35.7, 77.0, 5.2, 26.2, 66.0, 2.7, 7.0, 17.4),
        "api": (391, 13.1, 32.2, 81.4, 4.9, 21.9, 73.3, 3.6, 8.5, 19.8),
        "libvirt": (222, 19.6, 42.0, 83.7, 11.4, 34.0, 77.9, 3.2, 7.2, 15.1),
        "vmwareapi": (134, 27.1, 48.0, 104.5, 21.1, 42.7, 102.0, 3.7, 6.4, 16.1),
        "hyperv": (26, 36.3, 108.0, 235.0, 32.5, 102.6, 233.3, 1.9, 5.0, 11.4),
    }
    for area, expected in portrait.items():
        assert tuple(q.loc[area].tolist()) == pytest.approx(expected, abs=0.051), area
    size = size_summary(juno).loc["all"]
    assert (round(size["log_lines_mean"], 2), round(size["log_lines_sd"], 2)) == (3.59, 1.67)
    assert size_summary(juno).loc[["api", "other", "libvirt", "ironic"], "median_lines"].tolist() == [47, 24, 48, 98]
    blueprint = (100 * mix_summary(juno)["blueprint"]).round()
    assert blueprint[["api", "other", "libvirt", "objects"]].tolist() == [33, 6, 18, 30]
    by_kind = phase_quantiles(juno, area_col="kind").round(1)
    assert by_kind.loc["blueprint", ["n", "time_to_merge_p50", "time_to_merge_p75", "time_to_merge_p90",
                                     "final_p50", "final_p75", "final_p90"]].tolist() == \
        pytest.approx([364, 18.2, 41.2, 101.6, 2.1, 4.5, 8.4])
    assert by_kind.loc[["bug", "other"], "n"].tolist() == [731, 638]
    start, end = NOVA_CYCLES["juno"]
    merges = weekly_counts(frame["merged_at"], start, end)
    assert merges.tolist() == [50, 32, 53, 41, 52, 38, 27, 37, 88, 64, 66, 43, 86, 92, 82, 73, 71, 69, 120, 102, 64,
                               101, 79, 73, 77, 53]
    cis = quantile_cis(juno, n_boot=300, seed=1)
    assert (cis["p50_low"] <= cis["p50"]).all() and (cis["p50"] <= cis["p50_high"]).all()


def test_per_area_orders_by_count_then_name() -> None:
    frame = pd.DataFrame({"area": ["b", "a", "c", "c"]})
    assert per_area(frame, lambda rows: {"n": len(rows)}).index.tolist() == ["c", "a", "b", "all"]


# ------------------------------------------------------------------------------ extractor

AREAS_TOML = """
default = "other"
drivers = ["libvirt"]
interface_files = ["nova/virt/driver.py"]
gerrit_start = "2014-01-02T00:00:00Z"
[test_roots]
"nova/tests/" = "nova/"
[areas]
libvirt = ["nova/virt/libvirt/"]
virt_common = ["nova/virt/*.py"]
docs = ["doc/", "README*"]
[cycles]
one = "v1"
two = "2014-03-01T00:00:00Z"
"""
ALICE = "Alice <alice@example.com>"
BOB = "Bob <bob@example.com>"
CAROL = "Carol <carol@solo.org>"


def cid(c: str) -> str:
    return "I" + c * 40


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "-q", "-b", "master")

    def git(self, *args: str, when: str = "2014-01-01T00:00:00Z", author: str = ALICE,
            authored: str | None = None) -> str:
        name, email = author[:-1].split(" <")
        env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": authored or when,
               "GIT_COMMITTER_NAME": "Gerrit", "GIT_COMMITTER_EMAIL": "review@example.org",
               "GIT_COMMITTER_DATE": when, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.path)}
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def commit(self, message: str, files: dict[str, str | None], *, author: str, authored: str, committed: str) -> str:
        for name, text in files.items():
            target = self.path / name
            if text is None:
                self.git("rm", "-q", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            self.git("add", name)
        self.git("commit", "-q", "--allow-empty", "-m", message, when=committed, author=author, authored=authored)
        return self.git("rev-parse", "HEAD")


def lines(n: int, word: str = "line") -> str:
    return "".join(f"{word} {i}\n" for i in range(n))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict[str, str]]]:
    """A small Gerrit-like history and the rows it must give, every column written out."""
    repo = Repo(tmp_path_factory.mktemp("repo"))
    g = repo.git
    (repo.path / ".mailmap").write_text("Bob <bob@example.com> <Bob.Alias@Example.COM>\n", encoding="utf-8")
    c0 = repo.commit("Initial commit", {"README": lines(10), "nova/virt/driver.py": lines(2)}, author=ALICE,
                     authored="2014-01-01T00:00:00Z", committed="2014-01-01T00:00:00Z")
    g("checkout", "-q", "-b", "f1")
    f1 = repo.commit(f"Fix a libvirt thing\n\nCloses-Bug: #123\nChange-Id: {cid('a')}\n",
                     {"nova/virt/libvirt/driver.py": lines(5), "nova/tests/virt/libvirt/test_driver.py": lines(3)},
                     author=BOB, authored="2014-01-05T10:00:00Z", committed="2014-01-06T12:00:00Z")
    f2 = repo.commit(f"Add docs\n\nImplements: blueprint shiny-docs\nChange-Id: {cid('b')}\n",
                     {"doc/a.txt": lines(4), "nova/virt/libvirt/driver.py": lines(4) + "changed\n"},
                     author=CAROL, authored="2014-01-07T00:00:00Z", committed="2014-01-07T06:00:00Z")
    g("checkout", "-q", "master")
    g("merge", "-q", "--no-ff", "-m", 'Merge "Fix a libvirt thing"', "f1", when="2014-01-08T00:00:00Z")
    m1 = g("rev-parse", "HEAD")
    g("tag", "-a", "v1", "-m", "release one", when="2014-01-10T00:00:00Z")
    c3 = repo.commit(f"Move the readme\n\nChange-Id: {cid('c')}\n",
                     {"README": None, "nova/virt/libvirt/README": lines(10) + "more\n"},
                     author=ALICE, authored="2014-01-20T00:00:00Z", committed="2014-01-21T00:00:00Z")
    g("checkout", "-q", "-b", "f2")
    backport = f"Backport\n\nFixes bug 456\n(cherry picked from commit 0123456789abcdef)\nChange-Id: {cid('a')}\n"
    f4 = repo.commit(backport,
                     {"nova/virt/driver.py": lines(3)}, author="Bob <Bob.Alias@Example.COM>",
                     authored="2013-01-01T00:00:00Z", committed="2014-02-01T00:00:00Z")
    g("checkout", "-q", "-b", "f3")
    f5 = repo.commit("Empty\n\nbp some-bp\n", {}, author=ALICE, authored="2014-02-02T00:00:00Z",
                     committed="2014-02-02T01:00:00Z")
    g("checkout", "-q", "f2")
    g("merge", "-q", "--no-ff", "-m", "Merge branch f3", "f3", when="2014-02-03T00:00:00Z")
    g("checkout", "-q", "master")
    g("merge", "-q", "--no-ff", "-m", 'Merge "Backport"', "f2", when="2014-02-10T00:00:00Z")
    m2 = g("rev-parse", "HEAD")
    c6 = repo.commit(f"Tweak\n\nThis is not about bug 789.\nChange-Id: {cid('d')}\n", {"nova/scheduler/x.py": lines(3)},
                     author=CAROL, authored="2014-03-06T00:00:00Z", committed="2014-03-05T00:00:00Z")
    areas = repo.path.parent / "areas.toml"
    areas.write_text(AREAS_TOML, encoding="utf-8")

    def uid(email: str) -> str:
        return hashlib.sha256(email.encode()).hexdigest()[:12]

    alice, bob, carol = uid("alice@example.com"), uid("bob@example.com"), uid("carol@solo.org")
    t = "2014-0{}T00:00:00Z".format
    # change_id, commit, merge, authored, committed, merged, author, domain, files, +, -, area, areas, api, kind,
    # series, release, reason
    rows = [
        ("", c0, c0, t("1-01"), t("1-01"), t("1-01"), alice, "example.com", 2, 12, 0, "docs", "docs;virt_common", 1,
         "other", 1, "one", "no_merge_commit;pre_gerrit"),
        (cid("a"), f1, m1, "2014-01-05T10:00:00Z", "2014-01-06T12:00:00Z", t("1-08"), bob, "example.com", 2, 8, 0,
         "libvirt", "libvirt", 0, "bug", 2, "one", ""),
        (cid("b"), f2, m1, t("1-07"), "2014-01-07T06:00:00Z", t("1-08"), carol, "other", 2, 5, 1, "docs",
         "docs;libvirt", 0, "blueprint", 2, "one", ""),
        (cid("c"), c3, c3, t("1-20"), t("1-21"), t("1-21"), alice, "example.com", 1, 1, 0, "libvirt", "docs;libvirt",
         0, "other", 1, "two", "no_merge_commit"),
        (cid("a"), f4, m2, "2013-01-01T00:00:00Z", t("2-01"), t("2-10"), bob, "example.com", 1, 1, 0, "virt_common",
         "virt_common", 1, "bug", 2, "two", "branch_merge;authored_over_1y_before_merge;cherry_pick;repeat_change_id"),
        ("", f5, m2, t("2-02"), "2014-02-02T01:00:00Z", t("2-10"), alice, "example.com", 0, 0, 0, "other", "", 0,
         "blueprint", 2, "two", "branch_merge;no_files"),
        (cid("d"), c6, c6, t("3-06"), t("3-05"), t("3-05"), carol, "other", 1, 3, 0, "other", "other", 0, "other", 1,
         "", "no_merge_commit;authored_after_merge;authored_after_committed"),
    ]
    expected = [dict(zip(COLUMNS, [str(v) for v in r[:17]] + [str(int(bool(r[17]))), r[17]], strict=True))
                for r in rows]
    return repo.path, areas, expected


def read_rows(path: Path) -> list[dict[str, str]]:
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def test_extract_gives_exactly_the_expected_rows(history, tmp_path: Path) -> None:
    repo, areas, expected = history
    out = tmp_path / "changes.csv.gz"
    assert main(["data", "extract", "--repo", str(repo), "--out", str(out), "--areas", str(areas)]) == 0
    got = read_rows(out)
    assert [r["commit"] for r in got] == [r["commit"] for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs, {k: (mine[k], theirs[k]) for k in COLUMNS if mine[k] != theirs[k]}
    first = out.read_bytes()
    assert main(["data", "extract", "--repo", str(repo), "--out", str(out), "--areas", str(areas)]) == 0
    assert out.read_bytes() == first, "gzip output is byte-for-byte reproducible"
    assert [p.name for p in tmp_path.iterdir()] == ["changes.csv.gz"]

    table = load_changes(out, include_suspect=True, drivers=["libvirt"])
    assert (table.rows_read, table.suspect_rows) == (7, 5)
    clean = load_changes(out, drivers=["libvirt"]).frame
    assert clean["commit"].tolist() == [expected[1]["commit"], expected[2]["commit"]]
    assert clean["driver_only"].tolist() == [True, False]
    assert clean["time_to_merge_days"].tolist() == pytest.approx([2 + 14 / 24, 1])


def test_extract_filters_by_merge_time_and_without_rules(history) -> None:
    repo, _, expected = history
    frame = extract(repo, since=pd.Timestamp("2014-01-09T00:00:00Z"), until=pd.Timestamp("2014-02-10T00:00:00Z"))
    assert frame["commit"].tolist() == [r["commit"] for r in expected[3:6]]
    assert set(frame["area"]) == {"other"} and set(frame["release"]) == {""}
    assert frame["suspect_reason"].tolist() == [
        "no_merge_commit", "branch_merge;authored_over_1y_before_merge;cherry_pick", "branch_merge;no_files"]
    assert frame["author_domain"].tolist() == ["example.com", "example.com", "example.com"]


def test_area_patterns() -> None:
    assert glob_regex("nova/virt/").fullmatch("nova/virt/a/b.py")
    assert glob_regex("nova/virt/*.py").fullmatch("nova/virt/driver.py")
    assert not glob_regex("nova/virt/*.py").fullmatch("nova/virt/libvirt/driver.py")
    assert glob_regex("nova/**/test_x*.py").fullmatch("nova/test_x1.py")
    assert glob_regex("nova/**/test_x*.py").fullmatch("nova/a/b/test_x.py")
    assert not glob_regex("README*").fullmatch("doc/README")
    rules = load_area_rules(ROOT / "data" / "nova" / "areas.toml")
    cases = {
        "nova/virt/libvirt/driver.py": "libvirt", "nova/tests/unit/virt/libvirt/test_driver.py": "libvirt",
        "nova/tests/test_libvirt.py": "libvirt", "nova/tests/test_db_api.py": "db",
        "nova/virt/driver.py": "virt_common",
        "nova/virt/newdriver/x.py": "other_virt", "nova/tests/unit/api/openstack/compute/test_networks.py": "api",
        "doc/api_samples/x.json": "api", "doc/source/index.rst": "docs", "plugins/xenserver/x": "xenapi",
        "nova/cmd/api.py": "other", "nova/tests/test_servers.py": "other",
    }
    assert {p: rules.area_of(p) for p in cases} == cases


def test_nova_areas_cycles_agree_with_the_loader_table() -> None:
    rules = load_area_rules(ROOT / "data" / "nova" / "areas.toml")
    assert [(name, pd.Timestamp(t)) for name, t in rules.cycles] == [(n, e) for n, (_, e) in NOVA_CYCLES.items()]


# ------------------------------------------------------------------------------ command line


def assert_exit_2(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_cli_bad_input_exits_2_with_one_line(tiny: Path, tmp_path: Path) -> None:
    assert_exit_2(run_cli("data", "summary", "--data", str(tmp_path / "missing.csv")), "missing.csv", "not found")
    bad = write(tmp_path, [TINY_ROWS[0].replace(",bug,", ",feature,")], name="bad.csv")
    assert_exit_2(run_cli("data", "summary", "--data", str(bad)), "bad.csv", "line 2, column kind", "'feature'")
    assert_exit_2(run_cli("data", "summary", "--data", str(tiny), "--cycle", "nope"), "changes.csv", "--cycle nope")
    out = tmp_path / "out.csv"
    assert_exit_2(run_cli("data", "extract", "--repo", str(tmp_path / "norepo"), "--out", str(out)), "norepo", "--repo")
    assert not out.exists()


def test_cli_extract_errors_leave_no_file(history, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, _, _ = history
    out = tmp_path / "out.csv"
    bad_areas = tmp_path / "areas.toml"
    bad_areas.write_text('[areas]\nlibvirt = "nova/virt/libvirt/"\n', encoding="utf-8")
    assert main(["data", "extract", "--repo", str(repo), "--out", str(out), "--areas", str(bad_areas)]) == 2
    assert main(["data", "extract", "--repo", str(repo), "--out", str(out), "--branch", "nope"]) == 2
    assert main(["data", "extract", "--repo", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3
    assert "areas.toml: areas.libvirt: expected a list" in err[0]
    assert "branch 'nope' not found" in err[1]
    assert "not a git repository" in err[2]
    assert list(tmp_path.iterdir()) == [bad_areas]


def test_cli_summary_prints_the_tables(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "summary", "--data", str(tiny), "--cycle", "r1", "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    for fragment in ("5 kept", "r1: (2020-01-02T23:59:59Z, 2020-01-19T00:00:00Z], 2 weeks, 5 changes",
                     "time_to_merge_p90", "p50_low", "log_lines_mean", "driver_only_share", "arrivals_dispersion"):
        assert fragment in out, fragment
    scenario = tmp_path / "s.toml"
    scenario.write_text('[areas.drivers]\ndata_areas = ["libvirt"]\n', encoding="utf-8")
    assert main(["data", "summary", "--data", str(tiny), "--cycle", "r1", "--areas", str(scenario),
                 "--default-area", "rest", "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert "model_area" in out and "rest" in out and "p50_low" not in out
    assert main(["data", "summary", "--data", str(tiny)]) == 0
    assert "merges_per_week" in capsys.readouterr().out


# ------------------------------------------------------------------------------ the core roster


def test_shipped_roster_matches_the_facts() -> None:
    """facts §1.1: 20-21 members during the September 2014 debate, 15 after the cut of 2014-12-17."""
    roster = load_roster()
    assert list(roster.columns) == ["date", "size", "change"] and roster["date"].is_monotonic_increasing

    def at(day: str) -> int | None:
        return roster_size(roster, pd.Timestamp(day, tz="UTC"))

    assert at("2014-09-04") == 21 and at("2014-12-16") == 20 and at("2014-12-17") == 15 and at("2015-06-01") == 14
    assert at("2013-01-01") is None  # before the first list


@pytest.mark.parametrize("text,expected", [
    ("when,size,change\n", "line 1: header must be date,size,change"),
    ("date,size,change\n2014-13-40,20,x\n", "line 2, column date: '2014-13-40' is not a date"),
    ("date,size,change\n2014-01-01,twenty,x\n", "line 2, column size: 'twenty' is not a whole number >= 1"),
    ("date,size,change\n2014-01-01,0,x\n", "line 2, column size: '0'"),
    ("date,size,change\n2014-02-01,20,x\n2014-01-01,21,y\n", "line 3, column date: 2014-01-01 is before"),
    ("date,size,change\n2014-01-01,20\n", "line 2: 2 fields, expected 3"),
])
def test_bad_roster_files_name_the_line_and_column(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}: {expected}")):
        load_roster(path)
    with pytest.raises(DataError, match="file not found"):
        load_roster(tmp_path / "missing.csv")

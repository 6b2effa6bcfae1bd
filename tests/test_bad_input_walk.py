"""Every subcommand, walked with bad paths and values: exit 2, a one-line reason, no traceback (issue 12).

The subcommands and their options come from :func:`sim.cli.build_parser` (nested ``data
extract|summary`` included), so a new command or option is walked without editing this file; a
new option taking a string must be classified once in :data:`PATH_KINDS` or :data:`NOT_PATHS`
(:func:`test_every_string_option_is_classified` says which).

For every case the command runs in this process (``sim.cli.main``), from a scratch working
directory, with every other argument valid and every output under ``tmp_path``. What it proves:

- exit code 2, a non-empty stderr without "Traceback" or "internal error": argparse's usage and
  ``error:`` line, or exactly one line ``error: ...`` that names the bad path where there is one;
- the refusal comes before any simulation (building a :class:`sim.model.world.World` fails the
  case at once) and within :data:`CASE_SECONDS`;
- nothing is written: no entry appears or changes under ``tmp_path`` (the bad paths' existing
  files and directories included) nor in the repository's output directories.

A few cases also run ``python -m sim`` in a fresh interpreter, to check the real entry point.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from simtest import TimeLimit, run_in_process

from sim.cli import build_parser
from sim.model.world import World

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "data" / "scenarios"
MMC = SCENARIOS / "mmc.toml"
BASELINE = ROOT / "data" / "baseline"
MODEL_MD = ROOT / "MODEL.md"
# Where the commands write by default (relative defaults go to the scratch working directory).
REPO_OUTPUTS = (ROOT / "results", ROOT / "figures", ROOT / "data" / "baseline", ROOT / "data" / "calibrated")
CASE_SECONDS = 60  # a case still running after this fails (it must be refused in about a second)
HUGE = "1" + "0" * 30
NUMBER_PROBES = ("0", "-1", HUGE, "abc", "", "1.5", "nan")  # each kept for an option whose type refuses it
# Options where a huge value is meant to be accepted: a seed (the schema's run.seed has no upper bound)
# and --workers (capped at the replications and the machine's cores). Any other count of work given
# HUGE must be refused before the work starts (as --replications is, at the schema's cap).
UNBOUNDED_BY_DESIGN = {"seed", "sample_seed", "workers"}
HUGE_SECONDS = 5  # a huge count that is not refused at once is doing the work: stop it sooner

# Path-like options, by (command, dest): what the command expects there.
IN_SCENARIO, IN_TOML, IN_CSV, IN_DIR, IN_OUT_MD = "scenario file", "TOML file", "CSV file", "input dir", "markdown"
OUT_DIR, OUT_FILE, BASELINE_DIR = "output dir", "output file", "baseline dir"
OUT_FIGURES, OUT_CALIBRATION_FIGURE = "figures dir", "calibration figure dir"  # directories shared with other files
OUT_SENSITIVITY_FIGURE = "sensitivity figure dir"
PATH_KINDS: dict[tuple[str, str], str] = {
    ("run", "scenario"): IN_SCENARIO, ("run", "out"): OUT_DIR,
    ("compare", "scenarios"): IN_SCENARIO, ("compare", "out"): OUT_DIR,
    ("figures", "out"): OUT_FIGURES, ("figures", "scenario_dir"): IN_DIR,
    ("check-baseline", "baseline"): BASELINE_DIR, ("check-baseline", "scenario"): IN_SCENARIO,
    ("check-baseline", "json"): OUT_FILE, ("check-baseline", "junit"): OUT_FILE,
    ("bench", "scenario"): IN_SCENARIO,
    ("params", "update"): IN_OUT_MD,
    ("data extract", "repo"): IN_DIR, ("data extract", "out"): OUT_FILE, ("data extract", "areas"): IN_TOML,
    ("data summary", "data"): IN_CSV, ("data summary", "areas"): IN_SCENARIO,
    ("calibrate", "data"): IN_CSV, ("calibrate", "template"): IN_SCENARIO, ("calibrate", "out"): OUT_FILE,
    ("calibrate", "results"): OUT_DIR, ("calibrate", "figures"): OUT_CALIBRATION_FIGURE,
    ("calibrate", "predict_from"): IN_SCENARIO, ("calibrate", "changes"): IN_TOML,
    ("validate", "cases"): IN_DIR, ("validate", "out"): OUT_FILE,
    ("report", "figures"): IN_DIR, ("report", "out"): OUT_DIR, ("report", "calibration"): IN_DIR,
    ("report", "screenshot"): OUT_FILE,
    ("ensemble", "spec"): IN_TOML, ("ensemble", "scenario_dir"): IN_DIR, ("ensemble", "out"): OUT_DIR,
    ("sensitivity", "spec"): IN_TOML, ("sensitivity", "scenario_dir"): IN_DIR, ("sensitivity", "out"): OUT_DIR,
    ("sensitivity", "figures"): OUT_SENSITIVITY_FIGURE,
}
# String options that name no file; and --cache, a directory that only ever gains its own files (any
# directory will do; tests/test_study.py checks a file in its place is refused).
NOT_PATHS = {"set", "cycle", "branch", "default_area", "what", "scheduler", "records", "cache"}
# Commands whose arguments depend on a mode, and the path options that apply only in one mode.
MODES: dict[str, tuple[str, ...]] = {"check-baseline": ("check", "update"), "calibrate": ("fit", "predict"),
                                     "validate": ("theory", "cases")}
ONLY_IN_MODE: dict[tuple[str, str], str] = {("check-baseline", "scenario"): "update", ("calibrate", "changes"): "predict",
                                             ("check-baseline", "json"): "check", ("check-baseline", "junit"): "check",
                                             ("validate", "cases"): "cases", ("validate", "out"): "cases",
                                             ("calibrate", "template"): "fit", ("calibrate", "predict_from"): "predict"}
BAD_STRINGS: dict[str, tuple[str, ...]] = {"set": ("review.cores", "reviewz.cores=3", "review.cores=-1"),
                                           "cycle": ("nosuchcycle",)}


# ---------------------------------------------------------------------------- the parser's commands


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> dict[str, argparse.ArgumentParser]:
    """Every leaf subcommand ("run", "data extract", ...) and its parser."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = commands(sub, (*prefix, name))
                found.update(nested or {" ".join((*prefix, name)): sub})
    return found


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's own arguments (not --help, not subcommands)."""
    return [a for a in parser._actions
            if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]


def takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def flag(action: argparse.Action) -> str:
    return action.option_strings[-1] if action.option_strings else action.dest


PARSER = build_parser()
COMMANDS = commands(PARSER)


# ---------------------------------------------------------------------------- valid companions


@dataclass
class Scratch:
    """tmp_path's layout: a scratch working directory, a short scenario, fixtures of bad paths."""

    root: Path

    @property
    def cwd(self) -> Path:
        return self.root / "cwd"

    @property
    def short(self) -> Path:
        return self.root / "inputs" / "short.toml"

    @property
    def other(self) -> Path:
        """A second short scenario, named apart (compared scenarios need distinct names)."""
        return self.root / "inputs" / "other.toml"

    def out(self, name: str) -> Path:
        return self.root / "outputs" / name

    def make(self) -> None:
        self.cwd.mkdir()
        self.short.parent.mkdir()
        self.short.write_text(f'extends = "{MMC}"\n[run]\nwarmup_days = 0\ncycle_weeks = 4\ncycles = 1\n',
                              encoding="utf-8")
        self.other.write_text(f'extends = "{self.short.name}"\n[scenario]\nname = "other"\n', encoding="utf-8")
        (self.root / "outputs").mkdir()


def base_arguments(command: str, s: Scratch, mode: str | None = None) -> dict[str, list[str]]:
    """Valid arguments of ``command`` (in ``mode``, default its first), by dest for positionals and
    by flag for options.

    Every output is under ``s.root``; simulations are as short as the command allows and run in
    this process (``--workers 1``), so a check that came too late would start one and fail fast.
    """
    mode = mode or MODES.get(command, ("",))[0]
    short = str(s.short)
    calibrate = {"--out": [str(s.out("cal.toml"))], "--results": [str(s.out("cal_results"))],
                 "--figures": [str(s.out("cal_figures"))], "--check-replications": ["1"], "--workers": ["1"]}
    args: dict[str, dict[str, list[str]]] = {
        "run": {"scenario": [short], "--replications": ["1"], "--out": [str(s.out("run"))]},
        "compare": {"scenarios": [short, str(s.other)], "--replications": ["1"], "--out": [str(s.out("compare"))]},
        "figures": {"--out": [str(s.out("figures"))], "--replications": ["1"], "--sweep-replications": ["1"],
                    "--workers": ["1"]},
        "check-baseline": ({"--update": [], "--baseline": [str(s.out("baseline"))], "--replications": ["1"],
                            "--workers": ["1"]} if mode == "update" else {"--baseline": [str(BASELINE)], "--workers": ["1"]}),
        "validate": ({"what": ["cases"], "--cases": [str(ROOT / "data" / "validation")],
                      "--out": [str(s.out("cases.csv"))], "--replications": ["2"], "--workers": ["1"]}
                     if mode == "cases" else {"--replications": ["2"], "--workers": ["1"]}),
        "bench": {"scenario": [short], "--repeat": ["1"]},
        "params": {},
        "report": {"--figures": [str(ROOT / "figures")], "--out": [str(s.out("report"))]},  # reads, no simulation
        "ensemble": {"--draws": ["1"], "--replications": ["1"], "--workers": ["1"], "--out": [str(s.out("ensemble"))]},
        "sensitivity": {"--trajectories": ["2"], "--sobol-n": ["2"], "--sobol-factors": ["1"], "--replications": ["1"],
                        "--workers": ["1"], "--out": [str(s.out("sensitivity"))]},
        # The repository's own clone, only read (its --areas and --out are checked before its history).
        "data extract": {"--repo": [str(ROOT)], "--branch": ["HEAD"], "--out": [str(s.out("changes.csv"))]},
        "data summary": {"--cycle": ["juno"], "--bootstrap": ["0"]},
        "calibrate": ({"--cycle": ["juno"], "--budget": ["0"], "--replications": ["1"], **calibrate} if mode == "fit" else
                      {"--cycle": ["kilo"], "--predict-from": [str(ROOT / "data" / "calibrated" / "juno.toml")],
                       "--changes": [str(ROOT / "data" / "calibration" / "kilo_changes.toml")], **calibrate}),
    }
    assert set(args) == set(COMMANDS), f"add valid arguments for {set(COMMANDS) ^ set(args)}"
    return {k: list(v) for k, v in args[command].items()}


def argv_of(command: str, values: dict[str, list[str]]) -> list[str]:
    """``command`` with ``values`` (positionals in the parser's order, then options)."""
    parser = COMMANDS[command]
    argv = command.split()
    for action in arguments(parser):
        if not action.option_strings and action.dest in values:
            argv += values[action.dest]
    for key, vals in values.items():
        if key.startswith("-"):
            argv += [key, *vals] if not vals or not vals[0].startswith("-") else [f"{key}={vals[0]}"]
    return argv


# ---------------------------------------------------------------------------- bad paths


def _file(path: Path, data: bytes = b"x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _dir(path: Path, *files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in files:
        (path / name).write_text("not driversplit's\n", encoding="utf-8")
    return path


def _extends_chain(root: Path, depth: int) -> Path:
    """A scenario extending another, ``depth`` files deep (the last extends mmc.toml)."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(depth):
        target = f'"{MMC}"' if i == depth - 1 else f'"s{i + 1}.toml"'
        (root / f"s{i}.toml").write_text(f"extends = {target}\n", encoding="utf-8")
    return root / "s0.toml"


def _circular(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "a.toml").write_text('extends = "b.toml"\n', encoding="utf-8")
    (root / "b.toml").write_text('extends = "a.toml"\n', encoding="utf-8")
    return root / "a.toml"


Maker = Callable[[Path], Path]  # builds the bad path under a scratch directory, returns it

MISSING: Maker = lambda d: d / "missing" / "nothing.toml"
A_DIRECTORY: Maker = lambda d: _dir(d / "a_dir.toml")
EMPTY_FILE: Maker = lambda d: _file(d / "empty.toml", b"")
NOT_UTF8: Maker = lambda d: _file(d / "binary.toml", b"\xff\xfe\x00\x81garbage\n")
A_FILE: Maker = lambda d: _file(d / "a_file")
UNDER_A_FILE: Maker = lambda d: _file(d / "plain_file") / "sub"
FOREIGN_DIR: Maker = lambda d: _dir(d / "foreign", "keep.txt")

BAD_INPUT_FILE: dict[str, Maker] = {"missing": MISSING, "directory": A_DIRECTORY, "empty": EMPTY_FILE,
                                    "not-utf8": NOT_UTF8, "under-a-file": UNDER_A_FILE}
BAD_PATHS: dict[str, dict[str, Maker]] = {
    IN_SCENARIO: {**BAD_INPUT_FILE,
                  "malformed": lambda d: _file(d / "malformed.toml", b"[areas.x\nrate_per_day = 1\n"),
                  "unknown-key": lambda d: _file(d / "unknown.toml", f'extends = "{MMC}"\n[review]\ncorez = 3\n'.encode()),
                  "extends-missing": lambda d: _file(d / "ext.toml", b'extends = "nowhere.toml"\n'),
                  "extends-circular": _circular,
                  "extends-1000-deep": lambda d: _extends_chain(d / "chain", 1000)},
    IN_TOML: {**{k: v for k, v in BAD_INPUT_FILE.items() if k != "empty"},  # an empty table may be valid
              "malformed": lambda d: _file(d / "malformed.toml", b"[x\ny = \n")},
    IN_CSV: {**BAD_INPUT_FILE, "wrong-header": lambda d: _file(d / "wrong.csv", b"a,b\n1,2\n"),
             "header-only": lambda d: _file(d / "header.csv", _changes_header() + b"\n")},
    IN_OUT_MD: {**BAD_INPUT_FILE, "no-markers": lambda d: _file(d / "plain.md", b"# no table here\n")},
    IN_DIR: {"missing": lambda d: d / "missing_dir", "a-file": A_FILE, "empty-dir": lambda d: _dir(d / "empty_dir")},
    OUT_DIR: {"a-file": A_FILE, "under-a-file": UNDER_A_FILE, "foreign-dir": FOREIGN_DIR},
    OUT_FIGURES: {"a-file": A_FILE, "under-a-file": UNDER_A_FILE,
                  "foreign-readme": lambda d: _dir(d / "foreign_figs", "README.md")},
    OUT_CALIBRATION_FIGURE: {"a-file": A_FILE, "under-a-file": UNDER_A_FILE,
                             "foreign-figure": lambda d: _dir(d / "foreign_figs", "calibration_juno.png",
                                                              "calibration_kilo.png")},
    OUT_SENSITIVITY_FIGURE: {"a-file": A_FILE, "under-a-file": UNDER_A_FILE,
                             "foreign-figure": lambda d: _dir(d / "foreign_figs", "sensitivity.png")},  # no sensitivity.md: not ours
    OUT_FILE: {"a-directory": lambda d: _dir(d / "out_dir.csv"), "under-a-file": UNDER_A_FILE,
               "foreign-file": lambda d: _file(d / "foreign.csv", b"not driversplit's\n")},
}


def _changes_header() -> bytes:
    from sim.calibrate.data import COLUMNS

    return ",".join(COLUMNS).encode()


# ---------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One bad invocation: ``build(scratch)`` makes its fixtures and returns (argv, the bad path or None)."""

    id: str
    build: Callable[[Scratch], tuple[list[str], Path | None]]
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())
    seconds: float = CASE_SECONDS


def _path_cases() -> list[Case]:
    cases = []
    for command, parser in COMMANDS.items():
        for action in arguments(parser):
            kind = PATH_KINDS.get((command, action.dest))
            if kind is None:
                continue
            for mode in MODES.get(command, (None,)):
                if ONLY_IN_MODE.get((command, action.dest), mode) != mode:
                    continue  # given in another mode: a case of its own below
                expected = (OUT_DIR if mode == "update" else IN_DIR) if kind == BASELINE_DIR else kind
                for bad, make in BAD_PATHS[expected].items():
                    label = f" ({mode})" if mode and len(MODES[command]) > 1 else ""
                    cases.append(Case(f"{command}{label} {flag(action)}: {bad}", _path_builder(command, action, make, mode)))
    return cases + _baseline_contents()


def _path_builder(command: str, action: argparse.Action, make: Maker, mode: str | None):
    def build(s: Scratch) -> tuple[list[str], Path | None]:
        values = base_arguments(command, s, mode)
        bad = make(s.root / "bad")
        key = action.dest if not action.option_strings else flag(action)
        values[key] = [str(bad)] if action.nargs not in ("+", "*") else [str(s.short), str(bad)]
        return argv_of(command, values), bad

    return build


def _baseline_contents() -> list[Case]:
    """check-baseline on a baseline directory whose files are broken."""

    def broken(files: dict[str, bytes]):
        def build(s: Scratch) -> tuple[list[str], Path | None]:
            bad = s.root / "bad" / "baseline"
            bad.mkdir(parents=True)
            for name in ("baseline.json", "summary.csv", "README.md"):
                if (BASELINE / name).is_file():
                    shutil.copyfile(BASELINE / name, bad / name)
            for name, data in files.items():
                (bad / name).write_bytes(data)
            values = base_arguments("check-baseline", s)
            values["--baseline"] = [str(bad)]
            return argv_of("check-baseline", values), bad / next(iter(files))

        return build

    return [Case("check-baseline --baseline: malformed baseline.json", broken({"baseline.json": b"{not json"})),
            Case("check-baseline --baseline: baseline.json not an object", broken({"baseline.json": b"[1, 2]"})),
            Case("check-baseline --baseline: empty summary.csv", broken({"summary.csv": b""}))]


def _value_cases() -> list[Case]:
    """Every typed option with values its type refuses; bad strings for --set and --cycle."""
    cases = []
    for command, parser in COMMANDS.items():
        for action in arguments(parser):
            if not action.option_strings or not takes_value(action):
                continue
            mode = "update" if command == "check-baseline" and action.dest in ("replications", "seed", "set") else None
            probes: tuple[str, ...] = ()
            if action.type is not None:
                probes = tuple(v for v in NUMBER_PROBES if _refused(action, v))
            elif action.dest in BAD_STRINGS:
                probes = BAD_STRINGS[action.dest]
            for value in probes:
                cases.append(Case(f"{command} {flag(action)}={value!r}", _value_builder(command, flag(action), value, mode)))
            if action.type is not None and not _refused(action, HUGE) and action.dest not in UNBOUNDED_BY_DESIGN:
                cases.append(Case(f"{command} {flag(action)}=huge (accepted by its type)",
                                  _value_builder(command, flag(action), HUGE, mode), seconds=HUGE_SECONDS))
    return cases


def _refused(action: argparse.Action, value: str) -> bool:
    try:
        action.type(value)  # type: ignore[misc]
    except (argparse.ArgumentTypeError, ValueError, TypeError):
        return True
    return False


def _value_builder(command: str, option: str, value: str, mode: str | None):
    def build(s: Scratch) -> tuple[list[str], Path | None]:
        values = base_arguments(command, s, mode)
        values[option] = [value]
        return argv_of(command, values), None

    return build


def _structure_cases() -> list[Case]:
    """Unknown options, surplus and missing arguments, top-level mistakes, update-only flags."""
    cases = []

    def fixed(argv_for: Callable[[Scratch], list[str]]):
        return lambda s: (argv_for(s), None)

    for command, parser in COMMANDS.items():
        cases.append(Case(f"{command} --no-such-option", fixed(
            lambda s, c=command: [*argv_of(c, base_arguments(c, s)), "--no-such-option"])))
        cases.append(Case(f"{command} --no-such-option=1", fixed(
            lambda s, c=command: [*argv_of(c, base_arguments(c, s)), "--no-such-option=1"])))
        cases.append(Case(f"{command} surplus positional", fixed(
            lambda s, c=command: [*argv_of(c, base_arguments(c, s)), str(s.root / "surplus.toml")])))
        for action in arguments(parser):
            if action.required:
                cases.append(Case(f"{command} without {flag(action)}", fixed(
                    lambda s, c=command, d=action: argv_of(
                        c, {k: v for k, v in base_arguments(c, s).items() if k not in (d.dest, flag(d))}))))
    for option, value in (("--scenario", str(MMC)), ("--set", "review.cores=3"), ("--replications", "1"),
                          ("--seed", "1"), ("--force", None)):
        cases.append(Case(f"check-baseline {option} without --update", fixed(
            lambda s, o=option, v=value: argv_of("check-baseline",
                                                 {**base_arguments("check-baseline", s), o: [] if v is None else [v]}))))
    for option in ("--json", "--junit"):
        cases.append(Case(f"check-baseline --update {option}, which only a check writes", fixed(
            lambda s, o=option: argv_of("check-baseline", {**base_arguments("check-baseline", s, "update"),
                                                           o: [str(s.root / "report.out")]}))))
    cases.append(Case("calibrate (fit) --changes, which only a prediction reads", fixed(lambda s: argv_of("calibrate", {
        **base_arguments("calibrate", s, "fit"), "--changes": [str(MISSING(s.root / "bad"))]}))))
    for option, value in (("--template", str(SCENARIOS / "monolith.toml")), ("--budget", "3"), ("--replications", "2")):
        cases.append(Case(f"calibrate (predict) {option}, which only a fit reads", fixed(
            lambda s, o=option, v=value: argv_of("calibrate", {**base_arguments("calibrate", s, "predict"), o: [v]}))))
    cases.append(Case("compare the same scenario twice", fixed(lambda s: argv_of("compare", {
        **base_arguments("compare", s), "scenarios": [str(s.short), str(s.short)]}))))
    for argv in ([], ["frobnicate"], ["--bogus"], ["data"], ["data", "frobnicate"], ["run"]):
        cases.append(Case(f"python -m sim {' '.join(argv)}".rstrip(), fixed(lambda s, a=argv: list(a))))
    return cases


CASES = _path_cases() + _value_cases() + _structure_cases()

# Defects the walk found: the case stays, expected to fail (strict) until the source is fixed.
KNOWN_DEFECTS: dict[str, str] = {}  # case id -> defect, each an xfail(strict) case until fixed


def _params(cases: list[Case]) -> list:
    return [pytest.param(c, id=c.id, marks=(*c.marks, *(
        [pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[c.id])] if c.id in KNOWN_DEFECTS else [])))
            for c in cases]


# ---------------------------------------------------------------------------- running a case


class SimulationStarted(BaseException):  # not an Exception: the CLI must not swallow it
    """A refused case built a World: its bad input was checked only after work began."""


def snapshot(*roots: Path) -> dict[str, tuple[str, int, str]]:
    """Every entry under ``roots``: (kind, mode, content hash for files)."""
    entries: dict[str, tuple[str, int, str]] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in [root, *root.rglob("*")]:
            st = path.lstat()
            if path.is_symlink():
                entries[str(path)] = ("link", st.st_mode, os.readlink(path))
            elif path.is_dir():
                entries[str(path)] = ("dir", st.st_mode, "")
            else:
                entries[str(path)] = ("file", st.st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return entries


def repo_outputs() -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file in the repository's default output directories."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for root in REPO_OUTPUTS if root.exists() for p in root.rglob("*") if p.is_file()}


def assert_refused(code: int, stdout: str, stderr: str, bad: Path | None, what: str) -> None:
    """Exit 2 with argparse's usage + error, or with one line ``error: ...`` naming ``bad``."""
    where = f"\n{what}\n--- exit {code}\n--- stderr\n{stderr}--- stdout\n{stdout[-2000:]}"
    assert "Traceback" not in stderr + stdout, where
    assert "internal error" not in stderr, where
    assert code == 2, where
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "exit 2 without a reason on stderr" + where
    if lines[0].startswith("usage:"):
        assert ": error: " in lines[-1], where
        return
    assert len(lines) == 1 and lines[0].startswith("error: "), "expected exactly one line 'error: ...'" + where
    if bad is not None:
        assert str(bad) in lines[0] or bad.name in lines[0] or str(bad.parent) in lines[0], (
            "the line does not name the bad path" + where)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scratch:
    """The scratch layout, the working directory moved into it, and World made to fail at once."""
    s = Scratch(tmp_path)
    s.make()
    monkeypatch.chdir(s.cwd)

    def refuse(self: World, *args: object, **kwargs: object) -> None:
        raise SimulationStarted("a World was built: the bad input was not refused before simulating")

    monkeypatch.setattr(World, "__init__", refuse)
    return s


# ---------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("command, mode", [(c, m) for c in COMMANDS for m in MODES.get(c, (None,))])
def test_valid_companions_reach_the_work(command: str, mode: str | None, scratch: Scratch) -> None:
    """The control of the walk: the arguments each case starts from are valid, so a refusal is the
    bad input's. They pass every check and reach the work (a World is built) or finish (exit 0)."""
    argv = argv_of(command, base_arguments(command, scratch, mode))
    try:
        code, _, stderr = run_in_process(argv)
    except SimulationStarted:
        return
    assert code == 0, f"python -m sim {' '.join(argv)}: exit {code}: {stderr}"


def test_every_string_option_is_classified() -> None:
    """Each option taking a string is a known kind of path or listed as not a path; each kind is walked."""
    unclassified = [f"{c} {flag(a)}" for c, p in COMMANDS.items() for a in arguments(p)
                    if takes_value(a) and a.type is None and a.dest not in NOT_PATHS and (c, a.dest) not in PATH_KINDS]
    assert not unclassified, f"classify in PATH_KINDS or NOT_PATHS: {unclassified}"
    stale = [k for k in PATH_KINDS if k[0] not in COMMANDS
             or k[1] not in {a.dest for a in arguments(COMMANDS[k[0]])}]
    assert not stale, f"PATH_KINDS names options that no longer exist: {stale}"
    assert {"run", "compare", "figures", "check-baseline", "validate", "bench", "params", "data extract",
            "data summary", "calibrate"} <= set(COMMANDS)


@pytest.mark.parametrize("case", _params(CASES))
def test_bad_input_is_refused_before_any_work(case: Case, scratch: Scratch) -> None:
    """The case exits 2 with a one-line reason (argparse: usage + error), no traceback, no
    simulation, and writes nothing: not under tmp_path, not in the repository's output directories."""
    argv, bad = case.build(scratch)
    before, repo_before = snapshot(scratch.root), repo_outputs()
    start = time.perf_counter()
    try:
        code, stdout, stderr = run_in_process(argv, case.seconds)
    except (SimulationStarted, TimeLimit) as exc:
        pytest.fail(f"python -m sim {' '.join(argv)}: {type(exc).__name__}: {exc}")
    what = f"python -m sim {' '.join(argv)}  ({time.perf_counter() - start:.1f} s)"
    assert_refused(code, stdout, stderr, bad, what)
    after = snapshot(scratch.root)
    changed = sorted(p for p in before.keys() & after.keys() if before[p] != after[p])
    created = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    assert not (changed or created or removed), f"{what}: changed {changed}, created {created}, removed {removed}"
    assert repo_outputs() == repo_before, f"{what}: wrote into the repository's output directories"


@pytest.mark.parametrize("argv", [
    [],
    ["run", "missing.toml", "--replications", "1", "--out", "out"],
    ["params", "--update", "missing.md"],
], ids=lambda a: " ".join(a) or "no arguments")
def test_entry_point_refuses_without_traceback(argv: list[str], tmp_path: Path) -> None:
    """``python -m sim`` in a fresh interpreter: the same refusals, exit 2, no traceback, nothing written."""
    proc = subprocess.run([sys.executable, "-m", "sim", *argv], capture_output=True, text=True, cwd=tmp_path,
                          timeout=CASE_SECONDS, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert_refused(proc.returncode, proc.stdout, proc.stderr, None, f"python -m sim {' '.join(argv)}")
    assert not any(tmp_path.iterdir()), list(tmp_path.iterdir())


@pytest.mark.parametrize("command, option", [(c, flag(a)) for c in ("run", "compare") for a in arguments(COMMANDS[c])
                                             if a.dest in UNBOUNDED_BY_DESIGN])
def test_huge_seed_and_workers_run(command: str, option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control of the walk's huge values: where a huge value is meant to be valid (a seed, a
    worker count capped at the cores) a short run accepts it and writes its result (exit 0)."""
    s = Scratch(tmp_path)
    s.make()
    monkeypatch.chdir(s.cwd)
    values = base_arguments(command, s)
    values[option] = [HUGE]
    code, _, stderr = run_in_process(argv_of(command, values))
    assert code == 0, stderr
    assert (Path(values["--out"][0]) / "run.json").is_file()


def test_params_update_on_a_copy(tmp_path: Path) -> None:
    """The one writing case the walk allows: ``params --update`` on a copy of MODEL.md (exit 0)."""
    copy = tmp_path / "MODEL.md"
    shutil.copyfile(MODEL_MD, copy)
    code, _, stderr = run_in_process(["params", "--update", str(copy)])
    assert code == 0, stderr

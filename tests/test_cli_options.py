"""The command line's global options and help (issue 16): --version, help with no command, a fast
--help, help text for every option, -q / -v, --data-dir and the order the data directory is found in."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from simtest import MMC, ROOT, run_cli

from sim import paths
from sim.cli import build_parser
from sim.errors import InputError

HEAVY = ("numpy", "scipy", "pandas", "simpy", "matplotlib", "pydantic", "tqdm")
SHORT_RUN = ("--replications", "2", "--set", "run.warmup_days=5", "--set", "run.cycles=1")


def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(command path, action) for every argument of every (nested) command, and each command's own entry."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*prefix, name), helps.get(name)
                yield from walk(sub, (*prefix, name))
        else:
            yield prefix, action


def test_every_command_and_option_has_help_naming_its_default() -> None:
    seen = set()
    for where, item in walk(build_parser()):
        if isinstance(item, argparse.Action):
            if isinstance(item, argparse._HelpAction):
                continue
            seen.add((" ".join(where), item.dest))
            label = f"{' '.join(where) or 'global'} {item.option_strings or item.dest}"
            assert item.help and item.help != argparse.SUPPRESS and len(item.help) > 10, label
            if item.default not in (None, False, argparse.SUPPRESS):
                assert "default" in item.help.lower(), f"{label}: default {item.default!r} not in its help"
        else:
            assert item, f"command {' '.join(where)} has no help line"
    # the walk reached the nested and the calibration commands
    assert {("data summary", "bootstrap"), ("data extract", "repo"), ("calibrate", "budget"),
            ("", "data_dir"), ("run", "workers")} <= seen


def test_help_imports_nothing_heavy_and_is_fast() -> None:
    """Building the parser and formatting every command's help imports no numerical library. The time
    is the CPU time inside the interpreter: wall time on a shared 2-core machine measures the load."""
    code = ("import sys, time, json\n"
            "t = time.process_time()\n"
            "from sim.cli import build_parser\n"
            "import argparse\n"
            "p = build_parser(); p.format_help()\n"
            "subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)][0]\n"
            "for s in subs.choices.values(): s.format_help()\n"
            f"print(json.dumps([time.process_time() - t, [m for m in {HEAVY!r} if m in sys.modules]]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    seconds, heavy = json.loads(proc.stdout)
    assert heavy == []
    assert seconds < 0.3, seconds  # ~0.03 s; importing numpy, scipy and pandas took ~1.1 s of it before
    help_proc = run_cli("--help")
    assert help_proc.returncode == 0 and "--data-dir" in help_proc.stdout and "calibrate" in help_proc.stdout


def test_version_comes_from_the_package_metadata() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"driversplit {version('driversplit')}"


def test_no_command_prints_the_help_and_exits_2() -> None:
    """The whole help, for a reader; exit 2 and a last error line, for a script whose command was empty."""
    proc = run_cli()
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("usage: python -m sim") and "check-baseline" in proc.stderr
    assert "--data-dir" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "python -m sim: error: no command given: choose one of the commands above"


def test_quiet_silences_progress_and_notes_verbose_adds_debug(tmp_path: Path) -> None:
    run = ("run", str(MMC), *SHORT_RUN, "--workers", "64")  # 64 workers: the pool notes the machine's cap
    default = run_cli(*run, "--out", str(tmp_path / "a"))
    assert default.returncode == 0, default.stderr
    assert "mmc: 2/2 replications (100%)" in default.stderr  # the progress line (no terminal)
    assert "note: 64 workers requested" in default.stderr
    quiet = run_cli("-q", *run, "--out", str(tmp_path / "b"))
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert quiet.stdout.replace(str(tmp_path / "b"), "") == default.stdout.replace(str(tmp_path / "a"), "")
    verbose = run_cli("-v", *run, "--out", str(tmp_path / "c"))
    assert verbose.returncode == 0, verbose.stderr
    assert f"debug: driversplit {version('driversplit')}, data directory {ROOT / 'data'}" in verbose.stderr
    assert "mmc: 2/2 replications" in verbose.stderr
    both = run_cli("-q", "-v", "params")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_bad_data_dir_is_one_line_naming_the_option(tmp_path: Path) -> None:
    proc = run_cli("--data-dir", str(tmp_path), "validate")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {tmp_path}: --data-dir: not a driversplit data directory"), line


@pytest.fixture
def clean_data_choice(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    yield monkeypatch
    paths.use_data_dir(None)


def test_data_directory_order(clean_data_choice: pytest.MonkeyPatch, tmp_path: Path) -> None:
    option, env = tmp_path / "option", tmp_path / "env"
    for d in (option, env):
        (d / "scenarios").mkdir(parents=True)
    assert paths.data_dir() == ROOT / "data"  # a clone: the repository's data/
    assert paths.SCENARIOS == ROOT / "data" / "scenarios" and paths.CASES_DIR == ROOT / "data" / "validation"
    clean_data_choice.setenv(paths.DATA_ENV, str(env))
    assert paths.data_dir() == env.resolve() and paths.BASELINE_DIR == env.resolve() / "baseline"
    paths.use_data_dir(option)
    assert paths.data_dir() == option.resolve()
    paths.use_data_dir(None)
    clean_data_choice.setenv(paths.DATA_ENV, str(tmp_path / "missing"))
    with pytest.raises(InputError, match=f"{paths.DATA_ENV}: not a driversplit data directory"):
        paths.data_dir()


def test_recorded_paths_name_the_data_directory_as_data(clean_data_choice: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    clone = ROOT / "data" / "scenarios" / "monolith.toml"
    assert paths.record_path(clone) == "data/scenarios/monolith.toml"
    assert paths.record_path(ROOT / "MODEL.md") == "MODEL.md"
    assert paths.record_path(tmp_path / "x.toml") == (tmp_path / "x.toml").resolve().as_posix()
    (tmp_path / "scenarios").mkdir()
    paths.use_data_dir(tmp_path)
    assert paths.record_path(tmp_path / "scenarios" / "a.toml") == "data/scenarios/a.toml"
    assert paths.resolve_recorded("data/scenarios/a.toml") == tmp_path.resolve() / "scenarios" / "a.toml"
    assert paths.resolve_recorded("MODEL.md") == ROOT / "MODEL.md"


def test_quiet_flag_leaves_library_progress_alone() -> None:
    """-q sets the sim logger's own level; an unset level (the Python API) keeps progress lines."""
    import io

    from sim.progress import Progress

    logger = logging.getLogger("sim")
    saved = logger.level
    try:
        for level, expect_line in ((logging.NOTSET, True), (logging.INFO, True), (logging.WARNING, False)):
            logger.setLevel(level)
            stream = io.StringIO()
            with Progress(2, "x", stream=stream) as bar:
                bar.update(2)
            assert ("x: 2/2" in stream.getvalue()) is expect_line, level
    finally:
        logger.setLevel(saved)

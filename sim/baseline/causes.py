"""Which input changed since a baseline was recorded: the root cause a failing or warning check names.

The baseline records, per scenario, the sha256 of its resolved scenario and (since it was added)
of the bytes of the scenario file and every file it extends, and the sha256 of each model source
file (:mod:`sim.baseline.inputs`). :func:`diagnose` compares them with the files as they are now:

- each changed input file is named **once** ("data/calibrated/juno.toml changed since the baseline
  was recorded"), with the scenarios that use it, instead of one warning per scenario;
- a scenario that resolves differently though none of its files changed is named on its own (the
  schema's defaults changed: see the model source note);
- changed model source files are a note (a code change is what the check is for), and the cause
  of a failure when no input file of the scenario changed.

A baseline recorded before file hashes were kept has only the resolved-scenario hashes. When the
baseline directory is in a git checkout (and its ``baseline.json`` is committed, unmodified), the
files of the changed scenarios are compared with their versions at the commit that last changed
``baseline.json`` (``git diff --name-only``), and those that differ are named as above. Without
git, the changed scenarios are named in one line, with the files every one of them extends and no
unchanged scenario does (the likely cause; the change itself cannot be seen).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.baseline.inputs import chain_hashes, extends_chain, model_source_hashes
from sim.baseline.manifest import UPDATE_COMMAND, record_path, scenario_hash
from sim.baseline.store import MANIFEST_FILE, Baseline
from sim.scenario import Scenario

MAX_LISTED = 5  # model source files named in a note before "and N more"
GIT_TIMEOUT = 20.0  # s, per git command of the fallback


@dataclass(frozen=True)
class InputChange:
    """One input file whose content differs from the recorded one."""

    file: str  # as recorded (repository-relative when inside the repository)
    old: str | None  # recorded sha256; None: not an input when the baseline was recorded
    new: str | None  # sha256 now; None: no longer an input (or gone)
    scenarios: tuple[str, ...] = ()  # recorded names of the scenarios that use it (none: model source)
    evidence: str = ""  # how the change was seen when not from recorded hashes (git)

    @property
    def how(self) -> str:
        """``changed``, ``added`` or ``removed``, in words."""
        if self.old is None:
            return "is a new input"
        if self.new is None:
            return "is no longer an input"
        return "changed"

    def describe(self) -> str:
        """E.g. ``data/calibrated/juno.toml changed since the baseline was recorded (sha256 a -> b)``."""
        seen = self.evidence or f"sha256 {(self.old or '-')[:12]} -> {(self.new or '-')[:12]}"
        return f"{self.file} {self.how} since the baseline was recorded ({seen})"


@dataclass
class Diagnosis:
    """What changed since the baseline was recorded, and the lines that say it."""

    recorded: bool  # the baseline holds file hashes (else only resolved-scenario hashes)
    inputs: list[InputChange]  # changed scenario files and files they extend, each once
    model: list[InputChange]  # changed model source files (empty when not recorded)
    resolved: dict[str, tuple[str, str]]  # scenario -> (recorded, current) resolved sha256, changed ones
    renamed: dict[str, str] = field(default_factory=dict)  # recorded name -> current name
    git_commit: str = ""  # without recorded file hashes: the commit git compared the files with (if any)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def cause(self, scenario: str) -> str:
        """The likely root cause of a failing metric of ``scenario`` (recorded name), in one phrase."""
        files = [c for c in self.inputs if scenario in c.scenarios]
        if files:
            return "; ".join(c.describe() for c in files)
        if scenario in self.resolved:
            return "the scenario resolves differently than recorded (its files did not change: schema defaults)" \
                if self.recorded else "the scenario resolves differently than recorded"
        if self.model:
            return model_phrase(self.model)
        if not self.recorded:
            return "no scenario changed (this baseline records no model source hashes: a model change?)"
        return "no recorded input changed (a library, the platform or code outside the model sources)"


def model_phrase(changes: Sequence[InputChange]) -> str:
    """``model source changed since the baseline was recorded: sim/model/a.py, ... (N files)``."""
    names = [c.file + ("" if c.how == "changed" else f" ({c.how})") for c in changes]
    listed = ", ".join(names[:MAX_LISTED]) + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
    return f"model source changed since the baseline was recorded: {listed}"


def compare_hashes(recorded: dict[str, str], now: dict[str, str]) -> list[tuple[str, str | None, str | None]]:
    """(file, recorded, current) for each file whose hash differs or that is in only one of the two."""
    return [(f, recorded.get(f), now.get(f)) for f in dict.fromkeys([*recorded, *now])
            if recorded.get(f) != now.get(f)]


def diagnose(baseline: Baseline, scenarios: Sequence[Scenario]) -> Diagnosis:
    """Compare the baseline's recorded hashes with ``scenarios`` (the recorded files loaded now)
    and their files; see the module docstring."""
    resolved, renamed = {}, {}
    for entry, sc in zip(baseline.scenarios, scenarios, strict=True):
        digest = scenario_hash(sc)
        if digest != entry.sha256:
            resolved[entry.name] = (entry.sha256, digest)
        if sc.scenario.name != entry.name:
            renamed[entry.name] = sc.scenario.name
    recorded = all(e.inputs is not None for e in baseline.scenarios)
    by_file: dict[str, tuple[str | None, str | None, list[str]]] = {}
    if recorded:
        for entry in baseline.scenarios:
            for f, old, new in compare_hashes(entry.inputs or {}, chain_hashes(entry.path, record_path)):
                by_file.setdefault(f, (old, new, []))[2].append(entry.name)
    inputs = [InputChange(f, old, new, tuple(names)) for f, (old, new, names) in by_file.items()]
    git_commit = ""  # only consulted for a baseline without file hashes whose scenarios changed
    if not recorded and resolved and baseline.directory is not None:
        inputs, git_commit = git_changes(baseline, baseline.directory / MANIFEST_FILE)
    model = ([InputChange(f, old, new) for f, old, new in compare_hashes(baseline.model_sources, model_source_hashes())]
             if baseline.model_sources is not None else [])
    d = Diagnosis(recorded, inputs, model, resolved, renamed, git_commit=git_commit)
    d.warnings = warning_lines(d, baseline)
    d.notes = [model_phrase(model)] if model else []
    return d


def git_changes(baseline: Baseline, manifest: Path) -> tuple[list[InputChange], str]:
    """The scenario files (and files they extend) that differ from their version at the commit that
    last changed ``manifest``, and that commit; ``([], "")`` when git, the history or a clean
    committed manifest is missing."""
    chains = {e.name: extends_chain(e.path) for e in baseline.scenarios}
    files = list(dict.fromkeys(p for chain in chains.values() for p in chain))
    git = shutil.which("git")
    if git is None:
        return [], ""

    def run(*args: str) -> str:
        return subprocess.run([git, "-C", str(manifest.parent), *args], capture_output=True, text=True,
                              check=True, timeout=GIT_TIMEOUT).stdout.strip()

    try:
        if run("status", "--porcelain", "--", manifest.name):
            return [], ""  # re-recorded and not committed: its commit is not the recording's
        commit = run("log", "-1", "--format=%H", "--", manifest.name)
        if not commit:
            return [], ""
        top = Path(run("rev-parse", "--show-toplevel")).resolve()
        inside = [str(f) for f in files if f.is_relative_to(top)]  # git refuses paths outside its checkout
        changed = {(top / line).resolve() for line in run("diff", "--name-only", commit, "--", *inside).splitlines()}
    except (OSError, subprocess.SubprocessError):
        return [], ""
    evidence = f"git: differs from commit {commit[:12]}, where {manifest.name} was last changed"
    return [InputChange(record_path(f), "", "", tuple(s for s, chain in chains.items() if f in chain), evidence)
            for f in files if f in changed], commit


def warning_lines(d: Diagnosis, baseline: Baseline) -> list[str]:
    """One line per changed input file, per scenario changed for no file's reason, or (a baseline
    without file hashes) one line for all changed scenarios."""
    hint = f"if intended, re-record the baseline with `{UPDATE_COMMAND}`"
    files = {e.name: e.file for e in baseline.scenarios}
    lines = []
    for c in d.inputs:
        affected = [s for s in c.scenarios if s in d.resolved]
        effect = (f"scenarios it feeds: {', '.join(c.scenarios)}" if affected
                  else f"comments or layout only: {', '.join(c.scenarios)} resolve as recorded")
        lines.append(f"{c.describe()}; {effect}; {hint}")
    explained = {s for c in d.inputs for s in c.scenarios}
    unexplained = [s for s in d.resolved if s not in explained]
    if d.recorded or len(unexplained) == 1:
        for s in unexplained:
            old, new = d.resolved[s]
            why = " though none of its files changed (the scenario schema's defaults?)" if d.recorded else ""
            lines.append(f"{files[s]}: scenario changed since the baseline was recorded (sha256 {old[:12]} -> "
                         f"{new[:12]}{rename(d, s)}){why}; {hint}")
    elif unexplained:
        named = ", ".join(files[s] + rename(d, s) for s in unexplained)
        why = (f"none of their files differs from commit {d.git_commit[:12]} (git), where the baseline was last "
               f"recorded: the scenario schema's defaults changed?" if d.git_commit else
               f"the baseline records no file hashes, so the changed file cannot be named"
               f"{shared_files(baseline, unexplained)}")
        lines.append(f"{len(unexplained)} of {len(files)} scenarios changed since the baseline was recorded "
                     f"({named}); {why}; {hint}")
    return lines


def rename(d: Diagnosis, scenario: str) -> str:
    """``; renamed 'a' -> 'b'`` when the scenario's name changed, else empty."""
    return f"; renamed {scenario!r} -> {d.renamed[scenario]!r}" if scenario in d.renamed else ""


def shared_files(baseline: Baseline, changed: Sequence[str]) -> str:
    """The files every changed scenario uses now and no unchanged one does, as a clause (or empty)."""
    chains = {e.name: set(chain_hashes(e.path, record_path)) for e in baseline.scenarios}
    common = set.intersection(*(chains[s] for s in changed))
    unchanged = set().union(*(chains[s] for s in chains if s not in changed))
    likely = sorted(common - unchanged)
    if likely:
        return f"; likely {' or '.join(likely)} (every changed scenario uses it, no unchanged one does)"
    return f"; files all of them use: {', '.join(sorted(common))}" if common else ""

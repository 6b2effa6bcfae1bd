"""Content hashes of a baseline's inputs: each scenario file and every file it ``extends``, and the
model's source code (the packages whose code decides a replication's metrics).

A baseline records them (:mod:`sim.baseline.manifest`) so that a check that fails or warns can name
the file that changed (:mod:`sim.baseline.causes`) instead of only seeing that a resolved scenario
differs. Hashes are sha256 of the files' bytes.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # sim/
# What decides a replication's metrics: the engine, the world, the policies, the scenario schema
# (its defaults), the composition root and the metrics (sim/runs). Paths relative to the package.
MODEL_SOURCES: tuple[str, ...] = ("engine", "model", "policies", "scenario", "runs", "simulate.py")
EXTENDS_MAX_FILES = 64  # a guard: load_scenario refuses chains deeper than 32 before we get here


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, as 64 hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def extends_chain(path: str | Path) -> list[Path]:
    """The scenario file and every file it ``extends``, directly or not, nearest first (resolved paths).

    Call it on a file :func:`sim.scenario.load_scenario` has accepted: a file of the chain that
    cannot be read ends the chain.
    """
    chain = [Path(path).resolve()]
    while len(chain) < EXTENDS_MAX_FILES:
        try:
            base = tomllib.loads(chain[-1].read_text(encoding="utf-8")).get("extends")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            break
        if not isinstance(base, str):
            break
        nxt = (chain[-1].parent / base).resolve()
        if nxt in chain:
            break
        chain.append(nxt)
    return chain


def chain_hashes(path: str | Path, name: Callable[[Path], str]) -> dict[str, str]:
    """``{name(file): sha256}`` for the scenario file and every file it extends, nearest first."""
    return {name(p): file_sha256(p) for p in extends_chain(path) if p.is_file()}


def model_source_hashes(package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    """``{"sim/...py": sha256}`` for every Python file of :data:`MODEL_SOURCES`, sorted by name."""
    files: list[Path] = []
    for entry in MODEL_SOURCES:
        p = package_dir / entry
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.is_file() else [])
    return {f"sim/{f.relative_to(package_dir).as_posix()}": file_sha256(f) for f in sorted(files)}

"""The optional compiled build (``make fast``) and its guard against stale extension modules.

``make fast`` compiles :data:`MODULES` with mypyc into extension modules next to their sources
(``sim/model/gate.cpython-311-x86_64-linux-gnu.so`` beside ``sim/model/gate.py``, plus one shared
library ``sim/_fast__mypyc...so``) and records the SHA-256 of every compiled source in
:data:`MANIFEST`. Python then imports the extensions instead of the sources. The results are the
same, bit for bit (``tests/test_compiled.py`` checks it when a build is present); only the speed
differs.

An extension built from an older source would silently run the old code, so ``import sim`` checks,
whenever an extension is present, that every compiled source still has its recorded hash, and
fails with the command that rebuilds (``make fast``) or removes (``make clean-fast``) the build.
``DRIVERSPLIT_PURE=1`` ignores the extensions and runs the Python sources (the test suite does,
to test the sources; it compares the two builds in a subprocess).

This module imports nothing from ``sim``: ``setup.py`` loads it by path to know what to compile.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent  # the directory that holds the ``sim`` package
MANIFEST = Path(__file__).resolve().parent / "_compiled_manifest.json"
GROUP = "sim._fast"  # mypyc's shared library: sim/_fast__mypyc.<abi>.so
PURE_ENV = "DRIVERSPLIT_PURE"
REBUILD = "run `make fast` to rebuild it, or `make clean-fast` to remove it and run the Python sources"

# The modules that run per engine event, as paths relative to ROOT. Compiled together (calls between
# them are native). The policies are included: the lifecycle calls their hooks on every step.
MODULES: tuple[str, ...] = (
    "sim/engine/clock.py",
    "sim/engine/rng.py",
    "sim/engine/workweek.py",
    "sim/model/arrivals.py",
    "sim/model/change.py",
    "sim/model/ci.py",
    "sim/model/gate.py",
    "sim/model/lifecycle.py",
    "sim/model/policy.py",
    "sim/model/queue.py",
    "sim/model/records.py",
    "sim/model/review.py",
    "sim/model/reviewers.py",
    "sim/model/world.py",
    "sim/policies/features.py",
    "sim/policies/lieutenants.py",
    "sim/policies/runways.py",
    "sim/policies/split.py",
    "sim/policies/sponsorship.py",
)


def module_name(path: str) -> str:
    """``sim/model/gate.py`` -> ``sim.model.gate``."""
    return path.removesuffix(".py").replace("/", ".")


def source_hashes(root: Path = ROOT, modules: Sequence[str] = MODULES) -> dict[str, str]:
    """SHA-256 of each compiled source, by relative path."""
    return {path: hashlib.sha256((root / path).read_bytes()).hexdigest() for path in modules}


def write_manifest(root: Path = ROOT) -> None:
    """Record the hashes of the sources being compiled (called by ``setup.py`` when it compiles)."""
    manifest = {"sources": source_hashes(root)}
    (root / "sim" / MANIFEST.name).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def extensions(root: Path = ROOT) -> list[Path]:
    """The extension modules of a compiled build present for this interpreter."""
    stems = [root / path.removesuffix(".py") for path in MODULES]
    stems.append(root / (GROUP.replace(".", "/") + "__mypyc"))
    candidates = [stem.with_name(stem.name + suffix) for stem in stems for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    return [path for path in candidates if path.exists()]


def stale_sources(root: Path = ROOT) -> list[str]:
    """Compiled sources whose hash differs from the manifest's (all of them if there is none)."""
    try:
        recorded = json.loads((root / "sim" / MANIFEST.name).read_text(encoding="utf-8"))["sources"]
    except (OSError, ValueError, KeyError):
        return list(MODULES)
    return [path for path, digest in source_hashes(root).items() if recorded.get(path) != digest]


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Imports the compiled modules from their ``.py`` sources (``DRIVERSPLIT_PURE=1``)."""

    def __init__(self, root: Path) -> None:
        self.paths = {module_name(path): root / path for path in MODULES}

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        source = self.paths.get(fullname)
        return importlib.util.spec_from_file_location(fullname, source) if source is not None else None


def pure_requested() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def guard(root: Path = ROOT) -> None:
    """Called on ``import sim``: refuse a stale compiled build; honour ``DRIVERSPLIT_PURE``."""
    if pure_requested():
        if not any(isinstance(finder, _SourcesFirst) for finder in sys.meta_path):
            sys.meta_path.insert(0, _SourcesFirst(root))
        return
    if not extensions(root):
        return
    stale = stale_sources(root)
    if stale:
        raise ImportError(
            f"the compiled build of driversplit is stale: {', '.join(stale)} changed since it was compiled; {REBUILD}"
        )


def compiled() -> bool:
    """Whether the model runs from the compiled extension modules (imports ``sim.model.world``)."""
    import sim.model.world

    return not (sim.model.world.__file__ or "").endswith(".py")

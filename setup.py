"""Packaging shim: the metadata is in pyproject.toml.

A built package (wheel, non-editable install) carries the repository's ``data/`` as package data in
``sim/_data/`` (``sim.paths`` finds it there outside a clone); an editable install reads ``data/``
in place.

With ``DRIVERSPLIT_COMPILE=1`` (``make fast``), the model's hot modules (``sim._compiled.MODULES``)
are also compiled with mypyc into extension modules; without it, nothing is compiled and the
package is pure Python.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PACKAGED_DATA = Path("sim") / "_data"  # sim.paths.PACKAGED


class build_py_with_data(build_py):
    """build_py, plus a copy of data/ into the built package (not for editable installs, which read data/)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / PACKAGED_DATA
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / "data", target, ignore=shutil.ignore_patterns("__pycache__", ".*"))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        data = ROOT / "data"
        return outputs + [str(Path(self.build_lib) / PACKAGED_DATA / p.relative_to(data))
                          for p in sorted(data.rglob("*")) if p.is_file() and not p.name.startswith(".")]


def compiled_extensions() -> list[Any]:
    """mypyc's extension modules for sim._compiled.MODULES, and their manifest of source hashes."""
    from mypyc.build import mypycify

    spec = importlib.util.spec_from_file_location("_driversplit_compiled", ROOT / "sim" / "_compiled.py")
    assert spec is not None and spec.loader is not None
    compiled = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compiled)  # by path: importing sim would run its guard against this very build
    compiled.write_manifest(ROOT)
    return mypycify(
        ["--ignore-missing-imports", *compiled.MODULES],
        opt_level="3",
        group_name=compiled.GROUP,
    )


setup(
    ext_modules=compiled_extensions() if os.environ.get("DRIVERSPLIT_COMPILE") == "1" else [],
    cmdclass={"build_py": build_py_with_data},
)

"""Packaging shim: the metadata is in pyproject.toml.

With ``DRIVERSPLIT_COMPILE=1`` (``make fast``), the model's hot modules (``sim._compiled.MODULES``)
are also compiled with mypyc into extension modules; without it, nothing is compiled and the
package is pure Python.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from setuptools import setup

ROOT = Path(__file__).resolve().parent


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


setup(ext_modules=compiled_extensions() if os.environ.get("DRIVERSPLIT_COMPILE") == "1" else [])

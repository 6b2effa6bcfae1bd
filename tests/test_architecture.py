"""The house's rules (issue 13), checked on the sources: imports flow one way (import-linter's
contracts in pyproject.toml), no module imports another's private (underscore) names, and only
the clock touches SimPy's internals."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from simtest import ROOT

SIM = ROOT / "sim"
SIMPY_INTERNALS = {"_now", "_queue", "_eid"}
CLOCK = {SIM / "engine" / "clock.py", SIM / "engine" / "environment.py"}  # the clock and its SimPy environment


def sources() -> list[Path]:
    return sorted(SIM.rglob("*.py"))


def test_imports_follow_the_layers_and_have_no_circles() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" not in proc.stdout.lower().replace("0 broken", "")


def test_no_module_imports_another_modules_private_names() -> None:
    found = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim"):
                found += [f"{path.relative_to(ROOT)}: from {node.module} import {alias.name}"
                          for alias in node.names if alias.name.startswith("_") and node.module != "sim._compiled"]
    assert found == []


def test_only_the_clock_touches_simpy_internals() -> None:
    found = []
    for path in sources():
        if path in CLOCK:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in SIMPY_INTERNALS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
    assert found == []

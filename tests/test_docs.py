"""The documentation is generated or checked, never left to drift."""

from __future__ import annotations

import re
from pathlib import Path

from sim.scenario.table import END, START, parameter_table

ROOT = Path(__file__).resolve().parents[1]


def test_model_md_parameter_table_is_generated_from_the_schema() -> None:
    text = (ROOT / "MODEL.md").read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == parameter_table(), "run: python -m sim params --update MODEL.md"


def test_every_schema_parameter_has_unit_and_source() -> None:
    rows = [line.split(" | ") for line in parameter_table().splitlines()[2:]]
    missing = [row[0] for row in rows if not row[1].strip() or not row[4].strip()]
    assert not missing, f"parameters without unit or source: {missing}"


def test_readme_opens_with_the_two_commands_and_the_makefile_has_them() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make figures", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^figures:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci

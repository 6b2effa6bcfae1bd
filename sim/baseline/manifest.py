"""``baseline.json``: what a baseline ran, validated by pydantic.

The manifest records the scenario files (repository-relative when inside the repository) with
the sha256 of each resolved scenario, the overrides, root seed and replication count, the
checked metrics and areas, the confidence level of the stored intervals, the family-wise error
rate of the check (:mod:`sim.baseline.check`) and the package versions. It holds no timestamp and
no run time, so re-recording the same baseline writes the same bytes.

Since the check names changed inputs (:mod:`sim.baseline.causes`), each scenario entry also records
``inputs`` (the sha256 of the bytes of the scenario file and of every file it extends) and the
manifest ``model_sources`` (the sha256 of each model source file, :mod:`sim.baseline.inputs`).
Both are optional: a baseline recorded before has neither, is read as before (same format 1) and
checked with a coarser diagnosis; a manifest without them is written without them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import paths
from sim.baseline.inputs import chain_hashes
from sim.errors import InputError
from sim.scenario import Scenario

FORMAT = 1
UPDATE_COMMAND = "python -m sim check-baseline --update"
# The rule of sim.baseline.check in one line, for readers of baseline.json.
TEST_RULE = ("a metric moved when |new mean - stored mean| > t * sqrt(SE_stored^2 + SE_new^2), "
             "t: Student (Welch df), two-sided level family_wise_error_rate / (checked metrics) "
             "(Bonferroni)")


class BaselineError(InputError):
    """Bad input: a missing or malformed baseline directory (one line, naming the file)."""


class ScenarioEntry(BaseModel):
    """One recorded scenario: its file (as recorded), name, policy and resolved-scenario hash."""

    model_config = ConfigDict(frozen=True)

    file: str
    name: str
    policy: str
    sha256: str
    # sha256 of the bytes of this file and of each file it extends (recorded names); None: not recorded
    inputs: dict[str, str] | None = None

    @property
    def path(self) -> Path:
        """The recorded file as a path (see :func:`resolve_path`)."""
        return resolve_path(self.file)


class Manifest(BaseModel):
    """``baseline.json``'s content; the field order is the file's key order."""

    format: Literal[1] = FORMAT
    update_command: str = UPDATE_COMMAND
    seed: int = Field(ge=0)
    replications: int = Field(ge=1)
    overrides: list[str] = Field(default_factory=list)
    scenarios: list[ScenarioEntry] = Field(min_length=1)
    metrics: list[str]
    areas: list[str]
    confidence: float = Field(gt=0, lt=1)  # of the stored intervals
    family_wise_error_rate: float = Field(gt=0, lt=1)
    test: str = TEST_RULE
    versions: dict[str, str] = Field(default_factory=dict)
    model_sources: dict[str, str] | None = None  # sha256 of each model source file; None: not recorded

    @property
    def fwer(self) -> float:
        """The family-wise error rate of the check."""
        return self.family_wise_error_rate

    def to_json(self) -> str:
        """The file's text: two-space indented JSON and a final newline (ASCII, stable order)."""
        return json.dumps(self.model_dump(exclude_none=True), indent=2) + "\n"  # no null: old readers


def read_manifest(path: Path) -> Manifest:
    """Read and validate ``baseline.json``; :class:`BaselineError` (one line naming ``path``) otherwise."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: malformed JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BaselineError(f"{path}: malformed baseline manifest: expected a JSON object")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise BaselineError(f"{path}: malformed baseline manifest: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    """A pydantic error as one line: each problem as ``field: message``, joined by ``;``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"missing key {where!r}" if err["type"] == "missing" else f"{where}: {err['msg']}")
    return "; ".join(parts)


def scenario_hash(scenario: Scenario) -> str:
    """sha256 of the resolved scenario as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(scenario.to_toml_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scenario_entry(file: str | Path, scenario: Scenario) -> ScenarioEntry:
    """How ``scenario``, loaded from ``file``, is recorded."""
    return ScenarioEntry(file=record_path(file), name=scenario.scenario.name, policy=scenario.policy.name,
                         sha256=scenario_hash(scenario), inputs=chain_hashes(file, record_path))


def record_path(path: str | Path) -> str:
    """How a scenario file is recorded: ``data/...`` inside the data directory, relative to the
    repository inside it, else absolute (:func:`sim.paths.record_path`)."""
    return paths.record_path(path)


def resolve_path(recorded: str) -> Path:
    """A recorded scenario file as a path: ``data/...`` under the data directory, other relative
    ones under the repository (:func:`sim.paths.resolve_recorded`)."""
    return paths.resolve_recorded(recorded)

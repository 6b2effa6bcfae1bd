"""The optional compiled build (make fast): same records as the Python sources, and a stale build
refused. The comparison runs only when a build is present (``make test`` then also runs the model's
tests on the sources)."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from simtest import ROOT, SCENARIOS

from sim import _compiled
from sim.model.records import Records

REPLICATIONS = (0, 1)

# Prints a canonical form of the records of every scenario (floats exactly, as hex).
DIGEST = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import sim._compiled
from sim.simulate import simulate
from sim.scenario import load_scenario
sys.path.insert(0, sys.argv[2])
from test_compiled import canonical
out = {}
for path in sorted(Path(sys.argv[3]).glob("*.toml")):
    scenario = load_scenario(path)
    for r in (0, 1):
        out[f"{path.stem}/{r}"] = canonical(simulate(scenario, r))
print(json.dumps({"compiled": sim._compiled.compiled(), "records": out}))
"""


def canonical(records: Records) -> str:
    """The records as text that is equal exactly when every value is (floats bit for bit, nan == nan)."""

    def text(x: object) -> str:
        if isinstance(x, float):
            return x.hex()
        if isinstance(x, (list, tuple)):
            return "[" + ",".join(text(v) for v in x) + "]"
        if isinstance(x, dict):
            return "{" + ",".join(f"{text(k)}:{text(v)}" for k, v in sorted(x.items(), key=lambda kv: repr(kv[0]))) + "}"
        return f"{type(x).__name__}:{x!r}"

    gates = {name: (log.runs, log.resets, log.exits) for name, log in records.gates.items()}
    return text([records.changes, gates, records.reviewers, records.open_time_integral, records.extra,
                 records.sim_events, list(records.window)])


@pytest.mark.skipif(not _compiled.extensions(), reason="no compiled build (make fast)")
def test_compiled_build_gives_the_same_records_as_the_sources() -> None:
    """Both builds, each in a fresh interpreter, on every shipped scenario (whichever build this
    process runs)."""

    def digest(pure: bool) -> dict[str, object]:
        env = {k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV} | ({_compiled.PURE_ENV: "1"} if pure else {})
        run = subprocess.run([sys.executable, "-c", DIGEST, str(ROOT), str(Path(__file__).parent), str(SCENARIOS)],
                             env=env, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr[-2000:]
        return json.loads(run.stdout)

    compiled, sources = digest(pure=False), digest(pure=True)
    assert compiled["compiled"] and not sources["compiled"]
    assert compiled["records"].keys() == sources["records"].keys() and len(sources["records"]) >= 2 * 6
    for key, text in sources["records"].items():
        assert compiled["records"][key] == text, key


def test_a_stale_build_is_refused(tmp_path: Path) -> None:
    """A copy of the package with a fake extension module: importing it fails unless the manifest
    records the current sources, and DRIVERSPLIT_PURE=1 bypasses the check."""
    for path in _compiled.MODULES:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(f"# {path}\n", encoding="utf-8")
    fake = tmp_path / ("sim/model/gate" + importlib.machinery.EXTENSION_SUFFIXES[0])
    fake.write_bytes(b"")
    assert _compiled.extensions(tmp_path) == [fake]
    assert _compiled.stale_sources(tmp_path) == list(_compiled.MODULES)  # no manifest
    _compiled.write_manifest(tmp_path)
    assert _compiled.stale_sources(tmp_path) == []
    (tmp_path / "sim/model/queue.py").write_text("# edited\n", encoding="utf-8")
    assert _compiled.stale_sources(tmp_path) == ["sim/model/queue.py"]
    env = {k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV}
    check = (  # sim/_compiled.py loaded by path, so that the real package's own guard is not involved
        "import importlib.util, pathlib; "
        f"spec = importlib.util.spec_from_file_location('c', {str(Path(_compiled.__file__))!r}); "
        "c = importlib.util.module_from_spec(spec); spec.loader.exec_module(c); "
        f"c.guard(pathlib.Path({str(tmp_path)!r}))"
    )
    refused = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "make fast" in refused.stderr and "sim/model/queue.py" in refused.stderr
    bypassed = subprocess.run([sys.executable, "-c", check], env={**env, _compiled.PURE_ENV: "1"},
                              capture_output=True, text=True, check=False)
    assert bypassed.returncode == 0, bypassed.stderr

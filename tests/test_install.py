"""The built wheel works outside a clone (issue 16): it carries data/ as package data.

The wheel is built (``pip wheel --no-deps``) from a copy of the project's sources, installed with
``pip install --no-deps --target`` into a temporary directory, and every command runs from another
directory with ``PYTHONPATH`` naming only that target (the dependencies come from this interpreter's
site-packages; ``sim`` must come from the target, which is checked). Nothing here reads the
repository's data/: if a command found its data there, the check of ``sim.paths.data_dir()`` fails.

The figures and check-baseline runs take minutes on a loaded 2-core machine, so they are marked
``slow`` (CI still runs them; ``make test-fast`` does not).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "sim", "data")
SHORT = ("--set", "run.warmup_days=0")  # the shortest run the policy scenarios accept: no warm-up


@dataclass(frozen=True)
class Installed:
    target: Path  # where the wheel was installed (the only PYTHONPATH entry)
    cwd: Path  # an empty working directory outside the repository

    def run(self, *argv: str, timeout: float = 900, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        """``python ARGV`` in :attr:`cwd`, with only :attr:`target` on PYTHONPATH and no DRIVERSPLIT_* set
        but ``env``'s."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DRIVERSPLIT_")}
        environ.update(env or {}, PYTHONPATH=str(self.target))
        return subprocess.run([sys.executable, *argv], cwd=self.cwd, env=environ, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def sim(self, *argv: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        proc = self.run("-m", "sim", *argv, timeout=timeout)
        assert proc.returncode == 0, (argv, proc.stdout[-2000:], proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
        return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    for name in SOURCES:  # a copy: the in-tree build would write build/ and *.egg-info into the clone
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(src, source / name)
    wheels, target, cwd = base / "wheels", base / "target", base / "elsewhere"
    cwd.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    # No build isolation: this interpreter's setuptools builds it (no download during the tests).
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
                   check=True, cwd=base, timeout=600)
    [wheel] = wheels.glob("driversplit-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, cwd=base,
                   timeout=600)
    return Installed(target, cwd)


def test_the_default_pytest_run_includes_the_slow_tests() -> None:
    """CI runs `pytest` as configured: the slow tests here must not be deselected by default."""
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "slow" not in options.get("addopts", "")


def test_wheel_ships_the_data_and_sim_loads_from_the_target(installed: Installed) -> None:
    proc = installed.run("-c", "import json, sim, sim.paths as p; "
                               "print(json.dumps([sim.__file__, str(p.data_dir())]))")
    assert proc.returncode == 0, proc.stderr
    module, data = map(Path, json.loads(proc.stdout))
    assert module.is_relative_to(installed.target), module
    assert data == installed.target / "sim" / "_data"
    for name in ("scenarios/monolith.toml", "calibrated/juno.toml", "calibration/nova_template.toml",
                 "baseline/baseline.json", "baseline/summary.csv", "validation/kilo_core_cut.toml",
                 "nova/nova_changes.csv.gz", "nova/areas.toml"):
        assert (data / name).read_bytes() == (ROOT / "data" / name).read_bytes(), name


def test_version_and_help_from_the_installed_package(installed: Installed) -> None:
    version = installed.sim("--version").stdout.strip()
    from importlib.metadata import version as metadata_version

    assert version == f"driversplit {metadata_version('driversplit')}"
    assert "usage:" in installed.run("-m", "sim").stderr


def test_validate_finds_its_scenarios(installed: Installed) -> None:
    proc = installed.sim("validate", "--replications", "2", "--workers", "1")
    assert "Little's law" in proc.stdout


def test_data_summary_reads_the_shipped_history(installed: Installed) -> None:
    proc = installed.sim("data", "summary", "--cycle", "juno", "--bootstrap", "0")
    assert "juno:" in proc.stdout and "changes merged" in proc.stdout


def test_calibrate_reads_the_shipped_history(installed: Installed) -> None:
    """A fit takes many minutes; an unknown cycle is refused after the shipped history was read, and
    the refusal names the file it read."""
    proc = installed.run("-m", "sim", "calibrate", "--cycle", "nosuch", "--workers", "1")
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    shipped = installed.target / "sim" / "_data" / "nova" / "nova_changes.csv.gz"
    assert line.startswith(f"error: {shipped}: --cycle nosuch:") and "juno" in line, line


def test_shipped_baseline_names_the_shipped_scenarios(installed: Installed) -> None:
    """The full check re-runs 5 x 120 replications; here: each recorded scenario file resolves into the
    installed data and still has its recorded hash (what the check would otherwise warn about)."""
    code = ("import json, sim.paths as p\n"
            "from sim.baseline import load_baseline\n"
            "from sim.baseline.manifest import scenario_hash\n"
            "from sim.scenario import load_scenario\n"
            "b = load_baseline(p.BASELINE_DIR)\n"
            "print(json.dumps([[str(e.path), e.sha256 == scenario_hash(load_scenario(e.path))] for e in b.scenarios]))")
    proc = installed.run("-c", code)
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)
    assert len(entries) == 5
    for path, same in entries:
        assert Path(path).is_relative_to(installed.target / "sim" / "_data"), path
        assert same, path


def test_data_dir_option_then_environment_variable(installed: Installed, tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    for copy in (mine, other):
        shutil.copytree(ROOT / "data" / "scenarios", copy / "scenarios")
    proc = installed.run("-c", "import sim.paths as p; print(p.data_dir())", env={"DRIVERSPLIT_DATA": str(mine)})
    assert Path(proc.stdout.strip()) == mine.resolve(), proc.stderr
    proc = installed.run("-m", "sim", "-v", "--data-dir", str(other), "params", env={"DRIVERSPLIT_DATA": str(mine)})
    assert proc.returncode == 0, proc.stderr
    assert f"data directory {other.resolve()}" in proc.stderr  # the option wins over the variable
    proc = installed.run("-m", "sim", "--data-dir", str(tmp_path / "nowhere"), "validate")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "nowhere" in line and "--data-dir" in line and "scenarios/" in line


@pytest.mark.slow
def test_figures_from_another_directory(installed: Installed) -> None:
    proc = installed.sim("-q", "figures", "--replications", "2", "--sweep-replications", "2", "--workers", "2",
                         *SHORT, "--out", "figs")
    out = installed.cwd / "figs"
    assert (out / "figures.json").is_file() and (out / "fig1_time_to_merge.png").is_file()
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "`data/scenarios/monolith.toml`" in readme  # recorded as in a clone, wherever the data live
    assert "wrote figs/" in proc.stdout
    assert proc.stderr == ""  # -q: no progress lines, no notes


@pytest.mark.slow
def test_check_baseline_from_another_directory(installed: Installed) -> None:
    """Record a tiny baseline from the shipped policy scenarios, then check it: the recorded
    ``data/scenarios/*.toml`` resolve into the installed data."""
    installed.sim("check-baseline", "--update", "--baseline", "bl", "--replications", "2", *SHORT)
    manifest = json.loads((installed.cwd / "bl" / "baseline.json").read_text(encoding="utf-8"))
    assert [s["file"] for s in manifest["scenarios"]] == [
        f"data/scenarios/{name}.toml" for name in ("monolith", "runways", "lieutenants", "split", "sponsorship")]
    proc = installed.sim("check-baseline", "--baseline", "bl")
    assert "PASS" in proc.stdout

"""Where the project's own data live: the one place that resolves them.

The data directory (scenarios, calibrated, calibration, baseline, validation, nova) is, in order:

1. the directory given by ``--data-dir`` (:func:`use_data_dir`);
2. the environment variable ``DRIVERSPLIT_DATA``;
3. the repository's ``data/`` when ``sim`` runs from a clone (or an editable install);
4. the copy shipped inside the wheel as package data (``sim/_data/``, see setup.py).

``DATA``, ``SCENARIOS``, ``BASELINE_DIR``, ``BASELINE_SCENARIO``, ``MMC_SCENARIO`` and ``CASES_DIR``
are resolved when read (``paths.DATA``), so an option given on the command line is seen by every
command. Outputs are not here: they default to the current directory (results/, figures/).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from sim.errors import InputError

ROOT = Path(__file__).resolve().parents[1]  # the repository in a clone; site-packages when installed
DATA_ENV = "DRIVERSPLIT_DATA"
PACKAGED = "_data"  # the wheel's copy of data/, a directory of the sim package
# The governance comparison: the reference first, then each policy (data/scenarios/NAME.toml).
POLICY_SCENARIOS: tuple[str, ...] = ("monolith", "runways", "lieutenants", "split", "sponsorship")
# Recorded paths (baseline.json, reports) name data files as "data/...", wherever the directory is.
RECORDED_PREFIX = "data"

_chosen: Path | None = None


def use_data_dir(directory: str | Path | None) -> None:
    """Take ``directory`` as the data directory (``--data-dir``); None returns to the default order."""
    global _chosen
    _chosen = None if directory is None else _checked(Path(directory), "--data-dir")


def _checked(directory: Path, source: str) -> Path:
    if not (directory / "scenarios").is_dir():
        raise InputError(f"{directory}: {source}: not a driversplit data directory (it must hold scenarios/, "
                         "as the repository's data/ does)")
    return directory.resolve()


def data_dir() -> Path:
    """The data directory, in the order of the module's docstring."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get(DATA_ENV)
    if env:
        return _checked(Path(env), DATA_ENV)
    clone = ROOT / "data"
    if (clone / "scenarios").is_dir() and (ROOT / "pyproject.toml").is_file():
        return clone
    packaged = Path(str(resources.files("sim") / PACKAGED))
    if (packaged / "scenarios").is_dir():
        return packaged
    raise InputError(f"{packaged}: no data directory: this installation ships none; give --data-dir DIR or set "
                     f"{DATA_ENV} to a copy of the repository's data/")


_UNDER_DATA = {
    "DATA": (),
    "SCENARIOS": ("scenarios",),
    "BASELINE_DIR": ("baseline",),
    "BASELINE_SCENARIO": ("scenarios", "monolith.toml"),
    "MMC_SCENARIO": ("scenarios", "mmc.toml"),
    "CASES_DIR": ("validation",),  # the natural-experiment registry (sim validate cases)
    "CALIBRATION": ("calibration",),
    "CALIBRATED": ("calibrated",),
    "NOVA_CHANGES": ("nova", "nova_changes.csv.gz"),
}


def __getattr__(name: str) -> Path:
    """``paths.DATA`` and the other data paths, resolved now (PEP 562)."""
    if name in _UNDER_DATA:
        return data_dir().joinpath(*_UNDER_DATA[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def record_path(path: str | Path) -> str:
    """How a file is recorded: ``data/...`` inside the data directory, relative to the repository
    inside it, else absolute (POSIX separators)."""
    p = Path(path).resolve()
    for base, prefix in ((data_dir(), Path(RECORDED_PREFIX)), (ROOT, Path())):
        if p.is_relative_to(base):
            return (prefix / p.relative_to(base)).as_posix()
    return p.as_posix()


def resolve_recorded(recorded: str | Path) -> Path:
    """A path written by :func:`record_path` as a path: ``data/...`` under the data directory,
    other relative paths under the repository."""
    p = Path(recorded)
    if p.is_absolute():
        return p
    if p.parts[:1] == (RECORDED_PREFIX,):
        return data_dir().joinpath(*p.parts[1:])
    return ROOT / p

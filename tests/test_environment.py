"""environment.yml and requirements/ci.lock against pyproject.toml (issue 16).

Every dependency of pyproject.toml and of the extras ``make test`` installs (test, notebooks, dask;
the Makefile's EXTRAS) appears in environment.yml and is pinned in the CI lock, by normalized name
(PEP 503: case and ``-_.`` runs folded; extras such as ``[distributed]`` dropped).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
TEST_EXTRAS = ("test", "notebooks", "dask")  # the Makefile's EXTRAS: what `make test` installs
LOCKED_EXTRAS = (*TEST_EXTRAS, "fast")  # .ci/run also runs `make fast`
# A pyproject requirement's extras are separate packages on conda-forge.
CONDA_EXTRAS = {("dask", "distributed"): "distributed"}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def required(extras: tuple[str, ...]) -> dict[str, Requirement]:
    """Normalized name -> requirement, for the core dependencies and ``extras`` (self-references skipped)."""
    project = pyproject()
    texts = list(project["dependencies"])
    for extra in extras:
        texts += project["optional-dependencies"][extra]
    reqs = [Requirement(t) for t in texts]
    return {canonicalize_name(r.name): r for r in reqs if canonicalize_name(r.name) != canonicalize_name(project["name"])}


def conda_names() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    names = set()
    for item in env["dependencies"]:
        if isinstance(item, str):
            names.add(canonicalize_name(re.split(r"[<>=!~ \[]", item, maxsplit=1)[0]))
    return names


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "ci.lock").read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            name, _, version = text.partition("==")
            assert version, f"requirements/ci.lock: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_the_makefile_installs_the_extras_checked_here() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    [extras] = re.findall(r"^EXTRAS\s*\?=\s*(\S+)", makefile, flags=re.MULTILINE)
    assert tuple(extras.split(",")) == TEST_EXTRAS


@pytest.mark.parametrize("extra", ["core", *TEST_EXTRAS])
def test_environment_yml_lists_every_dependency(extra: str) -> None:
    reqs = required(()) if extra == "core" else {k: v for k, v in required((extra,)).items()
                                                 if k not in required(())}
    names = conda_names()
    missing = sorted(name for name in reqs if name not in names)
    missing += sorted(CONDA_EXTRAS[(name, e)] for name, r in reqs.items() for e in r.extras
                      if (name, e) in CONDA_EXTRAS and CONDA_EXTRAS[(name, e)] not in names)
    assert not missing, f"environment.yml lacks {extra} dependencies: {', '.join(missing)}"


def test_ci_lock_pins_every_dependency_within_its_range() -> None:
    pins = locked()
    problems = []
    for name, req in required(LOCKED_EXTRAS).items():
        if name not in pins:
            problems.append(f"{name} not pinned")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}=={pins[name]} outside {req.specifier}")
        problems += [f"{e} (extra of {name}) not pinned" for e in req.extras
                     if (name, e) in CONDA_EXTRAS and CONDA_EXTRAS[(name, e)] not in pins]
    assert not problems, "requirements/ci.lock (refresh: make lock): " + "; ".join(problems)


def test_packages_on_their_way_into_pyproject_are_locked_and_listed() -> None:
    """pyarrow (core) is locked and in environment.yml before pyproject.toml names it."""
    assert "pyarrow" in locked() and "pyarrow" in conda_names()
    assert {"dask", "distributed"} <= set(locked()) & conda_names()


def test_ci_installs_with_the_lock() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "CONSTRAINTS=requirements/ci.lock" in ci
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--constraint $(CONSTRAINTS)" in makefile

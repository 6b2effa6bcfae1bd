"""Every notebook runs headless: jupytext (py:percent) -> .ipynb -> papermill, with CI-sized parameters.

The ``notebooks/*.py`` files are the source of truth (the ``.ipynb`` are not committed). Each test
converts one into a temporary notebook and executes it with papermill on the ``python3`` kernel in
a temporary directory; the notebook's own asserts check the numbers it shows, so a failed assert
fails the test with the cell's traceback. Skipped, with the reason, when the ``notebooks`` extra
(jupytext, papermill, ipykernel, ipywidgets, SALib) is not installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
REQUIRED = ("jupytext", "papermill", "nbformat", "ipykernel", "ipywidgets", "SALib")
MISSING = [name for name in REQUIRED if importlib.util.find_spec(name) is None]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(MISSING), reason=f"the notebooks extra is not installed (missing: {', '.join(MISSING)}); "
                                             "pip install -e '.[notebooks]'"),
]

# Small sizes for CI (each notebook well under a minute or two on two cores). The notebooks'
# defaults are the same, except 04's warm-up: its default is the scenario's own (182 days), CI's is
# 60 days, which also runs (and checks) the notebook's measurement of the short warm-up's bias. They
# are repeated here so that raising a default for a study does not slow CI.
CI_PARAMETERS: dict[str, dict[str, object]] = {
    "01_nova_history": {"CYCLE": "juno", "N_BOOT": 200},
    # FIT "run": always exercise the whole pipeline (fit, check, sensitivity, prediction), never stale tables.
    "02_calibration": {"FIT": "run", "FIT_BUDGET": 0, "FIT_REPLICATIONS": 1, "CHECK_REPLICATIONS": 2,
                       "PREDICT_CYCLE": "kilo", "PREDICT_REPLICATIONS": 2, "WORKERS": 2},
    "03_policy_comparison": {"REPLICATIONS": 3, "WORKERS": 2},
    "04_what_if": {"REPLICATIONS": 3, "WARMUP_DAYS": 60.0, "CORES": 15, "WORKERS": 2},
    # 05 reads the committed study by default; CI reruns one at smoke size (350 short replications).
    "05_sensitivity": {"RERUN": True, "TRAJECTORIES": 2, "SOBOL_N": 2, "SOBOL_FACTORS": 2, "REPLICATIONS": 1,
                       "WARMUP_DAYS": 0.0, "WORKERS": 2},
}


def _parameters_cell(notebook):  # an nbformat NotebookNode
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged 'parameters', found {len(cells)}"
    return cells[0]


def test_every_notebook_has_ci_parameters() -> None:
    assert NOTEBOOKS, "no notebooks/*.py found"
    assert sorted(CI_PARAMETERS) == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_parses(source: Path) -> None:
    """papermill reads every assignment of the parameters cell (a comment with '=' breaks its parser)."""
    import jupytext
    from papermill.translators import PythonTranslator

    cell = _parameters_cell(jupytext.read(source))
    assignments = [line for line in cell.source.splitlines() if line and not line.startswith((" ", "#", ")", "]"))]
    parsed = {p.name for p in PythonTranslator.inspect(cell)}
    assert len(parsed) == len(assignments), f"papermill parsed {sorted(parsed)} from {assignments}"
    assert set(CI_PARAMETERS[source.stem]) <= parsed, "CI passes a parameter the notebook does not declare"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(source: Path, tmp_path: Path) -> None:
    import jupytext
    import papermill

    notebook = tmp_path / f"{source.stem}.ipynb"
    jupytext.write(jupytext.read(source), notebook)
    papermill.execute_notebook(
        str(notebook), str(tmp_path / f"{source.stem}.out.ipynb"), parameters=CI_PARAMETERS[source.stem],
        kernel_name="python3", cwd=str(tmp_path), progress_bar=False, execution_timeout=900,
    )

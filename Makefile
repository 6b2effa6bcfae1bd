# driversplit: `make figures` (main job: the calibrated policy comparison and every figure) and
# `make test` (what CI runs). Both create .venv with the project's dependencies when it is
# missing or pyproject.toml (or the CONSTRAINTS file) changed.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
EXTRAS  ?= test,notebooks,dask
WORKERS ?= 2
# A pip constraints file pinning every package (CI: CONSTRAINTS=requirements/ci.lock, see .ci/run);
# empty (the default) installs the newest versions pyproject.toml allows.
CONSTRAINTS ?=
PIP_INSTALL := $(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),--constraint $(CONSTRAINTS))
# Extra arguments of `jupyter lab` (make notebooks JUPYTER_ARGS="--no-browser --port 8899").
JUPYTER_ARGS ?=
UV      ?= uv

.PHONY: figures report run test test-fast calibrate baseline validate bench params notebooks lock \
        clean-results fast clean-fast sensitivity

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -e ".[$(EXTRAS)]"
	touch $(STAMP)

# Main job: the five calibrated policy scenarios with common random numbers, the sweeps, figures/.
figures: $(STAMP)
	$(BIN)/python -m sim figures --workers $(WORKERS)

run: figures

# The self-contained HTML report of figures/ (no simulation) and its screenshot (headless Chromium).
report: $(STAMP)
	$(BIN)/python -m sim report --figures figures --out report --screenshot figures/report.png

# The model's own tests, run a second time on the Python sources when a compiled build is present.
MODEL_TESTS := tests/test_world.py tests/test_review.py tests/test_gate.py tests/test_policies.py tests/test_split_costs.py tests/test_engagement.py \
               tests/test_split_adoption.py tests/test_nodes.py tests/test_author_response.py \
               tests/test_workweek.py tests/test_rng.py tests/test_theory.py tests/test_clock.py

# Unit tests (including every notebook, executed headless) on whichever build `import sim` loads
# (compiled after `make fast`), the model's tests on the sources too, and the baseline regression check.
test: $(STAMP)
	$(BIN)/python -m pytest -q
	@if $(BIN)/python -c "import sys, sim._compiled as c; sys.exit(0 if c.compiled() else 1)"; then \
	    echo "the model's tests again, on the Python sources:"; \
	    DRIVERSPLIT_PURE=1 $(BIN)/python -m pytest -q $(MODEL_TESTS); fi
	$(BIN)/python -m sim check-baseline --workers $(WORKERS)

# Unit tests only, for a quick check while editing: skips the tests marked slow (the notebooks,
# the installed-wheel figures and check-baseline runs, the longer statistical and calibration tests),
# the second pass on the Python sources and the baseline regression check. CI runs `make test`.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Fit Juno (data/calibrated/juno.toml + juno.md, figures/calibration_juno.*), then predict Kilo, and
# Icehouse and Liberty for the natural experiments of data/validation/ (scenario + .md only).
calibrate: $(STAMP)
	$(BIN)/python -m sim calibrate --write --cycle juno --budget 400 --replications 8 --check-replications 12 \
	    --workers $(WORKERS)
	$(BIN)/python -m sim calibrate --write --cycle kilo --predict-from data/calibrated/juno.toml \
	    --changes data/calibration/kilo_changes.toml --check-replications 10 --workers $(WORKERS)
	for cycle in icehouse liberty; do \
	    $(BIN)/python -m sim calibrate --cycle $$cycle --predict-from data/calibrated/juno.toml \
	        --changes data/calibration/$${cycle}_changes.toml --out data/calibrated/$$cycle.toml \
	        --check-replications 10 --workers $(WORKERS) || exit 1; done

# Accept the current results of the calibrated scenarios as the CI baseline.
baseline: $(STAMP)
	$(BIN)/python -m sim check-baseline --update --workers $(WORKERS)

# The committed sensitivity study: Morris over every factor of data/ensemble.toml, then Sobol on the top ones
# (data/sensitivity/, figures/sensitivity.*; README "Sensitivity study" gives its cost). Resumes from the cache.
SENSITIVITY_CACHE ?= results/cache
sensitivity: $(STAMP)
	$(BIN)/python -m sim sensitivity --sobol-factors 2 --workers $(WORKERS) --cache $(SENSITIVITY_CACHE) --out data/sensitivity \
	    --figures figures

validate: $(STAMP)
	$(BIN)/python -m sim validate

bench: $(STAMP)
	$(BIN)/python -m sim bench

# Optional: compile the model's hot modules with mypyc (same results, ~2.5x faster; sim/_compiled.py).
# `import sim` refuses a build older than its sources: rerun `make fast` after editing them.
fast: $(STAMP)
	$(PIP_INSTALL) -e ".[fast]"
	DRIVERSPLIT_COMPILE=1 $(BIN)/python setup.py build_ext --inplace
	$(BIN)/python -m sim bench

clean-fast:
	rm -rf build
	find sim -name '*.so' -delete -o -name '*.pyd' -delete
	rm -f sim/_compiled_manifest.json

params: $(STAMP)
	$(BIN)/python -m sim params

# Jupyter refuses to run as root without --allow-root (containers, CI): added when uid is 0.
notebooks: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(JUPYTER_ARGS) notebooks/

# Refresh the CI lock (requirements/ci.lock) after a dependency changes in pyproject.toml or
# requirements/ci.in; needs uv (pip install uv). Existing pins are kept where they still fit.
lock:
	$(UV) pip compile pyproject.toml requirements/ci.in --extra test --extra notebooks --extra dask --extra fast \
	    --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --annotation-style line \
	    --custom-compile-command "make lock" -o requirements/ci.lock

clean-results:
	rm -rf results

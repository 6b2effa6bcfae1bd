# driversplit: `make figures` (main job: the calibrated policy comparison and every figure) and
# `make test` (what CI runs). Both create .venv with the project's dependencies when it is
# missing or pyproject.toml changed.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
EXTRAS  ?= test,notebooks,dask
WORKERS ?= 2

.PHONY: figures run test calibrate baseline validate bench params notebooks clean-results fast clean-fast

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

# Main job: the five calibrated policy scenarios with common random numbers, the sweeps, figures/.
figures: $(STAMP)
	$(BIN)/python -m sim figures --workers $(WORKERS)

run: figures

# The model's own tests, run a second time on the Python sources when a compiled build is present.
MODEL_TESTS := tests/test_world.py tests/test_review.py tests/test_gate.py tests/test_policies.py \
               tests/test_workweek.py tests/test_rng.py tests/test_theory.py

# Unit tests (including every notebook, executed headless) on whichever build `import sim` loads
# (compiled after `make fast`), the model's tests on the sources too, and the baseline regression check.
test: $(STAMP)
	$(BIN)/python -m pytest -q
	@if $(BIN)/python -c "import sys, sim._compiled as c; sys.exit(0 if c.compiled() else 1)"; then \
	    echo "the model's tests again, on the Python sources:"; \
	    DRIVERSPLIT_PURE=1 $(BIN)/python -m pytest -q $(MODEL_TESTS); fi
	$(BIN)/python -m sim check-baseline --workers $(WORKERS)

# Fit Juno (data/calibrated/juno.toml + juno.md, figures/calibration_juno.*), then predict Kilo.
calibrate: $(STAMP)
	$(BIN)/python -m sim calibrate --write --cycle juno --budget 250 --replications 8 --check-replications 12 \
	    --workers $(WORKERS)
	$(BIN)/python -m sim calibrate --write --cycle kilo --predict-from data/calibrated/juno.toml \
	    --changes data/calibration/kilo_changes.toml --check-replications 10 --workers $(WORKERS)

# Accept the current results of the calibrated scenarios as the CI baseline.
baseline: $(STAMP)
	$(BIN)/python -m sim check-baseline --update --workers $(WORKERS)

validate: $(STAMP)
	$(BIN)/python -m sim validate

bench: $(STAMP)
	$(BIN)/python -m sim bench

# Optional: compile the model's hot modules with mypyc (same results, ~2.5x faster; sim/_compiled.py).
# `import sim` refuses a build older than its sources: rerun `make fast` after editing them.
fast: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[fast]"
	DRIVERSPLIT_COMPILE=1 $(BIN)/python setup.py build_ext --inplace
	$(BIN)/python -m sim bench

clean-fast:
	rm -rf build
	find sim -name '*.so' -delete -o -name '*.pyd' -delete
	rm -f sim/_compiled_manifest.json

params: $(STAMP)
	$(BIN)/python -m sim params

notebooks: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean-results:
	rm -rf results

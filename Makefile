# driversplit: `make run` (main job: policy comparison figures) and `make test` (test suite).
# Both create .venv with the project's dependencies when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EXTRAS ?= test

.PHONY: run test validate bench params clean-results

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

# Main job. Until the policy comparison lands, the baseline scenario with 20 replications.
run: $(STAMP)
	$(BIN)/python -m sim run data/scenarios/monolith.toml --replications 20 --workers 2

test: $(STAMP)
	$(BIN)/python -m pytest -q

validate: $(STAMP)
	$(BIN)/python -m sim validate

bench: $(STAMP)
	$(BIN)/python -m sim bench

params: $(STAMP)
	$(BIN)/python -m sim params

clean-results:
	rm -rf results

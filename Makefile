# hepgen — one-command set-up. `make run`: the main job; `make test`: the test suite.
# Both create .venv and install hepgen into it (CPU torch first: a bare `torch` requirement
# would pull a multi-GB CUDA build).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.hepgen-installed
TORCH  ?= torch==2.13.0
PYTEST_ARGS ?=
N_EVENTS ?= 1000000

.PHONY: install run test test-slow bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[simulation,test]"
	@touch $(STAMP)

install: $(STAMP)

## The main job: validate the shipped reference files against each other -> report/
run: $(STAMP)
	$(BIN)/hepgen validate data_samples/zjets_test.root data_samples/zjets_train.root \
		--labels test,train -o report
	@echo "open report/index.html"

## The test suite (slow tests excluded; see `make test-slow`)
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

## Benchmarks: update benchmarks/RESULTS.md
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) report build *.egg-info .pytest_cache

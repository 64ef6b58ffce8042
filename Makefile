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

.PHONY: install run run-reference test test-slow bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[simulation,test]"
	@touch $(STAMP)

install: $(STAMP)

## The main job: generate N_EVENTS with the shipped default generator and its per-event
## weights D/(1-D) (--reweight: 'weight' branch), validate them against the shipped test file
## (never used in training) -> report/index.html, report/metrics.json
run: $(STAMP)
	$(BIN)/hepgen generate --model data_samples/default_generator -n $(N_EVENTS) \
		--seed 1 --reweight -o generated.root
	$(BIN)/hepgen validate generated.root data_samples/zjets_test.root \
		--labels generated,test -o report
	@echo "open report/index.html"

## Validate the shipped reference files against each other (a same-distribution check)
run-reference: $(STAMP)
	$(BIN)/hepgen validate data_samples/zjets_test.root data_samples/zjets_train.root \
		--labels test,train -o report_reference

## The test suite (slow tests excluded; see `make test-slow`)
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

## Benchmarks: update benchmarks/RESULTS.md
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) report report_reference generated.root build *.egg-info .pytest_cache

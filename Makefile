# The README's two commands: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Shared real datasets live beside the checkout; a user's own copy can be pointed to instead.
NNJ_DATA_DIR ?= $(abspath ../shared/data)
export NNJ_DATA_DIR

.PHONY: demo test lint bench clean

# Re-install only when the dependency list changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# The flagship: the regularization study, quick, on digits bundled with scikit-learn (about half a
# minute on 2 cores; `nnj run regularization-study` is the full study on MNIST), then
# runs/index.html lists it next to every other run.
demo: $(VENV)/.installed
	$(BIN)/nnj run regularization-demo --out runs

# Two workers (one per core), each test file on one worker so module fixtures are built once.
test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/trainer_overhead.py
	$(BIN)/python benchmarks/vectorized.py

clean:
	rm -rf runs .pytest_cache build dist

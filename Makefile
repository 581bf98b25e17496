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
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,tune,export,tensorboard,mlflow]'
	@touch $@

# The flagship: the regularization study's quick profile on 500 MNIST digits (under 2 minutes
# on 2 cores) when $(NNJ_DATA_DIR)/mnist holds them; otherwise the same study on 1,000 MNIST-1D
# signals generated locally (under 2 minutes, nothing to download), where a plain MLP overfits
# hard enough for the techniques to show. runs/index.html then lists it next to every other run.
demo: $(VENV)/.installed
	@if [ -d "$(NNJ_DATA_DIR)/mnist" ]; then \
		$(BIN)/nnj study regularization --profile quick --out runs; \
	else \
		echo "no MNIST under $(NNJ_DATA_DIR)/mnist: running the study on MNIST-1D, generated locally"; \
		$(BIN)/nnj run regularization-mnist1d --out runs; \
	fi

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

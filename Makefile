# losscore developer commands. `make help` lists them.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: help all install bench test typecheck lint rust-test docs docs-serve clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

all: lint rust-test test ## Everything CI checks: lint, the Rust tests, the Python tests (typing included)

install: ## Create $(VENV) and build + install losscore with its test and bench extras
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[test,bench]"

bench: install ## Run the quick benchmark (losscore vs NumPy)
	$(BIN)/losscore bench --quick

test: install ## Run the Python test suite (and the docstring examples) against the installed wheel
	$(BIN)/python -m pytest -q

typecheck: install ## stubtest on _core.pyi, mypy --strict + pyright on tests/typing (also part of test)
	$(BIN)/python -m pytest -q tests/typing tests/test_stubs.py

lint: install ## cargo fmt + clippy, ruff
	cargo fmt --all --check
	cargo clippy --all-targets --locked -- -D warnings
	$(BIN)/ruff check .

rust-test: ## Run the pure-Rust core's tests
	cargo test -p losscore-core --locked

docs: install ## Build the documentation site into site/ (strict: a broken link fails)
	$(BIN)/python -m pip install --quiet ".[docs]"
	$(BIN)/python -m mkdocs build --strict --site-dir site

docs-serve: install ## Serve the documentation at http://127.0.0.1:8000, rebuilt on change
	$(BIN)/python -m pip install --quiet ".[docs]"
	$(BIN)/python -m mkdocs serve

clean: ## Remove build products and the virtual environment
	rm -rf target $(VENV) dist site

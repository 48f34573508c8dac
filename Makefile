# The one front door for developer tasks; CI calls `make check` through .ci/run.
PYTHON ?= python
PYTEST_ARGS ?=

.PHONY: check lint format typecheck test test-fast bench docs help

help:
	@echo "make check      lint + typecheck + the whole test suite (what CI runs)"
	@echo "make lint       ruff check and ruff format --check"
	@echo "make format     ruff format and ruff check --fix"
	@echo "make typecheck  mypy (strict on core/ and engine/)"
	@echo "make test       the whole test suite"
	@echo "make test-fast  the suite without tests marked slow"
	@echo "make bench      every benchmark in bench/ (prints ratios, asserts nothing)"
	@echo "make docs       regenerate docs/cli.md from --help"

check: lint typecheck docs-check test

lint:
	$(PYTHON) -m ruff check src tests bench
	$(PYTHON) -m ruff format --check src tests bench

format:
	$(PYTHON) -m ruff format src tests bench
	$(PYTHON) -m ruff check --fix src tests bench

typecheck:
	$(PYTHON) -m mypy

test:
	$(PYTHON) -m pytest -n auto $(PYTEST_ARGS)

test-fast:
	$(PYTHON) -m pytest -n auto -m "not slow" $(PYTEST_ARGS)

bench:
	@for b in bench/bench_*.py; do echo "== $$b"; $(PYTHON) $$b || exit 1; done

docs:
	$(PYTHON) -m gatehouse.cli.reference > docs/cli.md
	$(PYTHON) -m gatehouse.cli.settings_reference > docs/settings.md

docs-check:
	@$(PYTHON) -m gatehouse.cli.reference | diff -u docs/cli.md - \
	  || (echo "docs/cli.md is stale: run 'make docs'"; exit 1)
	@$(PYTHON) -m gatehouse.cli.settings_reference | diff -u docs/settings.md - \
	  || (echo "docs/settings.md is stale: run 'make docs'"; exit 1)

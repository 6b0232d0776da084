# The project's interface. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install generate check-generated lint-specs typecheck unit test demo clean

help:
	@echo "make test             everything CI checks: generated-code drift, mypy --strict, pytest"
	@echo "make generate         regenerate src/inferlink/_generated from specs/"
	@echo "make check-generated  fail with a diff when src/inferlink/_generated differs from specs/"
	@echo "make demo             a short tour of the typed client against a local server"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

generate: $(STAMP)
	$(PY) -m codegen

check-generated: $(STAMP)
	$(PY) -m codegen --check

typecheck: $(STAMP)
	$(PY) -m mypy src tests/typing

unit: $(STAMP)
	$(PY) -m pytest -q

test: check-generated typecheck unit

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache

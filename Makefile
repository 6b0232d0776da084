# The project's interface. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install servers generate check-generated typecheck unit test demo faults bench clean

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

# Real third-party servers for the live tests and the demo, each in its own virtualenv (their dependencies are
# theirs, not the SDK's). llama-cpp-python compiles llama.cpp (6-9 min on 2 cores; pip caches the wheel).
SERVERS := .venv-servers
LLAMA_STAMP := $(SERVERS)/llama/.installed
LITELLM_STAMP := $(SERVERS)/litellm/.installed

$(LLAMA_STAMP):
	test -x $(SERVERS)/llama/bin/python || $(PYTHON) -m venv $(SERVERS)/llama
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" $(SERVERS)/llama/bin/pip install --quiet 'llama-cpp-python[server]==0.3.36'
	touch $@

$(LITELLM_STAMP):
	test -x $(SERVERS)/litellm/bin/python || $(PYTHON) -m venv $(SERVERS)/litellm
	$(SERVERS)/litellm/bin/pip install --quiet 'litellm[proxy]==1.108.7'
	touch $@

servers: $(LLAMA_STAMP) $(LITELLM_STAMP)

generate: $(STAMP)
	$(PY) -m codegen

check-generated: $(STAMP)
	$(PY) -m codegen --check

typecheck: $(STAMP)
	$(PY) -m mypy src tests examples

unit: $(STAMP) servers
	$(PY) -m pytest -q

test: check-generated typecheck unit

demo: $(STAMP) $(LLAMA_STAMP)
	$(PY) examples/demo.py

faults: $(STAMP)
	$(PY) -m tests.faults.report

bench: $(STAMP)
	$(PY) -m tests.benchmarks.run

clean:
	rm -rf $(VENV) $(SERVERS) .mypy_cache .pytest_cache

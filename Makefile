# Each target creates or reuses .venv/ and installs the project into it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo lint test dev bench

$(INSTALLED): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

demo: $(INSTALLED)  ## the main job on the bundled sample export
	$(PY) -m movie_pipeline.launch demo

lint: $(INSTALLED)  ## ruff (lint, format), mypy (--strict on the core), Dagster's check of the code location
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/dagster definitions validate -w workspace.yaml

test: $(INSTALLED)  ## the whole test suite
	$(VENV)/bin/pytest

dev: $(INSTALLED)  ## the Dagster UI with the daemon (http://127.0.0.1:3000)
	$(PY) -m movie_pipeline.launch dev

bench: $(INSTALLED)  ## the benchmarks, printed as tables (~17 min; bench_load, bench_latency and bench_matching run on their own)
	$(PY) benchmarks/bench_parse.py
	$(PY) benchmarks/bench_stats.py
	$(PY) benchmarks/bench_enrich.py
	$(PY) benchmarks/bench_budget.py

# npaf-pipeline: every target sets itself up (creates .venv and installs the pinned dependencies on first use).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: help install browser test lint fmt reconcile run ui bench clean

help:
	@echo "make run        generate the sample landing zone and backfill every sample quarter through Dagster"
	@echo "make ui         start the Dagster UI on http://127.0.0.1:$(UI_PORT) over the same outputs"
	@echo "make test       lint and run the test suite (creates .venv on first use)"
	@echo "make reconcile  recompute NHS England's Q1 2025/26 release from ../shared/real-data and compare"
	@echo "make bench      run the benchmarks in benchmarks/ and write docs/performance.md"
	@echo "make lint       ruff only"
	@echo "make clean      remove .venv, build outputs and caches"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $(STAMP)

install: $(STAMP)

# Headless Chromium from Debian's packages for the tests of pages people look at (Data Docs, the site).
# Installed when missing and we are root with apt-get; otherwise those tests skip and say why.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$NPAF_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium package for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null \
	    || echo "chromium could not be installed: the browser tests will skip"; \
	else echo "chromium is not installed and this user cannot apt-get it: the browser tests will skip"; fi

lint: $(STAMP)
	$(BIN)/ruff check .

# the suite in parallel worker processes, one test file per worker at a time (module fixtures built once)
PYTEST_WORKERS ?= auto
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile

REAL_DATA ?= ../shared/real-data
reconcile: $(STAMP)
	$(BIN)/npaf reconcile \
	  $(REAL_DATA)/nof-acute-q1-2025-26/nhs-oversight-framework-acute-trust-data.csv \
	  $(REAL_DATA)/nof-mhc-q1-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-q1.csv \
	  --out build/reconcile

# --- running the pipeline -------------------------------------------------------------------------------
SAMPLE_LANDING   := build/sample-landing
SAMPLE_QUARTERS  ?= 6
SAMPLE_SEED      ?= 2025
FIRST_QUARTER    ?= 2025-26Q1
LAST_QUARTER     ?= 2026-27Q2
NPAF_LANDING_DIR ?= $(SAMPLE_LANDING)
NPAF_OUTPUT_DIR  ?= build/output
DAGSTER_HOME     ?= $(CURDIR)/.dagster_home
UI_PORT          ?= 3000
export NPAF_LANDING_DIR NPAF_OUTPUT_DIR

# runs start as soon as they are submitted (npaf backfill needs no daemon); rewritten when this file changes
$(DAGSTER_HOME)/dagster.yaml: Makefile
	@mkdir -p $(DAGSTER_HOME)
	@printf 'telemetry:\n  enabled: false\nrun_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n' > $@

run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@if [ "$(NPAF_LANDING_DIR)" = "$(SAMPLE_LANDING)" ] && [ ! -f $(SAMPLE_LANDING)/README.md ]; then \
	  $(BIN)/npaf sample-data --quarters $(SAMPLE_QUARTERS) --seed $(SAMPLE_SEED) --out $(SAMPLE_LANDING); fi
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/npaf backfill --from $(FIRST_QUARTER) --to $(LAST_QUARTER)
	@echo
	@echo "Published outputs: $(NPAF_OUTPUT_DIR)/<table>/fy=YYYY-YY/quarter=Qn/part-0.parquet"
	@echo "DuckDB catalog:    $(NPAF_OUTPUT_DIR)/npaf.duckdb   (views per table, latest_* for the newest quarter)"
	@echo "Data Docs:         $(NPAF_OUTPUT_DIR)/data-docs/index.html   (one acceptance run for all quarters; opens offline)"
	@echo "Scorecard site:    $(NPAF_OUTPUT_DIR)/site/index.html   (open in a browser; npaf site rebuilds it)"
	@echo "Dagster UI:        make ui, then open http://127.0.0.1:$(UI_PORT) (the runs above are listed there)"

ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@echo "Dagster UI on http://127.0.0.1:$(UI_PORT) (landing $(NPAF_LANDING_DIR), outputs $(NPAF_OUTPUT_DIR)); Ctrl-C stops it"
	@DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster-daemon run -w workspace.yaml & daemon=$$!; \
	trap 'kill $$daemon 2>/dev/null; wait $$daemon 2>/dev/null' EXIT INT TERM; \
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster-webserver -h 127.0.0.1 -p $(UI_PORT) -w workspace.yaml

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build .dagster_home

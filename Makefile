# npaf-pipeline: every target sets itself up (creates .venv and installs the pinned dependencies on first use).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: help install test lint fmt reconcile clean

help:
	@echo "make test       lint and run the test suite (creates .venv on first use)"
	@echo "make reconcile  recompute NHS England's Q1 2025/26 release from ../shared/real-data and compare"
	@echo "make lint       ruff only"
	@echo "make clean      remove .venv and caches"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

REAL_DATA ?= ../shared/real-data
reconcile: $(STAMP)
	$(BIN)/npaf reconcile \
	  $(REAL_DATA)/nof-acute-q1-2025-26/nhs-oversight-framework-acute-trust-data.csv \
	  $(REAL_DATA)/nof-mhc-q1-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-q1.csv \
	  --out build/reconcile

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build

# One task runner. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
UI_STAMP := ui/dist/index.html
UI_SOURCES := $(shell find ui/src -type f 2>/dev/null) ui/index.html ui/package.json ui/package-lock.json ui/tsconfig.json ui/vite.config.ts

.PHONY: help install ui run test unit integration lint bench faults stack-up stack-down stack-status clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "make: need Python 3.11+ with venv and ensurepip as '$(PYTHON)' (Debian: apt-get install python3-venv; or PYTHON=python3.12 make ...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

# The lineage explorer (ui/): built into ui/dist when its sources changed; `lineage api` serves it.
$(UI_STAMP): $(UI_SOURCES)
	@command -v npm >/dev/null || { echo "make: the lineage explorer needs Node.js 20+ and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build

ui: $(UI_STAMP) ## build the lineage explorer (ui/dist) when its sources changed

run: $(STAMP) $(UI_STAMP) ## start local Kafka + Neo4j (first run fetches them) and run the pipeline and the explorer
	$(BIN)/lineage stack up
	$(BIN)/lineage run

test: $(STAMP) $(UI_STAMP) ## ruff and mypy, then unit, integration and browser tests (own Kafka + Neo4j)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

unit: $(STAMP) ## unit tests only (no services)
	$(BIN)/pytest tests/unit

integration: $(STAMP) $(UI_STAMP) ## integration and browser tests only (real Kafka + Neo4j, Chromium)
	$(BIN)/pytest tests/integration

bench: $(STAMP) ## the quick benchmark profile (own Kafka + Neo4j; under 10 minutes): bench/results/*.md
	bench/run quick

faults: $(STAMP) ## the fault-injection suite (own Kafka + Neo4j; kills and restarts parts; about 15 minutes)
	bench/faults

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

stack-up: $(STAMP) ## start the local stack only
	$(BIN)/lineage stack up

stack-down: $(STAMP) ## stop the local stack
	$(BIN)/lineage stack down

stack-status: $(STAMP) ## show the local stack's addresses
	@$(BIN)/lineage stack status || true

clean: ## remove the venv, the built explorer and caches (not the stack's data: see `make stack-down`, .lineage/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info ui/dist ui/node_modules

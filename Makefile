# Every target sets up what it needs on a fresh machine: uv (bootstrapped with pip when missing) and
# .venv installed exactly from uv.lock.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
RUN := $(VENV)/bin
export UV_PYTHON := $(PYTHON)
export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False

.PHONY: setup system-deps demo test test-prod lint messages bench bench-airflow bench-bitrix24 portal clean help

help:
	@echo "make demo   - set up and run the main job on the embedded defaults"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make bench  - bulk-run figures (documents/s per step, bound ratio); DEALS=N for a quicker run"
	@echo "make bench-airflow - Airflow's own overhead: the same run on a real scheduler and without it; DEALS=N BATCH=B"
	@echo "make bench-bitrix24 - CRM requests and minutes of a 10,000-deal run against the fake Bitrix24 at 2 req/s"
	@echo "make messages - bring the translation catalogues up to date with the code (then translate new entries)"
	@echo "make test-prod - Airflow with Celery workers, Redis and PostgreSQL, DAGs triggered through the REST API"

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

setup: $(VENV)/.synced

# System tools (poppler-utils, qpdf, chromium): installed with apt-get when missing and running as root.
system-deps:
	bash scripts/system-deps.sh

demo: setup
	bash scripts/system-deps.sh poppler-utils libnss3-tools chromium
	$(RUN)/esign demo

# Translation catalogues: add new msgids from the code and templates (existing translations are kept).
messages: setup
	$(RUN)/python -m esign.i18n.extract

lint: setup
	$(RUN)/ruff check plugins tests dags bench
	$(RUN)/mypy
	$(RUN)/lint-imports --no-cache

test: lint system-deps
	$(RUN)/pytest

# Production shape without Docker: Airflow api-server, scheduler, dag-processor and a Celery worker (Redis broker,
# PostgreSQL metadata + ledger in throwaway databases) run esign_send and esign_collect (about 3 minutes).
test-prod: setup
	ESIGN_TEST_PROD=1 $(RUN)/pytest tests/prod

bench: setup
	$(RUN)/python bench/pipeline_bench.py --deals $(or $(DEALS),10000)

# esign_send + esign_collect through Airflow (api-server, scheduler with LocalExecutor, dag-processor; PostgreSQL
# metadata in a throwaway database) vs the same steps on a pool of 2 workers: the overhead, its share, per task.
bench-airflow: setup
	$(RUN)/python bench/airflow_overhead.py --deals $(or $(DEALS),10000) --batch-size $(or $(BATCH),2500)

# The CRM side of a 10,000-deal run against the fake Bitrix24 portal at 2 req/s: requests, minutes, budget waits.
bench-bitrix24: setup
	$(RUN)/python bench/bitrix24_bench.py --deals $(or $(DEALS),10000)

portal: setup
	$(RUN)/esign portal

clean:
	rm -rf var reports .pytest_cache .mypy_cache .ruff_cache

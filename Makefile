# Developer entry points. Needs GNU make and Python 3.11; everything else is installed into .venv.
# Without DATABASE_URL the targets start the embedded PostgreSQL of the checkout (.data/postgres).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Python used to create the virtualenv: python3.11, or python3 when there is no python3.11.
ifeq ($(origin PY),undefined)
PY := $(if $(shell command -v python3.11 2>/dev/null),python3.11,python3)
endif

VENV := .venv
VPY := $(CURDIR)/$(VENV)/bin/python
STAMP := $(VENV)/.installed
WITH_DB := $(VPY) -m tools.with_db
PYTEST_ARGS ?=
BENCH_ARGS ?=

# Child processes (tests that start `python`, celery, ...) find the virtualenv first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install run test test-fast lint migrations-check deploy-check bench clean

help: ## Show this list
	@echo "Targets (run from the checkout root):"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-17s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Without DATABASE_URL an embedded PostgreSQL in .data/postgres is used; without REDIS_URL"
	@echo "Celery uses a filesystem broker in .data/broker. Python for the virtualenv: PY=$(PY)"

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  echo "Python 3.11 is required: '$(PY)' is missing or another version. Use make PY=/path/to/python3.11" >&2; \
	  exit 1; }
	@if [ ! -x $(VPY) ]; then \
	  echo "Creating $(VENV) with $(PY)"; \
	  $(PY) -m venv $(VENV) || { \
	    echo "Could not create the virtualenv. On Debian/Ubuntu: apt-get install python3.11-venv" >&2; \
	    rm -rf $(VENV); exit 1; }; \
	fi
	$(VPY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

$(VENV): $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools (again when pyproject.toml changes)

run: $(STAMP) ## Run web, Celery worker and beat with demo data on http://127.0.0.1:8000/ (PORT=...)
	$(VPY) -m tools.run

test: $(STAMP) ## Run the whole test suite, browser tests included (PYTEST_ARGS=... to add options)
	@rc=0; $(WITH_DB) $(VPY) -m pytest -n auto $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure" >&2; fi; \
	exit $$rc

test-fast: $(STAMP) ## Run the tests without the browser tests
	@rc=0; $(WITH_DB) $(VPY) -m pytest -n auto -m "not browser" $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-fast: pytest collected no tests; that is a failure" >&2; fi; \
	exit $$rc

lint: $(STAMP) ## ruff check and ruff format --check
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .

migrations-check: $(STAMP) ## Fail when a model change has no migration
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(WITH_DB) $(VPY) manage.py makemigrations --check --dry-run

deploy-check: $(STAMP) ## Django's deployment checks with production-like settings
	DJANGO_DEBUG=false \
	DJANGO_SECRET_KEY="$$($(VPY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	DJANGO_ALLOWED_HOSTS=example.org \
	$(WITH_DB) $(VPY) manage.py check --deploy --fail-level WARNING

bench: $(STAMP) ## Run the benchmarks (bench/run.py; BENCH_ARGS=... to pass options)
	$(WITH_DB) $(VPY) bench/run.py $(BENCH_ARGS)

clean: ## Remove local data (.data: embedded database, broker, mail) and collected static files
	@pid=$$(head -n 1 .data/postgres/postmaster.pid 2>/dev/null || true); \
	if [ -n "$$pid" ] && kill -0 "$$pid" 2>/dev/null; then \
	  echo "The embedded PostgreSQL (pid $$pid) is running: stop \`make run\` first." >&2; exit 1; fi
	rm -rf .data staticfiles

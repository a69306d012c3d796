# Weekend Planner. `make run` serves the site on the embedded default; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
MANAGE := $(BIN)/python manage.py

# The suite's services; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/weekend_planner
TEST_REDIS_URL ?= redis://127.0.0.1:6379/9
TEST_ENV := DJANGO_SETTINGS_MODULE=planner.test_settings DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)}
CHROMIUM := /usr/bin/chromium

# Deployment and infrastructure targets (image, chart, tool virtualenvs, Ansible) live in mk/.
include $(sort $(wildcard mk/*.mk))

.PHONY: help run install install-dev test lint format types imports migrations-check deploy-check schema-check \
        services browser-deps unit browser test-dates fuzz bench load vendor-web-vitals clean

help:
	@echo "make run     serve http://127.0.0.1:8000 on the embedded default (SQLite, in-process tasks, demo account)"
	@echo "make test    every check: lint, types, import contract, migrations, deploy check, API schema, pytest, browser,"
	@echo "             chart, workflows, Ansible against moto, and the container image built with buildah"
	@echo "finer loops: make lint | types | imports | unit | browser | bench | chart-check | checkov | image | ansible-lint"
	@echo "make test-dates  the in-process suite again at DST changes in Europe and the US and at a year end"
	@echo "make fuzz    the API against its OpenAPI schema with Schemathesis, long: every phase, 300 examples an operation"
	@echo "make load    a mixed load with Locust (64 people, 60 s) against gunicorn as the image runs it (not in make test)"
	@echo "make vendor-web-vitals  fetch static/vendor/web-vitals/ again from npm (pinned version and integrity)"

# --- Installing: a virtualenv from the lock files, re-synced whenever a lock file changes ----------------

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed-base: requirements/base.txt | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/base.txt
	@touch $@

$(VENV)/.installed-dev: requirements/dev.txt | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/dev.txt
	@touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-base
install-dev: $(VENV)/.installed-dev

# Re-lock after editing dependencies in pyproject.toml.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -q --generate-hashes -o requirements/base.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -q --generate-hashes -o requirements/dev.txt

# --- The site ----------------------------------------------------------------------------------------------

run: install
	$(MANAGE) migrate --noinput
	$(MANAGE) create_demo_account
	$(MANAGE) seed_demo --if-empty
	$(MANAGE) seed_recommendations_demo
	$(MANAGE) seed_groups_demo
	$(MANAGE) runserver 127.0.0.1:8000

# --- Checks ------------------------------------------------------------------------------------------------

# The chart (helm lint/template, kubernetes-validate, checkov), the metrics scrapes, the deploy script and
# Ansible against moto run inside pytest (tests/infra and the contract test in a second process beside the rest:
# scripts/run_test_suites.py); the image is built and checked last, after the suite.
# The static checks write nothing but their own caches, so they run two at a time, the two longest (ansible-lint,
# mypy) first; --output-sync prints each one's output whole when it ends.
STATIC_CHECKS := ansible-lint types lint imports migrations-check deploy-check schema-check workflows-check shellcheck \
                 bandit hadolint
test: install-dev tools helm services browser-deps
	$(MAKE) --no-print-directory -j2 --output-sync=target $(STATIC_CHECKS)
	$(TEST_ENV) $(BIN)/python scripts/run_test_suites.py
	$(MAKE) image

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

types: install-dev
	$(TEST_ENV) $(BIN)/mypy

imports: install-dev
	$(BIN)/lint-imports

migrations-check: install-dev
	$(TEST_ENV) $(MANAGE) makemigrations --check --dry-run

# The production settings, with throwaway secrets, must pass Django's deployment checklist.
deploy-check: install-dev
	$(BIN)/python -m scripts.deploy_check

schema-check: install-dev
	$(TEST_ENV) $(MANAGE) spectacular --validate --fail-on-warn --file /dev/null

services: install-dev
	$(TEST_ENV) $(BIN)/python scripts/check_services.py

browser-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" != 0 ]; then echo "chromium is missing and apt-get needs root: sudo apt-get install chromium" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@if [ ! -f tests/accessibility/node_modules/axe-core/axe.min.js ]; then \
	  echo "Installing axe-core for the accessibility tests (tests/accessibility/package-lock.json)"; \
	  if ! command -v npm >/dev/null; then \
	    if [ "$$(id -u)" != 0 ]; then echo "npm is missing and apt-get needs root: sudo apt-get install npm" >&2; exit 1; fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  fi; \
	  npm ci --prefix tests/accessibility --no-audit --no-fund --silent; \
	fi

unit: install-dev services
	$(TEST_ENV) $(BIN)/pytest -m "not browser"

browser: install-dev services browser-deps
	$(TEST_ENV) $(BIN)/pytest -m browser

# The suite runs on a fixed clock (conftest.py: REFERENCE_NOW). This replays every test that runs on that clock
# (all but the real_clock ones, which start other processes) with the clock at the moments where calendars go
# wrong: a Friday evening before Europe's spring-forward, a Saturday night before its fall-back, the US's (Chicago)
# spring and autumn changes, New Year's Eve, a Sunday night in Berlin (the weekend under way nearly over) and the
# half hour after it, when Berlin's weekend has ended and UTC's has not. Not part of `make test`: it runs the suite
# seven times.
TEST_DATES ?= 2027-03-26T18:00:00+01:00 2026-10-24T22:30:00+02:00 2027-03-12T09:00:00-06:00 \
              2026-10-31T20:00:00-05:00 2026-12-31T23:30:00+01:00 2027-06-20T23:00:00+02:00 \
              2027-06-21T00:30:00+02:00
test-dates: install-dev services browser-deps
	@failed=""; for moment in $(TEST_DATES); do \
	  echo "=== TEST_NOW=$$moment"; \
	  TEST_NOW=$$moment $(TEST_ENV) $(BIN)/pytest -q -m "not real_clock" $(PYTEST_ARGS) || failed="$$failed $$moment"; \
	done; \
	if [ -n "$$failed" ]; then echo "Failed at:$$failed" >&2; exit 1; fi; echo "Green at every moment: $(TEST_DATES)"

# tests/api/test_schema_contract.py at length: every Schemathesis phase (the coverage phase tries every enum value,
# hundreds of time zones among them) and FUZZ_EXAMPLES examples an operation; FUZZ_SEED picks another run.
FUZZ_EXAMPLES ?= 300
FUZZ_SEED ?= 20261204
fuzz: install-dev services
	SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) SCHEMATHESIS_SEED=$(FUZZ_SEED) \
	SCHEMATHESIS_PHASES=examples,coverage,fuzzing,stateful SCHEMATHESIS_TIMEOUT=0 \
	  $(TEST_ENV) $(BIN)/pytest tests/api/test_schema_contract.py -p no:randomly

bench: install-dev services tools
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then echo "wrk is missing: sudo apt-get install wrk" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi
	$(TEST_ENV) $(BIN)/python bench/http_me_vs_health.py
	$(TEST_ENV) $(BIN)/python bench/profile_request.py
	$(TEST_ENV) $(BIN)/python bench/request_parts.py
	$(TEST_ENV) $(BIN)/python bench/events_ingest_search.py
	$(TEST_ENV) $(BIN)/python bench/events_search_http.py
	$(TEST_ENV) $(BIN)/python bench/backup_restore.py
	$(TEST_ENV) $(BIN)/python bench/login_timing.py
	$(TEST_ENV) $(BIN)/python bench/analytics_experiments.py
	$(TEST_ENV) $(BIN)/python bench/analytics_tracking.py
	$(TEST_ENV) $(BIN)/python bench/analytics_rollup.py
	$(TEST_ENV) $(BIN)/python bench/recommendations_serving.py
	$(TEST_ENV) $(BIN)/python bench/recommendations_training.py
	$(TEST_ENV) $(BIN)/python bench/recommendations_quality.py
	$(TEST_ENV) $(BIN)/python bench/itineraries_plan.py
	$(TEST_ENV) $(BIN)/python bench/calendars_occurrences.py
	$(TEST_ENV) $(BIN)/python bench/calendars_conflicts.py
	$(BIN)/python bench/calendars_plan_writes.py
	$(BIN)/python bench/groups_polls.py
	$(TEST_ENV) $(BIN)/python bench/groups_page.py
	$(TEST_ENV) $(BIN)/python bench/groups_availability.py
	$(BIN)/python bench/notifications_reminders.py
	$(BIN)/python bench/notifications_digest.py
	$(BIN)/python bench/optw_solver.py

# Locust from its own virtualenv (.venvs/load); the driver (bench/load_mixed.py) runs in the app's.
load: install-dev services $(LOAD_VENV)/.installed
	$(TEST_ENV) LOCUST=$(LOAD_VENV)/bin/locust $(BIN)/python bench/load_mixed.py

# The web-vitals library the pages load (static/vendor/web-vitals/), fetched again from npm at the version and
# integrity pinned in scripts/vendor_web_vitals.py. Needs npm and the network; not part of `make test` or `make run`.
vendor-web-vitals:
	$(PYTHON) -m scripts.vendor_web_vitals

clean:
	rm -rf $(VENV) .venvs .pytest_cache .mypy_cache .ruff_cache staticfiles test-results

# The two commands: `make run` serves the app, `make test` runs the suite. Both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)
MO_FILES := $(patsubst %.po,%.mo,$(wildcard competition/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test test-postgres test-browser test-faults prod-check setup syscheck translations i18n-extract i18n-check lint worker clean

run: setup syscheck translations
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)  (stop with Ctrl-C)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: setup syscheck translations i18n-check
	$(PY) -m pytest -m "not browser and not faults" $(PYTEST_ARGS)

# The browser tests (Playwright driving Debian's chromium); .ci/run installs chromium when missing.
test-browser: setup translations
	$(PY) -m pytest -m browser tests/browser $(PYTEST_ARGS)

# Outage tests: PostgreSQL restarted under load (a private cluster in a temporary folder).
test-faults: setup translations
	$(PY) -m pytest -m faults tests/deploy $(PYTEST_ARGS)

# Boots gunicorn + an RQ worker with production settings against a scratch PostgreSQL database and a
# private Redis, then runs smoke requests (deploy/prod_check.py); PASS/FAIL summary, non-zero on failure.
prod-check: setup translations
	$(PY) deploy/prod_check.py

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Python 3.11 or newer is needed: sudo apt-get install -y python3 python3-venv"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || \
	  { rm -rf $(VENV); echo "Python's venv module is missing: sudo apt-get install -y python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

syscheck: setup
	@$(PY) -m competition.syscheck

translations: setup $(MO_FILES)

competition/translations/%/LC_MESSAGES/messages.mo: competition/translations/%/LC_MESSAGES/messages.po
	$(VENV)/bin/pybabel compile --statistics -d competition/translations -l $*

# After changing user-facing text: extract, merge into both catalogs, translate, then `make i18n-check`.
i18n-extract: setup
	$(PY) -m competition.core.catalogs update

i18n-check: setup
	$(PY) -m competition.core.catalogs check

lint: setup
	$(VENV)/bin/ruff check competition tests deploy
	$(VENV)/bin/bandit -q -r competition -c bandit.yaml

worker: setup
	$(FLASK) jobs worker

clean:
	rm -rf $(VENV) .pytest_cache $(MO_FILES)

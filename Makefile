# The two commands of the README: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails and in seed_demo's output follow HOST and PORT (a wildcard HOST is linked as
# 127.0.0.1); set EXPATDESK_SITE_URL in the environment to link elsewhere.
LINK_HOST := $(if $(filter 0.0.0.0 :: [::],$(HOST)),127.0.0.1,$(HOST))
EXPATDESK_SITE_URL ?= http://$(LINK_HOST):$(PORT)

.PHONY: setup run test lint format check messages bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

run: setup
	$(PY) manage.py migrate --noinput
	EXPATDESK_SITE_URL='$(EXPATDESK_SITE_URL)' $(PY) manage.py seed_demo
	EXPATDESK_SITE_URL='$(EXPATDESK_SITE_URL)' $(PY) manage.py runserver $(HOST):$(PORT)

test: setup
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n auto --dist loadfile

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-extract and compile the English and Dutch catalogues (needs GNU gettext); the .mo files are committed.
messages: setup
	$(PY) manage.py makemessages --locale nl --ignore "$(VENV)/*" --ignore "node_modules/*" --ignore "tests/*" --ignore "static/vendor/*"
	$(PY) manage.py compilemessages --ignore "$(VENV)/*"

# The HTTP benchmark (README, Performance): gunicorn on a throwaway PostgreSQL database, wrk as load.
# Needs DATABASE_URL (PostgreSQL) and REDIS_URL (a Redis database it may empty).
bench: setup
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk)
	$(PY) manage.py benchmark --http $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules db.sqlite3 var staticfiles

# The two commands of the README: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint format check messages clean

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
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST):$(PORT)

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

clean:
	rm -rf $(VENV) node_modules db.sqlite3 var staticfiles

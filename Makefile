# Two commands matter: `make run` (demo back-office on SQLite) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install run test lint format worker scheduler clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Migrate, load demo data, then serve on http://127.0.0.1:8000 with a scheduler tick every minute.
# Without REDIS_URL, copies run inline right after they are created.
run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@DEBUG=1 $(PY) manage.py run_subscriptions --every 60 --quiet & scheduler=$$!; \
	trap "kill $$scheduler 2>/dev/null" EXIT INT TERM; \
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# With REDIS_URL set: a worker, and the scheduler loop (or call run_subscriptions from cron).
worker: install
	$(PY) manage.py rqworker default

scheduler: install
	$(PY) manage.py run_subscriptions --every 60

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache .ruff_cache

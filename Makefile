# The two commands a new user needs (see README): `make run` and `make test`.
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast setup setup-test bench messages

# Links printed by seed_demo and written into demo emails point at this server.
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@# Reminders fire from a loop beside the server (README "Reminders"); it stops with the server.
	$(PY) manage.py run_reminders & reminders=$$!; \
	trap 'kill $$reminders 2>/dev/null; wait $$reminders 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# Test runs keep Python's compiled bytecode (and pytest's rewritten test modules) between runs,
# in .pycache/ rather than beside the sources or in the shared .venv: with PYTHONDONTWRITEBYTECODE
# set, every xdist worker and every worker process the reliability tests start compiles the whole
# project (and pytest rewrites the test modules and plugins) again, over a minute before the first
# test on a two-core machine.
test test-fast: export PYTHONDONTWRITEBYTECODE =
test test-fast: export PYTHONPYCACHEPREFIX ?= $(CURDIR)/.pycache

# The whole suite, on two workers (pytest-xdist; each has its own test database).
test: setup-test
	.venv/bin/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The fast loop: the rules and unit tests, which need no database, no browser and no real worker
# process. `make test` runs everything.
test-fast:
	.venv/bin/pytest -n 2 -m "not database and not browser and not slow and not reliability" $(PYTEST_ARGS)

setup:
	scripts/setup.sh

# Extract new strings into locale/{de,fr,es}; translate them, then `make test` checks completeness.
# Keep these options in step with tests/test_translations.py.
messages: setup
	$(PY) manage.py makemessages --no-obsolete -l de -l fr -l es --ignore=.venv --ignore=node_modules \
		--ignore=tests --ignore=bench --ignore=artifacts --ignore=staticfiles

setup-test:
	scripts/setup.sh --test

# Every script in bench/ (see bench/README.md); one Markdown table in $(BENCH_OUT).
BENCH_OUT ?= bench/results.md
bench: setup-test
	.venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
	$(PY) bench/run_all.py --out $(BENCH_OUT)

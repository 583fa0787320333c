# The two commands: `make run` (the service) and `make test` (the suite). Both build .venv.
# `make manage ARGS="health"` runs a manage.py command with the environment `make run` chose.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ONLY ?=
ARGS ?=
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-slow test-fast bench lint typecheck venv services clean manage chromium dist

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,local]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	@bash scripts/run.sh

# The browser tests drive Debian's chromium: installed here when root and missing.
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing Debian's chromium for the browser tests" >&2; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || { echo "error: apt-get install chromium failed" >&2; exit 1; }; \
	  else \
	    echo "error: the browser tests need chromium at $(CHROMIUM); install it with: sudo apt-get install chromium" >&2; \
	    exit 1; \
	  fi; \
	fi

manage: $(STAMP)
	@$(BIN)/python manage.py $(ARGS)

# Seconds, no service: parsers, detectors, options, the in-memory coordinator (TEST_FAST=1).
test-fast: $(STAMP)
	@TEST_FAST=1 $(BIN)/python -m pytest -q

test: $(STAMP) chromium
	@bash scripts/services.sh
	@$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

# The slow tier (chaos scenarios, the wheel in a scratch venv, the SQS backlog): CI runs it too.
test-slow: $(STAMP) chromium
	@bash scripts/services.sh
	@$(BIN)/python -m pytest -m slow $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

bench: $(STAMP)
	@bash scripts/services.sh
	$(BIN)/python -m bench $(if $(ONLY),--only $(ONLY),)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with django-stubs and celery-types; settings load in DEBUG so no secret is needed.
typecheck: $(STAMP)
	SECRET_KEY=typecheck DEBUG=1 REDIS_URL= DATABASE_URL=sqlite:///:memory: VAR_DIR=/tmp/tasksvc-typecheck \
	  $(BIN)/mypy .

# The jobs layer as its own wheel (django-celery-jobs: jobs/ with its migrations, templates and
# static files, no app of this project) into dist/; built from packaging/jobs/pyproject.toml.
dist: $(STAMP)
	$(BIN)/python packaging/jobs/build.py dist

clean:
	rm -rf var .pytest_cache

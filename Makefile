# Two commands do everything on a fresh machine: `make demo` and `make test` (both run `setup` first).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STORE  ?= ./demo-store
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup browser services demo demo-figures test check lint up down clean

setup: $(STAMP)

# torch first and pinned, with pip: 2.13.0 is the CPU build these machines carry (pip's configuration finds it on
# disk); an unpinned torch would pull a multi-GB CUDA build. The rest with uv, in a third of pip's time; the
# project's own range admits the torch already there, so uv keeps it. Bytecode is compiled at install, as pip does:
# where Python writes none at run time (PYTHONDONTWRITEBYTECODE), every process would compile its imports afresh.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0 'uv>=0.5'
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/ecgflow demo --store $(STORE)

# The demo's figures in README.md and docs/demo.md, rewritten from the store the demo just wrote (docs/demo_figures.py).
demo-figures: demo
	$(PY) docs/demo_figures.py --store $(STORE)

# Formatting and lint first (ruff, configured in pyproject.toml): a violation fails the run, as a test would.
# Four workers on two cores, a test file each at a time (module fixtures are built once): many tests wait on servers,
# leases and timers, and the other workers compute meanwhile (measured on one tree: 9:44 with four, 10:20 with three).
# tests/conftest.py orders the files longest first, and --no-loadscope-reorder keeps that order (xdist would
# otherwise hand out the files with the most tests first).
test: setup lint browser services
	$(VENV)/bin/pytest -q -n 4 --dist loadfile --no-loadscope-reorder --durations=10

# The UI test renders the Prefect UI in Debian's chromium, headless: installed once with apt (root, or sudo).
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# The shared server's PostgreSQL and Redis (make up DB=postgres, and its test): Debian's, installed once with apt.
services:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq --no-install-recommends postgresql redis-server; }

# The edit-test loop: lint and the tests not marked slow (no servers, no training runs), in under 2 minutes.
check: setup lint
	$(VENV)/bin/pytest -q -n 2 -m "not slow"

lint: setup
	$(VENV)/bin/ruff format --check --quiet .
	$(VENV)/bin/ruff check --quiet .

# A local Prefect stack (UI at http://127.0.0.1:4200): server, pools cpu/gpu, the gpu limit, every deployment, the
# automations that crash and requeue a lost machine's runs, one worker per pool. Deployments default to STORE (a
# folder or s3://bucket/prefix); GPUS sizes the gpu limit; CRASH_AFTER_S (90) and REQUEUES (2) tune the automations;
# ECGFLOW_NOTIFY_URL in the environment (a webhook) turns on notifications of crashed runs, retraining decisions and sign-offs waiting.
up: setup $(if $(filter postgres,$(DB)),services)
	$(PY) deployments/stack.py up --store $(STORE) $(if $(GPUS),--gpus $(GPUS)) $(if $(DB),--db $(DB)) \
		$(if $(HOST),--host $(HOST)) $(if $(AUTH),--auth) \
		$(if $(CRASH_AFTER_S),--crash-after-s $(CRASH_AFTER_S)) $(if $(REQUEUES),--requeues $(REQUEUES))

down:
	$(PY) deployments/stack.py down

clean:
	rm -rf $(STORE)

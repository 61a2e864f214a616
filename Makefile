# Two commands do everything on a fresh machine: `make demo` and `make test` (both run `setup` first).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STORE  ?= ./demo-store

.PHONY: setup demo test up down clean

setup: $(STAMP)

# torch first and pinned: 2.13.0 is the CPU build these machines carry; an unpinned torch would pull a
# multi-GB CUDA build. The project's own range admits it, so pip keeps it.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/ecgflow demo --store $(STORE)

# Formatting and lint first (ruff, configured in pyproject.toml): a violation fails the run, as a test would.
test: setup
	$(VENV)/bin/ruff format --check --quiet .
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/pytest -q

# A local Prefect stack (UI at http://127.0.0.1:4200): server, pools cpu/gpu, the gpu limit, every deployment,
# one worker per pool. Deployments default to STORE (a folder or s3://bucket/prefix); GPUS sizes the gpu limit.
up: setup
	$(PY) deployments/stack.py up --store $(STORE) $(if $(GPUS),--gpus $(GPUS))

down:
	$(PY) deployments/stack.py down

clean:
	rm -rf $(STORE)

"""`ecgflow` as people run it, for the ops tests: real processes on a PREFECT_HOME of the test's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ecg_core.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ECGFLOW = [sys.executable, "-m", "cli"]
TRAIN = "train --model {model} --instruct small --config tiny-cpu.yaml --store {store} --run-id {run}"
# Workers in the tests poll every 2 s, not Prefect's 10 s: a run starts soon after it is queued. Every second would
# cost the server about 0.7 CPU-s a minute more per worker (measured against an idle server), over five minutes of a
# stack's test and three or four workers, half a minute of a 2-core machine's suite.
WORKER_POLL = {"PREFECT_WORKER_QUERY_SECONDS": "2"}


def home_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    """This environment without Prefect settings, on `prefect_home` with a local server port of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | {"PREFECT_HOME": str(prefect_home), "ECGFLOW_PREFECT_PORT": str(free_port())} | extra


def stack_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    """This environment without Prefect settings, on `prefect_home`, for a `stack.py up` stack: its workers poll
    every 2 s (WORKER_POLL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | {"PREFECT_HOME": str(prefect_home)} | WORKER_POLL | extra


def seeded_home(prefect_home: Path, database: Path) -> Path:
    """`prefect_home` holding a copy of the run's migrated server database (tests/conftest.py `prefect_database`):
    its server starts without migrating one. For tests of operations, not of a newcomer's first start."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, prefect_home / "prefect.db")
    return prefect_home


def ecgflow(command: str, env: dict, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ECGFLOW, *command.split()], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def start(command: str, env: dict, log: Path) -> subprocess.Popen:
    """An ecgflow command in its own process group (the test signals it as a terminal would)."""
    return subprocess.Popen(
        [*ECGFLOW, *command.split()],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def training_processes(output_dir: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", f"ecg_core.train.*{output_dir}"], capture_output=True, text=True)
    return out.stdout.splitlines()

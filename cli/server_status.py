"""`ecgflow server`: this PREFECT_HOME's local Prefect server (cli/local_server.py), or the shared one that
`make up DB=postgres` started (cli/shared_server.py), seen; the local one stopped. It never starts one: the
next command that runs a flow does (`make up` the shared one)."""

from __future__ import annotations

import time
from typing import Literal

from cli import shared_server
from cli.local_server import ACTIVE_RUNS, PREFECT_HOME, STATE, count_flow_runs, running, stop, ui_url


def server(action: Literal["status", "stop"] = "status") -> str:
    """Show or stop the local Prefect server of this PREFECT_HOME: address, process, uptime, flow runs.

    Args:
        action: status (the default) shows it; stop stops it (its process group: SIGTERM, then SIGKILL)
    """
    if action == "stop":
        pid = stop("server")
        return f"Prefect server (pid {pid}): stopped" if pid else f"Prefect server of {PREFECT_HOME}: not running"
    return status()


def status() -> str:
    shared = shared_server.status()
    if shared:  # `make up DB=postgres`: the server many machines share
        rows = "\n".join(f"  {name + ':':<14}{state}" for name, state in shared.items())
        return f"Prefect server of {PREFECT_HOME}, shared (PostgreSQL, Redis, API processes, services):\n{rows}"
    pid, url_file = running("server"), STATE / "server.url"
    if pid is None or not url_file.exists():
        return f"Prefect server of {PREFECT_HOME}: not running (the next ecgflow command that runs a flow starts it)"
    api_url = url_file.read_text().strip()
    try:
        runs = f"{count_flow_runs(api_url)} ({count_flow_runs(api_url, ACTIVE_RUNS)} active)"
    except OSError:
        runs = "unknown: the server does not answer yet"
    since = (STATE / "server.pid").stat().st_mtime  # written as the server started
    rows = {
        "URL": ui_url(api_url),
        "PID": pid,
        "PREFECT_HOME": PREFECT_HOME,
        "uptime": duration(time.time() - since),
        "flow runs": runs,
        "log": STATE / "server.log",
    }
    return "Prefect server: running\n" + "\n".join(f"  {name + ':':<14}{value}" for name, value in rows.items())


def duration(seconds: float) -> str:
    minutes, hours = int(seconds // 60), int(seconds // 3600)
    return f"{hours} h {minutes % 60:02d} min" if hours else f"{minutes} min {int(seconds % 60):02d} s"

"""The local Prefect server's guard: runs it as a child and stops it once nothing needs it, so servers of
deleted temporary PREFECT_HOMEs do not run on forever (about 300 MB each).

    python -m cli.server_guard API_URL SERVER_COMMAND...      # started by cli/local_server.py:ensure_server

It stops the server when $PREFECT_HOME/ecgflow-stack is gone, or after ECGFLOW_SERVER_IDLE_S (default an hour,
0: never) with no flow run at work, no ecgflow command using the server and no process of `make up` (its
workers serve scheduled deployments) running beside it. It exits when the server does and stops it on SIGTERM;
its pid is the server's pid file and its process group holds the server, so `ecgflow server stop` and `make
down` stop both. What it does goes to the server's log.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

from cli.local_server import ACTIVE_RUNS, IDLE_S, LAST_USED, STATE, STOP_TIMEOUT_S, count_flow_runs, running

CHECK_S = float(os.environ.get("ECGFLOW_SERVER_CHECK_S", 30))  # how often it looks (tests look every second)


def last_used() -> float:
    return LAST_USED.stat().st_mtime if LAST_USED.exists() else 0.0


def in_use(api_url: str) -> bool:
    """A flow run at work, a worker of `make up` running, or a server that does not answer (busy is not idle)."""
    if any(running(pid_file.stem) for pid_file in STATE.glob("*.pid") if pid_file.stem != "server"):
        return True
    try:
        return count_flow_runs(api_url, ACTIVE_RUNS) > 0
    except OSError:
        return True


def stop_child(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def watch(server: subprocess.Popen, api_url: str) -> str:
    """Wait until the server exits or should stop (stopping it then); the reason."""
    busy_at = time.time()
    while True:
        try:
            return f"the server exited with code {server.wait(CHECK_S)}"
        except subprocess.TimeoutExpired:
            pass
        if not STATE.is_dir():
            return f"{STATE} is gone"
        if not IDLE_S or in_use(api_url):
            busy_at = time.time()
        elif time.time() - max(busy_at, last_used()) >= IDLE_S:
            with open(STATE / "server.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # the lock a command takes to use the server: none starts now
                if time.time() - last_used() >= IDLE_S:  # and none came in while this one waited for the lock
                    stop_child(server)
                    (STATE / "server.pid").unlink(missing_ok=True)  # the next command starts a server at once
                    return f"unused for {IDLE_S:.0f} s (ECGFLOW_SERVER_IDLE_S)"


def _stop_requested(signum, frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def main() -> None:
    api_url, *command = sys.argv[1:]
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop_requested)
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # its output goes where the guard's does
    try:
        reason = watch(server, api_url)
    except KeyboardInterrupt as signalled:
        reason = str(signalled)
    finally:
        stop_child(server)
    print(f"ecgflow server guard: {reason}; the Prefect server has stopped", flush=True)


if __name__ == "__main__":
    main()

"""The Prefect API an `ecgflow` command talks to, and the local Prefect server that provides one.

A command uses the API configured for it (PREFECT_API_URL from the environment or the active profile, as
`make up` sets it). Without one it uses the local server of its PREFECT_HOME: one `prefect server` shared by
every ecgflow command there, started by the first that needs it and kept running while it is used. So
commands side by side share one database instead of racing temporary servers over it, a command after the
first spends no time starting a server, and every run shows in the UI at the printed address.

The server runs under a guard (cli/server_guard.py) that stops it when its PREFECT_HOME is gone or after
ECGFLOW_SERVER_IDLE_S without use; the next command starts it again. `ecgflow server` shows or stops it,
`make down` stops it with the workers.

The server runs with analytics off (nothing reaches for the internet), concurrency leases kept on disk (a
`gpu` slot whose holder died comes back when its lease expires, whichever server process is up by then),
and its output in $PREFECT_HOME/ecgflow-stack/server.log, never in the user's terminal.
"""

from __future__ import annotations

import _thread
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ecg_core.ports import free_port

PREFECT_HOME = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
STATE = PREFECT_HOME / "ecgflow-stack"  # pid files, logs and the server's address, beside its database
LAST_USED = STATE / "last-used"  # touched as a command starts and ends using the local server (its mtime counts)
IDLE_S = float(os.environ.get("ECGFLOW_SERVER_IDLE_S", 3600))  # unused this long, the server stops; 0: never
DEFAULT_PORT = int(os.environ.get("ECGFLOW_PREFECT_PORT", 4200))
SERVER_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no telemetry: a local run reaches for no internet
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "5",  # how often expired leases are reclaimed
    "PREFECT_SERVER_DATABASE_TIMEOUT": "60",  # SQLite: wait out a busy writer (default 10 s) rather than fail
}
START_TIMEOUT_S = 180.0  # creating and migrating a fresh database takes 20-60 s on 2 busy cores
CHECK_EVERY_S = 5.0  # how often a running command checks that its Prefect API answers
API_GRACE_S = float(os.environ.get("ECGFLOW_API_GRACE_S", 20))  # how long it may not answer before the command ends
LOST_API_EXIT = 75  # EX_TEMPFAIL: try again later
STOP_TIMEOUT_S = 15.0  # how long a stopped process may take before SIGKILL
# Every flow run beats this often (Prefect's shortest interval; prefect.yaml's job variables say the same for the
# deployments): the server's automations (deployments/automations.yaml) mark a run Crashed when its beats stop.
HEARTBEAT_S = 30
ACTIVE_RUNS = {"state": {"type": {"any_": ["PENDING", "RUNNING", "CANCELLING"]}}}  # a FlowRunFilter: runs at work


def prefect(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def alive(pid: int) -> bool:
    """True while the process exists and has not exited (a zombie counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def running(name: str) -> int | None:
    """The pid of a process started here, if it is still alive."""
    pid_file = STATE / f"{name}.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    if not alive(pid):
        pid_file.unlink(missing_ok=True)
        return None
    return pid


def start(name: str, command: list[str], env: dict[str, str]) -> int:
    """Start a long-running process in its own session (it outlives the command; `make down` stops its group)."""
    if pid := running(name):
        return pid
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=STATE,  # a directory of its own: an installed ecgflow has no checkout to run in
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (STATE / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def stop(name: str) -> int | None:
    """Stop a process started here with its process group (SIGTERM, then SIGKILL after STOP_TIMEOUT_S); its pid,
    or None when it was not running."""
    pid = running(name)
    if pid is None:
        return None
    with contextlib.suppress(ProcessLookupError):  # it may exit on its own meanwhile (the server's guard does)
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)
    (STATE / f"{name}.pid").unlink(missing_ok=True)
    return pid


def mark_used() -> None:
    """Tell the server's guard that a command uses the server now (a home deleted meanwhile has no guard to tell)."""
    with contextlib.suppress(FileNotFoundError):
        LAST_USED.touch()


def health_status(api_url: str) -> int | None:
    """The HTTP status of the API's /health, None when nothing answers (an HTTP error is an answer too)."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def count_flow_runs(api_url: str, flow_runs: dict | None = None) -> int:
    """How many flow runs the server holds that match a FlowRunFilter (its REST API: the guard imports no Prefect)."""
    request = urllib.request.Request(
        f"{api_url}/flow_runs/count",
        data=json.dumps({"flow_runs": flow_runs or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def wait_healthy(api_url: str, timeout_s: float = START_TIMEOUT_S, process: str = "server") -> None:
    """Until the API answers; an error naming the log when `process` (started here) exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    log = STATE / f"{process}.log"
    while health_status(api_url) != 200:
        if not running(process):
            raise RuntimeError(f"the Prefect {process} exited during start-up; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Prefect {process} did not answer at {api_url} within {timeout_s:.0f} s; see {log}")
        time.sleep(0.5)


def served_at(api_url: str) -> dict[str, str]:
    """The server's own address for its UI: without it the UI's pages call port 4200 whatever port the server
    got, and show "Can't connect to Server API" (the UI asks /ui-settings where its API is)."""
    address = urllib.parse.urlparse(api_url)
    return {
        "PREFECT_SERVER_API_HOST": address.hostname,
        "PREFECT_SERVER_API_PORT": str(address.port),
        "PREFECT_UI_API_URL": api_url,
        "PREFECT_UI_URL": ui_url(api_url),
    }


def ui_url(api_url: str) -> str:
    return api_url.removesuffix("/api")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # as the server binds: a port held only by a stopped server's closing connections (TIME_WAIT) is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def ensure_server(port: int | None = None) -> str:
    """The API URL of this PREFECT_HOME's local server, started now if it is not running. Commands that start
    at once wait for each other here (a file lock), so exactly one server starts."""
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        mark_used()  # under the lock the guard takes to stop an idle server: it sees this command, or is gone
        url_file = STATE / "server.url"
        if running("server") and url_file.exists():
            api_url = url_file.read_text().strip()
        else:
            port = port or (DEFAULT_PORT if _port_free(DEFAULT_PORT) else free_port())
            api_url = f"http://127.0.0.1:{port}/api"
            env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | SERVER_ENV | served_at(api_url)
            server = prefect("server", "start", "--host", "127.0.0.1", "--port", str(port))
            start("server", [sys.executable, "-m", "cli.server_guard", api_url, *server], env)
            url_file.write_text(api_url)
        wait_healthy(api_url)
    return api_url


def _is_local_server(api_url: str) -> bool:
    """The profile points at this PREFECT_HOME's local server (`make up` sets it): the command goes through
    ensure_server too, which tells the guard it is used and starts the server again when it stopped (idle, a
    reboot, a kill) rather than fail on a dead address."""
    url_file = STATE / "server.url"
    return url_file.exists() and url_file.read_text().strip() == api_url


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """Run the body against the configured Prefect API, or else against this PREFECT_HOME's local server; its flow
    runs beat every HEARTBEAT_S, as the deployments' runs do."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    beating = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_S}
    configured = get_current_settings().api.url
    if configured and not _is_local_server(configured):
        with temporary_settings(updates=beating):
            yield configured
        return
    api_url = ensure_server(urllib.parse.urlparse(configured).port if configured else None)  # the profile's port
    os.environ["PREFECT_API_URL"] = api_url  # for the processes the command starts (Dask workers)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url} | beating):
            yield api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        mark_used()  # the idle period counts from the end of the last command


class ApiWatchdog:
    """Notices when the command's Prefect API goes away mid-run, and then ends the command in bounded time.

    Without it a stage goes on unobserved, and at its end Prefect retries the dead API for minutes. After
    `lost_after_s` of failed health checks it says so in one line, interrupts the main thread (the stage
    stops as on Ctrl-C: its training process group ends, the work so far stays in the store) and, should
    the command still be waiting on the dead API `exit_grace_s` later, exits the process.
    """

    def __init__(self, api_url: str, message: str, lost_after_s: float = API_GRACE_S, exit_grace_s: float = 20.0):
        self.api_url, self.message = api_url, message
        self.lost_after_s, self.exit_grace_s = lost_after_s, exit_grace_s
        self.lost = False
        self._stop = threading.Event()

    def __enter__(self) -> ApiWatchdog:
        threading.Thread(target=self._watch, daemon=True, name="prefect-api-watchdog").start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()

    def _watch(self) -> None:
        down_since = None
        while not self._stop.wait(CHECK_EVERY_S):
            if health_status(self.api_url) is not None:  # a hosted API may not serve /health: any answer
                down_since = None
                continue
            down_since = down_since or time.monotonic()
            if time.monotonic() - down_since >= self.lost_after_s:
                self.lost = True
                print(self.message, file=sys.stderr, flush=True)
                _thread.interrupt_main()
                time.sleep(self.exit_grace_s)
                os._exit(LOST_API_EXIT)

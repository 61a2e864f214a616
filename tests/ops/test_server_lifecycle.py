"""The local Prefect server as people meet it, with real processes: `ecgflow server` on an empty PREFECT_HOME
starts nothing; a command starts the server and `ecgflow server` shows it; left unused it stops after
ECGFLOW_SERVER_IDLE_S and the next command brings it back; `ecgflow server stop` stops it; a server whose
PREFECT_HOME is deleted stops. The guard looks every second here (ECGFLOW_SERVER_CHECK_S)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cli.local_server import health_status
from tests.ops.commands import ecgflow as run_ecgflow
from tests.ops.commands import home_env
from tests.ops.waits import wait_for

IDLE_S = 20


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A PREFECT_HOME of the module's own (not created yet), whose server never stops for idleness unless a test
    says so; its server stopped at the end."""
    path = tmp_path_factory.mktemp("server-lifecycle") / "prefect-home"
    env = home_env(path, ECGFLOW_SERVER_CHECK_S="1", ECGFLOW_SERVER_IDLE_S="0")
    yield env
    ecgflow("server stop", env)


def ecgflow(command: str, env: dict) -> subprocess.CompletedProcess:
    out = run_ecgflow(command, env)
    assert out.returncode == 0, f"ecgflow {command}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    return out


def ingest(env: dict, store: Path) -> None:
    """A small command that runs a flow: it starts the server when none runs."""
    ecgflow(f"ingest synthetic --n-records 2 --fs 100 --store {store}", env)


def status(env: dict) -> dict[str, str]:
    lines = ecgflow("server", env).stdout.splitlines()
    assert lines[0] == "Prefect server: running", lines
    return {name.strip(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}


def last_used(env: dict) -> float:
    return (Path(env["PREFECT_HOME"]) / "ecgflow-stack/last-used").stat().st_mtime


def server_pid(env: dict) -> int:
    return int((Path(env["PREFECT_HOME"]) / "ecgflow-stack/server.pid").read_text())


def gone(pgid: int) -> bool:
    """No process of the group (the guard and its Prefect server) runs any more; a zombie counts as gone."""
    return not any(_group(proc) == pgid for proc in Path("/proc").glob("[0-9]*"))


def _group(proc: Path) -> int | None:
    try:
        state, _, group = (proc / "stat").read_text().rsplit(")", 1)[1].split()[:3]  # after the name
    except (FileNotFoundError, ValueError):
        return None
    return int(group) if state != "Z" else None


def test_status_of_a_home_without_a_server_says_so_and_starts_nothing(home):
    out = ecgflow("server", home).stdout
    assert out.startswith(f"Prefect server of {home['PREFECT_HOME']}: not running"), out
    assert not (Path(home["PREFECT_HOME"]) / "ecgflow-stack").exists()  # (Prefect's import makes the home itself)
    port = int(home["ECGFLOW_PREFECT_PORT"])
    assert health_status(f"http://127.0.0.1:{port}/api") is None


def test_shown_stops_when_unused_comes_back_with_a_command_and_stops_on_request(home, tmp_path):
    ingest(home | {"ECGFLOW_SERVER_IDLE_S": str(IDLE_S)}, tmp_path / "a")
    used = last_used(home)  # when the command last told the guard it used the server: the idle period starts
    pid, url = server_pid(home), f"http://127.0.0.1:{home['ECGFLOW_PREFECT_PORT']}"
    shown = status(home)
    assert (shown["URL"], shown["PID"], shown["PREFECT_HOME"]) == (url, str(pid), home["PREFECT_HOME"])
    assert re.fullmatch(r"\d+ min \d\d s", shown["uptime"]), shown
    total, active = map(int, re.fullmatch(r"(\d+) \((\d+) active\)", shown["flow runs"]).groups())
    assert total >= 1 and active == 0, shown

    wait_for(lambda: gone(pid), IDLE_S + 60, "the unused server stops")
    idle = time.time() - used
    print(f"the unused server stopped {idle:.0f} s after the last command (ECGFLOW_SERVER_IDLE_S={IDLE_S})")
    assert idle >= IDLE_S - 1 and health_status(f"{url}/api") is None
    log = (Path(home["PREFECT_HOME"]) / "ecgflow-stack/server.log").read_text()
    assert f"unused for {IDLE_S} s" in log
    assert ecgflow("server", home).stdout.startswith(f"Prefect server of {home['PREFECT_HOME']}: not running")

    started = time.monotonic()
    ingest(home, tmp_path / "b")  # the next command starts it again, on the same database
    print(f"the next command took {time.monotonic() - started:.0f} s, the server's start included")
    again = status(home)
    assert again["PID"] != str(pid) and again["URL"] == url
    assert int(again["flow runs"].split()[0]) > total, again

    pid = int(again["PID"])
    out = ecgflow("server stop", home).stdout
    assert out.strip() == f"Prefect server (pid {pid}): stopped" and gone(pid)
    assert (
        health_status(f"{url}/api") is None and not (Path(home["PREFECT_HOME"]) / "ecgflow-stack/server.pid").exists()
    )


def test_a_server_whose_home_is_deleted_stops(home, tmp_path):
    ingest(home, tmp_path / "a")
    pid = server_pid(home)
    assert not gone(pid)
    shutil.rmtree(home["PREFECT_HOME"])
    took = wait_for(lambda: gone(pid), 30, "the server of a deleted PREFECT_HOME stops")
    print(f"the server stopped {took:.1f} s after its PREFECT_HOME was deleted")
    assert health_status(f"http://127.0.0.1:{home['ECGFLOW_PREFECT_PORT']}/api") is None

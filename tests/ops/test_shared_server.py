"""Commands people start side by side on an empty PREFECT_HOME, as real processes: one local server, started by
the first of them, shared; a profile left pointing at a dead local server gets it back."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.ops.commands import ECGFLOW, ROOT, ecgflow

NEWCOMER = True  # the module's PREFECT_HOME starts empty (tests/ops/conftest.py)


def test_commands_side_by_side_share_one_server_that_the_first_starts(home, tmp_path):
    started = time.monotonic()
    runs = [
        subprocess.Popen(
            [
                *ECGFLOW,
                "ingest",
                "synthetic",
                "--n-records",
                "8",
                "--fs",
                "100",
                "--store",
                str(tmp_path / f"store-{i}"),
            ],
            cwd=ROOT,
            env=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(3)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    first = time.monotonic() - started
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert all(json.loads(out[out.rindex("\n{\n") + 1 :])["new"] == 8 for out in outputs)  # the printed summary
    ui = f"http://127.0.0.1:{home['ECGFLOW_PREFECT_PORT']}"
    assert all(
        re.search(rf"^ecgflow: flow run 'ingest synthetic' at {ui}/runs/flow-run/[0-9a-f-]{{36}}$", out, re.M)
        for out in outputs
    ), outputs  # where the run shows in the UI
    assert not any(
        "Traceback" in out or "database is locked" in out for out in outputs
    )  # server noise stays in its log
    servers = subprocess.run(["pgrep", "-f", "prefect server start"], capture_output=True, text=True).stdout.split()
    state = Path(home["PREFECT_HOME"]) / "ecgflow-stack"
    assert (state / "server.pid").read_text() in servers and (state / "server.log").exists()

    server = (state / "server.pid").read_text()
    started = time.monotonic()
    assert ecgflow(f"ingest synthetic --n-records 8 --fs 100 --store {tmp_path / 'store-0'}", home).returncode == 0
    later = time.monotonic() - started
    print(f"first 3 commands at once on an empty PREFECT_HOME: {first:.1f} s; a later command: {later:.1f} s")
    assert (state / "server.pid").read_text() == server and server in servers  # the later command started none


def test_a_profile_left_pointing_at_a_dead_local_server_gets_it_back(home, tmp_path):
    """`make up` set the profile, then the machine rebooted: the next command starts the server again there."""
    state = Path(home["PREFECT_HOME"]) / "ecgflow-stack"
    assert ecgflow(f"ingest synthetic --n-records 4 --fs 100 --store {tmp_path / 'a'}", home).returncode == 0
    api_url = (state / "server.url").read_text()
    prefect = [sys.executable, "-m", "prefect", "config", "set", f"PREFECT_API_URL={api_url}"]
    subprocess.run(prefect, cwd=ROOT, env=home, check=True, capture_output=True)
    os.killpg(int((state / "server.pid").read_text()), signal.SIGKILL)

    out = ecgflow(f"ingest synthetic --n-records 4 --fs 100 --store {tmp_path / 'b'}", home)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert (state / "server.url").read_text() == api_url  # the same address the profile holds

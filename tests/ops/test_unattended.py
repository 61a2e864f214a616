"""A training run people leave alone, as real processes with real signals: Ctrl-C or a lost server (everything
stops, the run is marked, the same command resumes). A run killed with SIGKILL: test_killed_run.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.ops.commands import TRAIN, ecgflow, start, training_processes
from tests.ops.waits import wait_for


def test_ctrl_c_or_a_lost_server_stop_training_and_the_same_command_resumes(home, small_store, tmp_path):
    """Ctrl-C at the first checkpoint; the same command again, its server killed at the second checkpoint;
    the same command once more finishes the run (40 steps, a checkpoint every 10)."""
    store, model = small_store
    run_dir = store / "runs/interrupted"
    command = TRAIN.format(model=model, store=store, run="interrupted")
    command += " --set max_steps=40 save_strategy=steps save_steps=10 save_total_limit=3 logging_steps=5"
    run = start(command, home, tmp_path / "first.log")
    wait_for(lambda: (run_dir / "checkpoint-10").exists(), 240, "a first checkpoint")
    run.send_signal(signal.SIGINT)  # what Ctrl-C sends the command
    took = wait_for(lambda: run.poll() is not None, 60, "the command stops")
    print(f"stopped {took:.1f} s after Ctrl-C")
    log = (tmp_path / "first.log").read_text()
    assert run.returncode == 130 and "Run the same command again to resume" in log
    assert not training_processes(run_dir)  # no training process left behind
    probe = (
        "from prefect.client.orchestration import get_client\n"
        "with get_client(sync_client=True) as c:\n"
        "    print(*[r.state.type.value for r in c.read_flow_runs() if r.name == 'train interrupted'])"
    )
    env = home | {"PREFECT_API_URL": (Path(home["PREFECT_HOME"]) / "ecgflow-stack/server.url").read_text()}
    states = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout.split()
    assert states and states[0] in ("CRASHED", "CANCELLED")  # not left Running

    run = start(command, home | {"ECGFLOW_API_GRACE_S": "5"}, tmp_path / "lost.log")  # 20 s by default
    wait_for(lambda: (run_dir / "checkpoint-20").exists(), 240, "a second checkpoint")
    server = int((Path(home["PREFECT_HOME"]) / "ecgflow-stack/server.pid").read_text())
    os.killpg(server, signal.SIGKILL)  # the server and its database connections, gone
    took = wait_for(lambda: run.poll() is not None, 120, "the command ends")
    print(f"the command ended {took:.0f} s after its server died")
    log = (tmp_path / "lost.log").read_text()
    assert run.returncode == 75 and "lost the Prefect API at http://127.0.0.1:" in log
    assert "Run the same command again to resume" in log and not training_processes(run_dir)

    again = ecgflow(command, home)  # starts the local server again
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    summary = json.loads((run_dir / "train_log.jsonl").read_text().splitlines()[-1])
    assert summary["global_step"] == 40 and summary["resumed_from_step"] >= 20

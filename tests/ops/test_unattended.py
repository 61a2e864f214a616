"""Commands people leave alone, as real processes with real signals: the first command on an empty PREFECT_HOME,
commands side by side (one local server, started on demand), a training run killed with SIGKILL (its `gpu`
slot comes back), and Ctrl-C (everything stops, the run is marked, the same command resumes)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecg_core.model.tiny import build_tiny_mllama
from ecg_core.ports import free_port
from tests.ops.waits import wait_for

ROOT = Path(__file__).resolve().parents[2]
ECGFLOW = [sys.executable, "-m", "flows.cli"]
TRAIN = "train --model {model} --instruct small --config tiny-cpu.yaml --store {store} --run-id {run}"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """An empty PREFECT_HOME of the module's own, its local server stopped at the end."""
    path = tmp_path_factory.mktemp("prefect-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(path), "ECGFLOW_PREFECT_PORT": str(free_port()), "PYTHONUNBUFFERED": "1"}
    yield env
    subprocess.run([sys.executable, "deployments/stack.py", "down"], cwd=ROOT, env=env, capture_output=True)


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


@pytest.fixture(scope="module")
def small_store(home, tmp_path_factory):
    """40 synthetic records rendered, the demo's instruction set, a tiny model trained on its texts."""
    root = tmp_path_factory.mktemp("unattended")
    store = root / "store"
    for command in (
        f"ingest synthetic --n-records 40 --fs 100 --seed 5 --store {store}",
        f"render synthetic --config render/plain.yaml --set dpi=50 --store {store}",
        f"instruct small --datasets synthetic --config instruct/demo.yaml --store {store}",
    ):
        out = ecgflow(command, home)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    corpus = [
        t["value"]
        for line in (store / "instruct/small/train.jsonl").read_text().splitlines()
        for t in json.loads(line)["conversations"]
    ]
    return store, build_tiny_mllama(root / "tiny", corpus=corpus)


def test_a_killed_run_gives_its_gpu_slot_back(home, small_store, tmp_path):
    store, model = small_store
    long_run = start(
        TRAIN.format(model=model, store=store, run="killed") + " --set max_steps=5000 logging_steps=1",
        home,
        tmp_path / "killed.log",
    )
    wait_for(lambda: (store / "runs/killed/train_log.jsonl").exists(), 180, "the first run trains")
    os.killpg(long_run.pid, signal.SIGKILL)  # the command dies without a word (its training has a group of its own)
    long_run.wait()
    wait_for(lambda: not training_processes(store / "runs/killed"), 30, "the orphaned training stops")

    started = time.monotonic()
    out = ecgflow(TRAIN.format(model=model, store=store, run="next") + " --set max_steps=2 save_strategy=no", home)
    took = time.monotonic() - started
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "held: 1 slot(s) by task run" in out.stdout + out.stderr  # the waiting run names the dead holder
    print(f"the next run trained and finished {took:.0f} s after the holder was killed")
    assert took < 180  # lease 60 s + reclaim loop 5 s + a tiny training


def test_ctrl_c_or_a_lost_server_stop_training_and_the_same_command_resumes(home, small_store, tmp_path):
    """Ctrl-C at the first checkpoint; the same command again, its server killed at the second checkpoint;
    the same command once more finishes the run."""
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

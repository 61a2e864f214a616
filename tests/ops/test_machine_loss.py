"""A GPU machine lost mid-run, as it happens: `stack.py up` (server, pools, the `gpu` limit of 1, deployments, the
crash/requeue/notification automations) with the store in S3 (moto's server over HTTP); two `gpu`-pool workers
stand for two machines, each with its own S3 cache and working folder, sharing only the store and the API. A
training deployment run starts on the first; once the store holds a complete checkpoint, the first worker and
everything under it are SIGKILLed. The run must be marked Crashed within the heartbeat window, requeued, taken by
the second worker, resume at that checkpoint (not step 0), finish with its adapter in the store, and the `gpu`
limit must never have two holders. A loopback webhook is told of the crash, and of a retraining's decision."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.local_server import HEARTBEAT_S
from ecg_core.ports import free_port
from ecg_core.store import open_store
from ecg_core.train.checkpoints import complete_steps, stored_checkpoints
from tests.ops.commands import ROOT, seeded_home, stack_env
from tests.ops.waits import wait_for
from tests.ops.webhook import Webhook

CRASH_AFTER_S = 60  # the automation's window: two beats (30 s apart) may go missing before a run counts as lost
RUN = "lost"
PROBE = """
import json, sys, time
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    if sys.argv[1] == "submit":
        from prefect.deployments import run_deployment
        print(run_deployment("train/train", parameters=json.loads(sys.argv[2]), timeout=0).id)
    elif sys.argv[1] == "completed":  # the run's states, once it completed (polled here: one process, not one a look)
        while client.read_flow_run(sys.argv[2]).state.type.value != "COMPLETED":
            time.sleep(1)
        states = client.read_flow_run_states(sys.argv[2])
        print(json.dumps([[s.type.value, s.name, s.message, s.timestamp.timestamp()] for s in states]))
    elif sys.argv[1] == "automations":
        train = client.read_deployment_by_name("train/train")
        names = sorted(a.name for a in client.read_automations())
        print(json.dumps({"names": names, "env": train.job_variables["env"]}))
    elif sys.argv[1] == "slots":  # the gpu limit's holders, sampled until the file named in argv[2] appears
        from pathlib import Path
        peak = 0
        while not Path(sys.argv[2]).exists():
            peak = max(peak, client.read_global_concurrency_limit_by_name("gpu").active_slots)
            time.sleep(0.5)
        print(peak)
"""
DECIDE = """
import sys
from ecg_core.promotion import decide
from tasks.registry import record_decision
current = {"metric": "macro_f1", "split": "weekly", "n": 40, "gain": 0.21, "ci95": [0.06, 0.33],
           "champion": 0.5, "challenger": 0.71}
decision = decide(current, None)
record_decision.fn(sys.argv[1], "weekly", "challenger-7", decision)
print(decision["reason"])
"""


def _tree(pid: int) -> list[int]:
    """The process and everything under it, however deep (the training runs in a session of its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while being read
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree = [pid]
    for member in tree:  # grows while it is walked: breadth first
        tree += children.get(member, [])
    return tree


def _python(script: str, *args: str, env: dict, timeout: float = 120) -> str:
    out = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.timeout(900)  # about 7 minutes inside the suite on 2 cores; alone, half that
def test_a_lost_machine_costs_minutes_not_the_run(s3_env, small_store, prefect_database, tmp_path):
    client, bucket = s3_env
    uri = f"s3://{bucket}/fleet"
    local_store, model = small_store
    store = open_store(uri)
    for path in sorted(local_store.rglob("*")):  # what a training reads: the instruction set and its pages
        if path.is_file() and path.relative_to(local_store).parts[0] in ("instruct", "images"):
            store.put_bytes(path.relative_to(local_store).as_posix(), path.read_bytes())

    receiver = Webhook()
    port = free_port()
    home = seeded_home(tmp_path / "prefect-home", prefect_database)
    base = stack_env(home, PREFECT_API_URL=f"http://127.0.0.1:{port}/api")
    machine = {name: base | {"ECGFLOW_S3_CACHE": str(tmp_path / f"cache-{name}")} for name in ("a", "b")}
    stack = [sys.executable, "deployments/stack.py"]
    up = [*stack, "up", "--port", str(port), "--gpus", "1", "--store", uri, "--crash-after-s", str(CRASH_AFTER_S)]
    up += ["--notify-url", receiver.url]
    out = subprocess.run(up, cwd=ROOT, env=machine["a"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    worker_b = None
    try:
        applied = json.loads(_python(PROBE, "automations", env=base))  # a second `up` updates them: test_postgres_stack
        done = tmp_path / "done"
        slots = subprocess.Popen(
            [sys.executable, "-c", PROBE, "slots", str(done)], cwd=ROOT, env=base, stdout=subprocess.PIPE, text=True
        )
        params = {"run_id": RUN, "model": str(model), "instruct": "small", "launch": {}}
        params["recipe"] = {
            "config": "tiny-cpu.yaml",
            "overrides": {"max_steps": 60, "save_steps": 10, "logging_steps": 5},
        }
        flow_run_id = _python(PROBE, "submit", json.dumps(params), env=base)

        def checkpoints_in_s3() -> list[int]:
            return complete_steps(stored_checkpoints(store, f"runs/{RUN}"), f"runs/{RUN}")

        wait_for(checkpoints_in_s3, 300, "a checkpoint in S3", every=0.5)  # each look a listing that moto serves here
        worker_a = int((home / "ecgflow-stack/worker-gpu.pid").read_text())
        for pid in _tree(worker_a):  # the machine vanishes: worker, flow run, training, all at once
            os.kill(pid, signal.SIGKILL)
        killed_at = time.time()
        resumable = checkpoints_in_s3()[-1]
        # The second machine's worker, in a working folder of its own.
        (tmp_path / "machine-b").mkdir()
        worker_b = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", "gpu", "--type", "process"],
            cwd=tmp_path / "machine-b",
            env=machine["b"],
            stdout=(tmp_path / "worker-b.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        history = json.loads(_python(PROBE, "completed", flow_run_id, env=base, timeout=420))  # requeued, then done
        done.touch()
        peak_holders = int(slots.communicate(timeout=60)[0].strip())
        _python(DECIDE, uri, env=base)  # the retraining flow's own decision task, outside a flow run
        wait_for(lambda: len(receiver.posts) >= 2, 60, "the webhook hears of the crash and the decision")
    finally:
        if worker_b is not None:
            os.killpg(worker_b.pid, signal.SIGKILL)  # a worker told to stop may wait on its runs; this one must go
        subprocess.run([*stack, "down"], cwd=ROOT, env=machine["a"], capture_output=True, timeout=60)
        receiver.close()

    kinds = [(kind, name) for kind, name, _, _ in history]
    crashed = next(s for s in history if s[0] == "CRASHED")
    requeued = next(s for s in history if s[1] == "Requeued")
    assert kinds.index(("CRASHED", "Crashed")) < kinds.index(("SCHEDULED", "Requeued")) < len(kinds) - 1, kinds
    assert kinds[-1] == ("COMPLETED", "Completed") and kinds.count(("RUNNING", "Running")) == 2, kinds
    assert "no heartbeat" in crashed[2] and "resumes from the store" in requeued[2]
    detected_s = crashed[3] - killed_at
    assert detected_s <= CRASH_AFTER_S + 30 + 10, detected_s  # the window after the last beat, beats 30 s apart

    run_b = tmp_path / "cache-b" / bucket / "fleet" / "runs" / RUN
    log = [json.loads(line) for line in (run_b / "train_log.jsonl").read_text().splitlines()]
    summary = log[-1]
    assert summary["resumed_from_step"] == resumable > 0 and summary["global_step"] == 60
    assert [r["step"] for r in log if "loss" in r] == [1, *range(5, 61, 5)]  # none missing, none twice
    assert store.exists(f"runs/{RUN}/adapter/adapter_config.json") and store.exists(f"runs/{RUN}/finished.json")
    assert peak_holders == 1  # the dead machine's slot came back by its lease; never two holders
    assert applied["names"] == [
        "ecgflow: crash runs whose heartbeats stop",
        "ecgflow: requeue crashed runs",
        "ecgflow: stop requeueing runs that keep crashing",
        "ecgflow: tell of crashed runs",
        "ecgflow: tell of retraining decisions",
        "ecgflow: tell of sign-offs waiting",
        "retrain: new records",  # the retrain deployment's trigger (deployments/prefect.yaml)
    ]
    assert applied["env"] == {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S)}  # as the ecgflow commands beat
    texts = [post["text"] for post in receiver.posts]
    assert any(f"train {RUN}" in t and "crashed" in t and "no heartbeat" in t for t in texts), texts
    assert any("Retraining weekly: promoted" in t and "95% interval" in t for t in texts), texts
    trained_again_s = (run_b / "trainable.json").stat().st_mtime - killed_at
    redone = max(r["step"] for r in _log(tmp_path / "cache-a" / bucket / "fleet" / "runs" / RUN)) - resumable
    print(
        f"machine lost at step <= {resumable + redone}: Crashed {detected_s:.0f} s after the kill, training again on "
        f"the other machine {trained_again_s:.0f} s after it, from checkpoint {resumable} ({redone} steps redone)"
    )


def _log(run: Path) -> list[dict]:
    return [r for line in (run / "train_log.jsonl").read_text().splitlines() if "loss" in (r := json.loads(line))]

"""`make up` for real: a `prefect server`, process workers on the `cpu` and `gpu` pools, every deployment, and
`prefect deployment run pipeline/pipeline` on the tiny model and synthetic data with the store in S3 (moto's
server over HTTP); the pipeline's ingest of new records starts the `retrain` deployment through its trigger
(below its threshold, that run ends at once, recorded). Then 6 flow runs submitted at once (3 ingests, one of
them adding nothing to the deployments' store and so starting nothing, 2 trainings, the interpret deployment
reading images under an S3 prefix) all complete on the stack's SQLite database without two trainings ever
holding the single `gpu` slot. Then `make down` stops it all."""

import json
import re
import subprocess
import sys
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from ecg_core.ports import free_port
from tests.fixtures import REALDATA
from tests.ops.browser import rendered_page
from tests.ops.commands import seeded_home, stack_env

ROOT = Path(__file__).resolve().parents[2]
EVALUATION_ARTIFACTS = ("eval-ops-table", "eval-ops-leaderboard", "eval-ops-report")
EMBEDDED_PNG = 'src="data:image/png;base64,'  # a picture drawn inside the page
# Per page, text that shows only once its content (not just the page's frame) has loaded.
SHOWN_WHEN_LOADED = {
    "flow-run": "pipeline ops",
    "eval-ops-table": "AUC",
    "eval-ops-leaderboard": "ops/",
    "eval-ops-report": "ROC",
}


SUBMIT_AND_WAIT = """
import json, sys, time
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError
jobs = json.loads(sys.argv[1])

def submit(name, params):
    # A submitter's own retries on top of the client's: SQLite under a burst can answer 503 for a while.
    for attempt in range(5):
        try:
            return run_deployment(name, parameters=params, timeout=0)
        except PrefectHTTPStatusError:
            if attempt == 4:
                raise
            time.sleep(5)

runs = [submit(name, params) for name, params in jobs]
ids = [run.id for run in runs]
deadline = time.monotonic() + 600
with get_client(sync_client=True) as client:
    while True:
        found = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))  # one request
        states = [next(r.state for r in found if r.id == i) for i in ids]
        if all(s.is_final() for s in states) or time.monotonic() > deadline:
            break
        time.sleep(2)
print(json.dumps([[name, s.type.value, s.message] for (name, _), s in zip(jobs, states)]))
"""


# What the `retrain` deployment's trigger did: the ingests' events and the deployment's runs that left the queue.
TRIGGERED = """
import json, httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.settings import get_current_settings
api = get_current_settings().api.url
query = {"filter": {"event": {"name": ["ecgflow.records.ingested"]}}, "limit": 50}
events = httpx.post(f"{api}/events/filter", json=query).json()["events"]
with get_client(sync_client=True) as client:
    retrain = DeploymentFilter(name=DeploymentFilterName(any_=["retrain"]))
    runs = [r for r in client.read_flow_runs(deployment_filter=retrain) if r.start_time]  # not the calendar's to come
print(json.dumps({
    "events": [[e["occurred"], e["resource"]["ecgflow.store"], int(e["payload"]["new"])] for e in events],
    "runs": [[r.name, r.parameters, r.state.type.value, r.start_time.isoformat()] for r in runs],
}))
"""


def _run(command: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{command}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def _bucket_keys(client, bucket: str) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.mark.timeout(900)  # about 7 minutes inside the suite on 2 cores
def test_make_up_then_deployment_run_pipeline_lands_in_s3(s3_env, prefect_database, tmp_path):
    client, bucket = s3_env
    store = f"s3://{bucket}/ops"
    port = free_port()
    home = seeded_home(tmp_path / "prefect-home", prefect_database)  # a profile and server database of its own
    env = stack_env(home)
    stack = [sys.executable, "deployments/stack.py"]
    _run([*stack, "up", "--port", str(port), "--gpus", "1", "--store", store], env, timeout=300)
    profile = home / "profiles.toml"
    assert f'PREFECT_API_URL = "http://127.0.0.1:{port}/api"' in profile.read_text()  # commands use the stack's API
    try:
        prefect = [sys.executable, "-m", "prefect"]
        params = {
            "settings": {
                "config": "demo.yaml",
                "overrides": {
                    "name": "ops",
                    "n_records": 30,
                    "fs": 100.0,
                    "dpi": 50.0,
                    "eval_batch_size": 8,
                    "recipe.max_steps": 4,
                    "recipe.save_strategy": "no",
                    "cnns": {},  # no reference CNNs: the run tests the chain, not the table
                },
            }
        }
        # A parameter that fails the flow's signature is refused by Prefect with the reason; nothing runs.
        bad = subprocess.run(
            [*prefect, "deployment", "run", "pipeline/pipeline", "-p", "settings=7"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert bad.returncode != 0 and "settings" in bad.stdout + bad.stderr
        # The profile now points at the stack's server: a plain `prefect deployment run` reaches it.
        run = _run(
            [
                *prefect,
                "deployment",
                "run",
                "pipeline/pipeline",
                "--params",
                json.dumps(params),
                "--watch",
                "--watch-timeout",
                "420",
            ],
            env,
            timeout=480,
        )
        assert "Completed" in run.stdout
        flow_run_id = run.stdout.split("UUID: ")[1].split()[0]
        probe = (
            "import json, sys\n"
            "from prefect.client.orchestration import get_client\n"
            "with get_client(sync_client=True) as c:\n"
            "    run = c.read_flow_run(sys.argv[1])\n"
            "    deployments = {d.name: d for d in c.read_deployments()}\n"
            "    weekly = deployments['retrain']\n"
            "    train = deployments['train']\n"
            "    print(json.dumps({'state': run.state.type.value, 'name': run.name, 'store': run.parameters['store'],\n"
            "        'pools': {n: d.work_pool_name for n, d in deployments.items()},\n"
            "        'cron': [s.schedule.cron for s in weekly.schedules], 'weekly': [s.parameters for s in weekly.schedules],\n"
            "        'train': [train.work_queue_name, train.global_concurrency_limit.limit,\n"
            "                  str(train.concurrency_options.collision_strategy.value), train.parameters['launch']['launcher'],\n"
            "                  train.entrypoint, sorted(train.parameter_openapi_schema['required'])],\n"
            "        'gpu_limit': c.read_global_concurrency_limit_by_name('gpu').limit,\n"
            "        'artifacts': {a.key: str(a.id) for a in c.read_artifacts() if a.key}}))\n"
        )
        ui = f"http://127.0.0.1:{port}"
        seen = json.loads(_run([sys.executable, "-c", probe, flow_run_id], env, timeout=60).stdout)
        with urllib.request.urlopen(f"{ui}/ui-settings") as reply:  # where the UI's pages look for the API
            ui_api_url = json.load(reply)["api_url"]
        pages = ui_pages(ui, flow_run_id, seen["artifacts"], tmp_path / "ui")

        # Load: 6 runs submitted at once, 3 small ingests on the cpu pool, 2 trainings and a batch of new images
        # to read through the gpu queue.
        [model] = [str(p.parent) for p in Path(env["ECGFLOW_S3_CACHE"]).rglob("models/tiny-mllama-ops/config.json")]
        ingest = {"source": "synthetic", "options": {"n_records": 4, "fs": 100.0}}
        train = {
            "model": model,
            "instruct": "ops",
            "recipe": {"config": "tiny-cpu.yaml", "overrides": {"max_steps": 3, "save_strategy": "no"}},
            "launch": {},
            "store": store,
        }
        jobs = [["ingest/ingest", ingest | {"store": str(tmp_path / f"ingest-{i}")}] for i in range(2)]
        # The pipeline's records again, into its store: nothing new, so no retraining starts.
        again = {"n_records": 30, "seed": 0, "fs": 100.0, "seconds": 10.0}
        jobs += [["ingest/ingest", {"source": "synthetic", "options": again, "store": store}]]
        jobs += [["train/train", train | {"run_id": f"load-{i}"}] for i in range(2)]
        # New images under an S3 prefix, read by the pipeline's run through the interpret deployment.
        for scan in sorted((REALDATA / "images").glob("*.jpg"))[:2]:
            client.put_object(Bucket=bucket, Key=f"incoming/{scan.name}", Body=scan.read_bytes())
        client.put_object(Bucket=bucket, Key="incoming/notes.txt", Body=b"not an image")
        reading = {"inputs": [f"s3://{bucket}/incoming/"], "model": model, "run_id": "ops", "batch": "incoming"}
        jobs += [["interpret/interpret", reading | {"store": store}]]
        load = json.loads(_run([sys.executable, "-c", SUBMIT_AND_WAIT, json.dumps(jobs)], env, timeout=720).stdout)
        triggered = json.loads(_run([sys.executable, "-c", TRIGGERED], env, timeout=60).stdout)
    finally:
        _run([*stack, "down"], env, timeout=60)

    assert "PREFECT_API_URL" not in profile.read_text()  # after `make down`, commands start a local server again
    assert seen["state"] == "COMPLETED" and seen["name"] == "pipeline ops" and seen["store"] == store
    assert seen["pools"] == {
        "ingest": "cpu",
        "render": "cpu",
        "instruct": "cpu",
        "train": "gpu",
        "evaluate": "gpu",
        "ablate": "gpu",
        "cnn": "gpu",
        "interpret": "gpu",
        "pipeline": "gpu",
        "retrain": "gpu",
    }
    assert seen["cron"] == ["0 3 * * 1"] and seen["weekly"] == [{"store": store, "name": "weekly"}]
    assert seen["train"] == [
        "gpu",
        1,
        "ENQUEUE",
        "deepspeed",
        "flows.train:train_flow",
        ["instruct", "model", "run_id", "store"],
    ]
    assert seen["gpu_limit"] == 1

    # The UI, rendered by a real browser from the stack's server on its own port (not 4200), reaches its API.
    assert ui_api_url == f"http://127.0.0.1:{port}/api"
    assert all("Can't connect to Server API" not in text for text in pages.values()), pages
    assert "pipeline ops" in pages["flow-run"] and "Completed" in pages["flow-run"]
    table = pages["eval-ops-table"]
    assert "AUC (scores)" in table and "report score (0-100)" in table
    assert re.search(r"baseline \d\.\d{3} \[\d\.\d{3}-\d\.\d{3}\]", table), table  # Table I, with intervals
    assert re.search(r"finetuned \d\.\d{3} \[", table), table
    board = pages["eval-ops-leaderboard"]
    assert "ops/report score" in board and re.search(r"finetuned( [-\d.\[\] ]+)+", board), board
    report = pages["eval-ops-report"]
    assert "ROC" in report and int(re.search(r"\[(\d+) embedded PNG\]", report)[1]) >= 2, report

    keys = _bucket_keys(client, bucket)
    assert {
        "ops/records/synthetic/manifest.json",
        "ops/instruct/ops/train.jsonl",
        "ops/runs/ops/adapter/adapter_config.json",
        "ops/runs/ops/loss_curve.png",
        "ops/eval/ops/metrics.json",
        "ops/eval/ops/roc_curves.png",
        "ops/eval/ops/table.md",
    } <= keys
    assert any(k.startswith("ops/images/synthetic/") and k.endswith(".png") for k in keys)
    assert not [k for k in keys if ".part-" in k]  # no temporary upload left behind
    metrics = json.loads(client.get_object(Bucket=bucket, Key="ops/eval/ops/metrics.json")["Body"].read())
    assert set(metrics["abnormality_detection"]) == {"baseline", "finetuned"}

    assert [state for _, state, _ in load] == ["COMPLETED"] * 6, load
    # The pipeline's ingest (30 new records) started one retraining through the trigger, on the same store; the
    # ingest that added nothing and those into other stores started none.
    ours = [(at, new) for at, where, new in triggered["events"] if where == store]
    assert sorted(new for _, new in ours) == [0, 30], triggered["events"]
    [(name, params, state, started)] = triggered["runs"]
    assert name == "retrain new-data" and state == "COMPLETED", triggered["runs"]
    assert params["source"] == "synthetic" and params["ingest"] is False and params["min_new_records"] == 100
    decided = json.loads(client.get_object(Bucket=bucket, Key="ops/registry/decisions/new-data.json")["Body"].read())
    assert decided["reason"] == "30 new records of synthetic since the last retraining, 100 needed", decided
    ingested_at = next(datetime.fromisoformat(at) for at, new in ours if new == 30)
    print(f"the trigger: {(datetime.fromisoformat(started) - ingested_at).total_seconds():.1f} s from ingest to run")
    readings = client.get_object(Bucket=bucket, Key="ops/predictions/incoming/readings.jsonl")["Body"].read()
    assert len(readings.decode().splitlines()) == 2 and "ops/predictions/incoming/report.md" in _bucket_keys(
        client, bucket
    )
    rejected = json.loads(
        client.get_object(Bucket=bucket, Key="ops/predictions/incoming/rejected.jsonl")["Body"].read()
    )
    assert rejected["name"].endswith("incoming/notes.txt") and "not an image" in rejected["reason"]
    # Training time of each run, from its config.json (written as training starts, the slot held) to the last
    # line of its log: the single gpu slot was never held twice.
    mirror = Path(env["ECGFLOW_S3_CACHE"])
    starts = sorted(next(mirror.rglob(f"runs/load-{i}/config.json")).stat().st_mtime for i in range(2))
    ends = sorted(next(mirror.rglob(f"runs/load-{i}/train_log.jsonl")).stat().st_mtime for i in range(2))
    assert all(end <= next_start for end, next_start in zip(ends, starts[1:])), (starts, ends)
    locked = (home / "ecgflow-stack/server.log").read_text().count("OperationalError) database is locked")
    print(f"6 runs at once: all completed; the server retried {locked} SQLite lock(s) of its own bookkeeping")

    status = _run([*stack, "status"], env, timeout=60).stdout
    assert status.count("stopped") == 3, status


def ui_pages(ui: str, flow_run_id: str, artifacts: dict[str, str], screenshots: Path) -> dict[str, str]:
    """The visible text of the pipeline's flow-run page and of its evaluation's artifact pages, as headless
    chromium renders them from the stack's UI; a screenshot of each in `screenshots`."""
    screenshots.mkdir()
    urls = {"flow-run": f"{ui}/runs/flow-run/{flow_run_id}"}
    urls |= {key: f"{ui}/artifacts/artifact/{artifacts[key]}" for key in EVALUATION_ARTIFACTS}
    pages = {}
    for name, url in urls.items():
        for _ in range(3):  # a loaded machine may show the page before the artifact's body has come: look again
            dom, pages[name] = rendered_page(url, screenshots / f"{name}.png")
            if SHOWN_WHEN_LOADED[name] in pages[name]:
                break
        pages[name] += f" [{dom.count(EMBEDDED_PNG)} embedded PNG]"
    print(f"UI screenshots: {screenshots}")
    return pages

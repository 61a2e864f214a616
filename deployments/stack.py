"""A local Prefect stack for ecgflow: server + UI, work pools, the `gpu` limit, the deployments, one worker per pool.

    python deployments/stack.py up [--port 4200] [--gpus N] [--store URI]   # `make up`
    python deployments/stack.py status
    python deployments/stack.py down                                      # `make down`

`up` is idempotent: what already runs is kept, pools and the limit are created or resized, deployments are
(re)applied. The server's database lives under PREFECT_HOME (default ~/.prefect), so run history survives
`down`. Process ids and logs go to $PREFECT_HOME/ecgflow-stack/. `up` points the active Prefect profile
at this server (PREFECT_API_URL), so `prefect deployment run ...` in any shell reaches it; `down` unsets it.
While the workers run, the server does not stop for idleness (flows/server_guard.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from flows.local_server import STATE, ensure_server, prefect, running, start, stop, ui_url

POOLS = ("cpu", "gpu")  # process work pools the deployments in prefect.yaml target
ROOT = Path(__file__).resolve().parents[1]  # the checkout the deployments run from (ECGFLOW_HOME)
GPU_LIMIT = "gpu"  # the global concurrency limit GPU work holds one slot of per GPU (tasks/gpu.py)
PROCESSES = ("server", *(f"worker-{pool}" for pool in POOLS))


def detect_gpus() -> int:
    """GPUs on this machine by `nvidia-smi -L` (0 when there is none or no driver)."""
    if not shutil.which("nvidia-smi"):
        return 0
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines()) if out.returncode == 0 else 0


def store_uri(value: str) -> str:
    """A folder becomes an absolute path (workers run elsewhere); URIs (s3://...) stay as given."""
    return value if "://" in value else str(Path(value).expanduser().resolve())


def ensure_pools_and_limit(api_url: str, gpu_slots: int) -> None:
    os.environ["PREFECT_API_URL"] = api_url  # before importing Prefect's client, which reads its settings once
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
        WorkPoolCreate,
    )
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        existing = {pool.name for pool in client.read_work_pools()}
        for pool in POOLS:
            if pool not in existing:
                client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
                print(f"work pool {pool!r}: created")
        try:
            client.read_global_concurrency_limit_by_name(GPU_LIMIT)
            client.update_global_concurrency_limit(GPU_LIMIT, GlobalConcurrencyLimitUpdate(limit=gpu_slots))
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=gpu_slots))
        print(f"global concurrency limit {GPU_LIMIT!r}: {gpu_slots} slot(s)")


def up(port: int, gpus: int | None, store: str) -> None:
    api_url = ensure_server(port)  # the server ecgflow commands share, if one already runs
    print(f"Prefect UI: {ui_url(api_url)}", flush=True)
    base_env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    gpu_slots = max(gpus if gpus is not None else detect_gpus(), 1)  # a CPU-only machine trains one run at a time
    ensure_pools_and_limit(api_url, gpu_slots)
    env = base_env | {"PREFECT_API_URL": api_url, "ECGFLOW_HOME": str(ROOT), "ECGFLOW_STORE": store}
    deploy = prefect("--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml", "--all")
    result = subprocess.run(deploy, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`prefect deploy --all` failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    print(f"deployments applied (store {store})")
    for pool in POOLS:
        pid = start(f"worker-{pool}", prefect("worker", "start", "--pool", pool, "--type", "process"), env)
        print(f"worker-{pool}: running (pid {pid}, log {STATE / f'worker-{pool}.log'})")
    subprocess.run(
        prefect("config", "set", f"PREFECT_API_URL={api_url}"), env=base_env, check=True, capture_output=True
    )
    print(f"\nPrefect UI: {ui_url(api_url)}   (this profile's PREFECT_API_URL is now {api_url})")
    print("""run:  prefect deployment run pipeline/pipeline -p overrides='{"n_records": 200}'""")


def down() -> None:
    for name in reversed(PROCESSES):  # workers first: their flow runs report to the server as they stop
        if stop(name):
            print(f"{name}: stopped")
    subprocess.run(prefect("config", "unset", "PREFECT_API_URL"), capture_output=True)


def status() -> None:
    for name in PROCESSES:
        pid = running(name)
        print(f"{name}: {'running, pid ' + str(pid) if pid else 'stopped'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("up", help="start server, pools, limit, deployments, workers")
    start_parser.add_argument("--port", type=int, default=int(os.environ.get("ECGFLOW_PREFECT_PORT", 4200)))
    start_parser.add_argument(
        "--gpus", type=int, default=None, help="slots of the gpu limit (default: GPUs detected, at least 1)"
    )
    start_parser.add_argument(
        "--store",
        default=os.environ.get("ECGFLOW_STORE", "store"),
        help="default store of the deployments: a folder or s3://bucket/prefix",
    )
    commands.add_parser("down", help="stop what `up` started")
    commands.add_parser("status", help="what `up` started and is still running")
    args = parser.parse_args(argv)
    if args.command == "up":
        up(args.port, args.gpus, store_uri(args.store))
    elif args.command == "down":
        down()
    else:
        status()


if __name__ == "__main__":
    main()

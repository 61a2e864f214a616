"""A local Prefect stack for ecgflow: server + UI, work pools, the `gpu` limit, the deployments, the automations
that find and requeue a lost machine's runs (and tell of them), one worker per pool.

    python deployments/stack.py up [--port 4200] [--gpus N] [--store URI] [--crash-after-s 90] [--requeues 2]
                                   [--notify-url URL]                       # `make up`
    python deployments/stack.py status
    python deployments/stack.py down                                      # `make down`

`up` is idempotent: what already runs is kept, pools and the limit are created or resized, deployments and
automations (deployments/automations.yaml; by name) are (re)applied. With a notification URL (--notify-url or
ECGFLOW_NOTIFY_URL: a webhook that takes JSON, e.g. a Slack or Teams incoming webhook), a crashed run, every
retraining decision and every sign-off waiting are posted there through a Prefect notification block; without one,
those automations go. The server's database lives under PREFECT_HOME (default ~/.prefect), so run history survives
`down`. Process ids and logs go to $PREFECT_HOME/ecgflow-stack/. `up` points the active Prefect profile
at this server (PREFECT_API_URL), so `prefect deployment run ...` in any shell reaches it; `down` unsets it.
While the workers run, the server does not stop for idleness (cli/server_guard.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cli import shared_server
from cli.local_server import STATE, ensure_server, prefect, running, start, stop, ui_url
from ecg_core.ports import free_port

POOLS = ("cpu", "gpu")  # process work pools the deployments in prefect.yaml target
ROOT = Path(__file__).resolve().parents[1]  # the checkout `prefect deploy` reads prefect.yaml in
GPU_LIMIT = "gpu"  # the global concurrency limit GPU work holds one slot of per GPU (tasks/gpu.py)
PROCESSES = ("server", *(f"worker-{pool}" for pool in POOLS))
AUTOMATIONS = ROOT / "deployments/automations.yaml"  # the crash and requeue rules, also for `prefect automation create`
CRASH_RULE, BOUND_RULE = "ecgflow: crash runs whose heartbeats stop", "ecgflow: stop requeueing runs that keep crashing"
OURS = "ecgflow: "  # the prefix of every automation the stack owns (and removes when no longer wanted)
NOTIFY_BLOCK = "ecgflow-notify"  # the CustomWebhookNotificationBlock the notification automations post through


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


def notification_rules(block_id, decision_event: str, sign_off_event: str) -> list[dict]:
    """A crashed run (any flow run; requeued or not), a retraining's decision and a sign-off waiting, posted through
    the block."""
    notify = {"type": "send-notification", "block_document_id": str(block_id)}
    crashed = (
        "Flow run {{ event.resource['prefect.resource.name'] }} crashed (start {{ event.resource['prefect.run-count'] }}):"
        " {{ event.resource['prefect.state-message'] }}\n{{ flow_run|ui_url }}"
    )
    decided = (
        "Retraining {{ event.resource['prefect.resource.name'] }}: {{ event.payload.outcome }} "
        "(challenger {{ event.payload.run_id }}). {{ event.payload.reason }}\n{{ event.payload.decision_url }}"
    )
    waiting = (
        "Retraining {{ event.resource['prefect.resource.name'] }}: challenger {{ event.payload.run_id }} passed the "
        "promotion rule and waits for a sign-off (approve or reject on the run's page, Resume) within "
        "{{ event.payload.timeout_s }} s. {{ event.payload.reason }}\n{{ event.payload.run_page }}"
    )
    reactive = {"type": "event", "posture": "Reactive", "threshold": 1, "within": 0}
    return [
        {
            "name": f"{OURS}tell of crashed runs",
            "trigger": reactive
            | {"expect": ["prefect.flow-run.Crashed"], "match": {"prefect.resource.id": "prefect.flow-run.*"}},
            "actions": [notify | {"subject": "ecgflow: a flow run crashed", "body": crashed}],
        },
        {
            "name": f"{OURS}tell of retraining decisions",
            "trigger": reactive
            | {"expect": [decision_event], "match": {"prefect.resource.id": "ecgflow.retraining.*"}},
            "actions": [notify | {"subject": "ecgflow: retraining {{ event.payload.outcome }}", "body": decided}],
        },
        {
            "name": f"{OURS}tell of sign-offs waiting",
            "trigger": reactive
            | {"expect": [sign_off_event], "match": {"prefect.resource.id": "ecgflow.retraining.*"}},
            "actions": [notify | {"subject": "ecgflow: a new champion waits for your sign-off", "body": waiting}],
        },
    ]


def ensure_automations(crash_after_s: float, requeues: int, notify_url: str | None) -> None:
    """The automations of automations.yaml with this stack's window and bound, and the notification ones when a URL
    is given; created or updated by name, ours that are no longer wanted deleted. Needs PREFECT_API_URL set."""
    import yaml
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    from tasks.registry import DECISION_EVENT
    from tasks.sign_off import SIGN_OFF_EVENT

    specs = yaml.safe_load(AUTOMATIONS.read_text())["automations"]
    rules = {spec["name"]: spec for spec in specs}
    rules[CRASH_RULE]["trigger"]["within"] = crash_after_s
    rules[BOUND_RULE]["trigger"]["threshold"] = requeues + 1  # the requeue past the bound is the one undone
    if notify_url:
        block = CustomWebhookNotificationBlock(
            name=NOTIFY_BLOCK,
            url=notify_url,
            json_data={"subject": "{{subject}}", "text": "{{body}}"},
            allow_private_urls=True,  # the operator's own receiver may well sit on the private network
        )
        specs += notification_rules(block.save(NOTIFY_BLOCK, overwrite=True), DECISION_EVENT, SIGN_OFF_EVENT)
    wanted = [AutomationCore.model_validate(spec) for spec in specs]
    with get_client(sync_client=True) as client:
        existing = {a.name: a.id for a in client.read_automations() if a.name.startswith(OURS)}
        for automation in wanted:
            if automation.name in existing:
                client.update_automation(existing.pop(automation.name), automation)
            else:
                client.create_automation(automation)
        for stale in existing.values():
            client.delete_automation(stale)
    told = (
        "crashed runs, retraining decisions and sign-offs waiting are posted to the notification URL"
        if notify_url
        else "no notifications"
    )
    print(
        f"automations: a run silent for {crash_after_s:g} s is marked Crashed, requeued up to {requeues} time(s); {told}"
    )


@dataclass(frozen=True)
class StackOptions:
    port: int = 4200
    gpus: int | None = None
    store: str = "store"
    crash_after_s: float = 90.0
    requeues: int = 2
    notify_url: str | None = None
    db: str = "sqlite"  # sqlite: one server on SQLite; postgres: the shape many machines share (cli/shared_server.py)
    host: str = "127.0.0.1"  # where the postgres shape's API processes listen; beyond loopback, sign-in is on
    auth: bool = False  # sign-in on loopback too


def start_server(options: StackOptions) -> tuple[list[str], str | None]:
    """The API URLs (one; two for the postgres shape) and the sign-in credential (None: none)."""
    if options.db == "sqlite":
        if options.auth or options.host != "127.0.0.1":
            sys.exit("sign-in and a non-loopback host are for the shared server: make up DB=postgres")
        return [ensure_server(options.port)], None  # the server ecgflow commands share, if one already runs
    credential = shared_server.api_credential(options.auth, options.host)
    shape = shared_server.Shape.saved() or shared_server.Shape(
        options.host, (options.port, free_port()), free_port(), free_port()
    )
    return shared_server.up(shape, credential, dict(os.environ)), credential


def write_profile(settings: dict[str, str | None]) -> None:
    """Sets settings in the active profile of this PREFECT_HOME, and removes those given as None: what `prefect config
    set` and `unset` do, without a Prefect CLI process each (which `unset` ends, changing nothing, when one of the
    names it is given is not set)."""
    from prefect.context import get_settings_context
    from prefect.settings import load_profiles, save_profiles

    profiles = load_profiles()
    profiles.update_profile(get_settings_context().profile.name, settings)
    save_profiles(profiles)


def up(options: StackOptions) -> None:
    api_urls, credential = start_server(options)
    api_url = api_urls[0]
    print(f"Prefect UI: {', '.join(ui_url(url) for url in api_urls)}", flush=True)
    signed_in = {"PREFECT_API_AUTH_STRING": credential} if credential else {}
    base_env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
    os.environ |= signed_in  # before Prefect's client reads its settings
    gpu_slots = max(options.gpus if options.gpus is not None else detect_gpus(), 1)  # a CPU machine: one at a time
    ensure_pools_and_limit(api_url, gpu_slots)
    ensure_automations(options.crash_after_s, options.requeues, options.notify_url)
    env = base_env | signed_in | {"PREFECT_API_URL": api_url, "ECGFLOW_STORE": options.store}
    deploy = prefect("--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml", "--all")
    result = subprocess.run(deploy, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`prefect deploy --all` failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    print(f"deployments applied (store {options.store})")
    # A worker and its flow runs ride out an API process or the database restarting (Prefect's default: 5 tries). A
    # request in flight as the database drops its connections gets a 500, which Prefect's client does not retry
    # unless told to; a server that fails the same request every time costs those tries' back-off before it shows.
    env.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")
    env.setdefault("PREFECT_CLIENT_RETRY_EXTRA_CODES", "500")
    for i, pool in enumerate(POOLS):  # with two API processes, each worker talks to its own
        worker_env = env | {"PREFECT_API_URL": api_urls[i % len(api_urls)]}
        pid = start(f"worker-{pool}", prefect("worker", "start", "--pool", pool, "--type", "process"), worker_env)
        print(f"worker-{pool}: running (pid {pid}, log {STATE / f'worker-{pool}.log'})")
    # The profile's sign-in lives beside its API URL (the user's own PREFECT_HOME), never in a run's parameters; a
    # stack without sign-in drops an earlier one's credential.
    write_profile({"PREFECT_API_URL": api_url, "PREFECT_API_AUTH_STRING": credential})
    print(f"\nPrefect UI: {ui_url(api_url)}   (this profile's PREFECT_API_URL is now {api_url})")
    if credential:
        print(f"sign-in: on; the credential is in {shared_server.AUTH_FILE} unless given (ECGFLOW_API_AUTH)")
    print(
        """run:  prefect deployment run pipeline/pipeline -p settings='{"config": "demo.yaml", "overrides": {"n_records": 200}}'"""
    )


def down() -> None:
    for name in reversed(PROCESSES):  # workers first: their flow runs report to the server as they stop
        if stop(name):
            print(f"{name}: stopped")
    for name in shared_server.down():
        print(f"{name}: stopped")
    write_profile({"PREFECT_API_URL": None, "PREFECT_API_AUTH_STRING": None})  # commands start a local server again


def status() -> None:
    for name in PROCESSES:
        pid = running(name)
        print(f"{name}: {'running, pid ' + str(pid) if pid else 'stopped'}")
    for name, state in shared_server.status().items():
        print(f"{name}: {state}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("up", help="start server, pools, limit, deployments, workers")
    start_parser.add_argument(
        "--port", type=int, default=int(os.environ.get("ECGFLOW_PREFECT_PORT", 4200)), help="the (first) API's port"
    )
    start_parser.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="sqlite: one server (default); postgres: PostgreSQL, Redis, two API processes and the services",
    )
    start_parser.add_argument(
        "--host", default="127.0.0.1", help="postgres shape: where the API listens (beyond loopback: sign-in on)"
    )
    start_parser.add_argument("--auth", action="store_true", help="postgres shape: sign-in on loopback too")
    start_parser.add_argument(
        "--gpus", type=int, default=None, help="slots of the gpu limit (default: GPUs detected, at least 1)"
    )
    start_parser.add_argument(
        "--store",
        default=os.environ.get("ECGFLOW_STORE", "store"),
        help="default store of the deployments: a folder or s3://bucket/prefix",
    )
    start_parser.add_argument(
        "--crash-after-s",
        type=float,
        default=float(os.environ.get("ECGFLOW_CRASH_AFTER_S", 90)),
        help="a flow run with no heartbeat for this long is marked Crashed (runs beat every 30 s)",
    )
    start_parser.add_argument(
        "--requeues",
        type=int,
        default=int(os.environ.get("ECGFLOW_REQUEUES", 2)),
        help="how many times a crashed run of a deployment goes back in the queue (within a day) before it is Failed",
    )
    start_parser.add_argument(
        "--notify-url",
        default=os.environ.get("ECGFLOW_NOTIFY_URL"),
        help="a webhook told of crashed runs, retraining decisions and sign-offs waiting (default: $ECGFLOW_NOTIFY_URL; none: off)",
    )
    commands.add_parser("down", help="stop what `up` started")
    commands.add_parser("status", help="what `up` started and is still running")
    args = parser.parse_args(argv)
    if args.command == "up":
        given = {k: v for k, v in vars(args).items() if k != "command"}
        up(StackOptions(**given | {"store": store_uri(args.store)}))
    elif args.command == "down":
        down()
    else:
        status()


if __name__ == "__main__":
    main()

"""Fine-tuning tasks: the `gpu` concurrency limit, and the training run itself as a launched subprocess
(python, deepspeed or torchrun) whose output lands in the store."""

import contextlib
import json
from pathlib import Path
from uuid import UUID

import torch
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.runtime import task_run
from prefect.settings import get_current_settings

from ecg_core import layout
from ecg_core.plots import loss_curve_png
from ecg_core.settings import config_path
from ecg_core.train import TrainConfig
from ecg_core.train.launch import Launch, launch_environment, parse_progress, run_streaming, training_command
from ecg_core.train.preflight import preflight
from tasks.artifacts import stored_image
from tasks.progress import Progress
from tasks.storage import open_store

GPU_LIMIT = "gpu"  # the global concurrency limit every training run holds `world_size` slots of
# Slots are leased: the holder renews the lease while it lives; a holder killed (SIGKILL, OOM, reboot) stops
# renewing and the server takes its slots back within this many seconds (+ its reclaim loop).
GPU_LEASE_S = 60.0  # the shortest lease the server grants


@task
def ensure_gpu_limit(slots: int | None = None) -> int:
    """Create the `gpu` limit when absent (slots: the GPUs here, 1 on a CPU-only machine); returns its size."""
    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(GPU_LIMIT).limit
        except ObjectNotFound:
            slots = slots or max(torch.cuda.device_count(), 1)
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=slots))
            get_run_logger().info("created the %r concurrency limit with %d slots", GPU_LIMIT, slots)
            return slots


def require_gpu_limit(slots_needed: int) -> UUID:
    """Fail now, not after a silent wait, when the limit is missing or can never grant the slots a run needs;
    returns the limit's id."""
    with get_client(sync_client=True) as client:
        try:
            gpu = client.read_global_concurrency_limit_by_name(GPU_LIMIT)
        except ObjectNotFound:
            raise RuntimeError(
                f"no {GPU_LIMIT!r} global concurrency limit on this Prefect server; training never runs unlimited. "
                f"Create it with `prefect gcl create {GPU_LIMIT} --limit <number of GPUs>` (`make up` and the demo do)"
            ) from None
    if gpu.limit < slots_needed:
        raise RuntimeError(
            f"the run needs {slots_needed} slots of {GPU_LIMIT!r} but the limit has {gpu.limit}: it would wait forever"
        )
    return gpu.id


def slot_holders(limit_id: UUID) -> list[str]:
    """Who holds slots of the limit and since when, from the leases a local server keeps on disk (flows/local_server.py);
    empty when the server keeps them elsewhere."""
    holders = []
    for lease_file in sorted((get_current_settings().home / "concurrency_leases").glob("*-*.json")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            lease = json.loads(lease_file.read_text())
            if str(limit_id) in lease["resource_ids"]:
                meta = lease["metadata"] or {}
                who = (meta.get("holder") or {}).get("id", "unknown")
                holders.append(
                    f"{meta.get('slots', '?')} slot(s) by task run {who} since {lease['created_at']}, "
                    f"lease until {lease['expiration']}"
                )
    return holders


@task(tags=["gpu"])
def fine_tune(
    store_uri: str,
    run_id: str,
    config: str,
    model_dir: str,
    instruct_name: str,
    overrides: dict,
    launch: Launch,
) -> str:
    """Train on `instruct/<name>/train.jsonl`; returns the run's store prefix `runs/<run_id>`.

    Checks the run first (preflight), then waits for one slot of the `gpu` limit per GPU it uses (strict:
    a missing limit is an error, never an unlimited run). A run id with checkpoints resumes from the newest.
    """
    logger = get_run_logger()
    store = open_store(store_uri)
    config = str(config_path(config))
    prefix = layout.run_prefix(run_id)
    instruct_dir = store.local_dir(layout.instruct_prefix(instruct_name))
    options = {
        "model": model_dir,
        "train_jsonl": instruct_dir / layout.split_file("train"),
        "val_jsonl": instruct_dir / layout.split_file("val"),
        "image_root": store.local_dir(""),  # image keys in the samples are relative to the store root
        "output_dir": store.local_dir(prefix),
    } | overrides
    options = {key: str(value) if isinstance(value, Path) else value for key, value in options.items()}
    preflight(TrainConfig.load(config, options), launch)

    def follow(line: str) -> None:
        step = parse_progress(line)
        if step is None:
            logger.info(line)
        elif progress.update(*step):  # logged as often as the artifact moves
            logger.info("step %d/%d", *step)

    slots = launch.world_size if torch.cuda.is_available() else 1  # a CPU-only machine is one slot, whatever its ranks
    limit_id = require_gpu_limit(slots)
    held = "; ".join(slot_holders(limit_id)) or "no other holder"
    logger.info("waiting for %d slot(s) of the %r limit (held: %s)", slots, GPU_LIMIT, held)
    holder = ConcurrencyLeaseHolder(type="task_run", id=task_run.id)
    gpus = concurrency(GPU_LIMIT, occupy=slots, strict=True, lease_duration=GPU_LEASE_S, holder=holder)
    with Progress(f"training {run_id}", "step") as progress, gpus:
        code = run_streaming(training_command(config, options, launch), follow, env=launch_environment(launch))
        if code != 0:
            raise RuntimeError(f"training run {run_id} failed with exit code {code}; see the log above")
    store.put_dir(options["output_dir"], prefix)
    curve_key = layout.loss_curve_key(run_id)
    store.put_bytes(
        curve_key, loss_curve_png(store.get_jsonl(layout.train_log_key(run_id)), f"training loss, run {run_id}")
    )
    create_markdown_artifact(
        markdown=f"# Run `{run_id}`\n\n{stored_image(store, curve_key, 'loss curve')}\n\nAdapter: `{store.url(layout.adapter_prefix(run_id))}`",
        key=f"run-{run_id}".lower().replace("_", "-"),
    )
    return prefix

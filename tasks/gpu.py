"""The `gpu` global concurrency limit: every model run on a GPU worker (training, reading new images) holds
slots of it, leased, so runs side by side queue for the GPUs instead of sharing them."""

import contextlib
import json
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.runtime import task_run
from prefect.settings import get_current_settings

GPU_LIMIT = "gpu"  # the global concurrency limit every training run holds `world_size` slots of
# Slots are leased: the holder renews the lease while it lives; a holder killed (SIGKILL, OOM, reboot) stops
# renewing and the server takes its slots back within this many seconds (+ its reclaim loop).
GPU_LEASE_S = 60.0  # the shortest lease the server grants


def ensure_gpu_limit(slots: int | None = None) -> int:
    """Create the `gpu` limit when absent (slots: the GPUs here, 1 on a CPU-only machine); returns its size.

    One rule: a command started here (the `ecgflow` CLI) creates it before its flow runs; deployed flows never
    do, they run under the operator's limit (`make up --gpus N` sizes it), so a worker without one fails loudly."""
    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(GPU_LIMIT).limit
        except ObjectNotFound:
            import torch  # once a server, when the limit is made: not in every flow process that holds a slot

            slots = slots or max(torch.cuda.device_count(), 1)
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=slots))
            print(f"created the {GPU_LIMIT!r} concurrency limit with {slots} slot(s)", flush=True)
            return slots


def require_gpu_limit(slots_needed: int) -> UUID:
    """Fail now, not after a silent wait, when the limit is missing or can never grant the slots a run needs;
    returns the limit's id."""
    with get_client(sync_client=True) as client:
        try:
            gpu = client.read_global_concurrency_limit_by_name(GPU_LIMIT)
        except ObjectNotFound:
            raise RuntimeError(
                f"no {GPU_LIMIT!r} global concurrency limit on this Prefect server; no GPU work runs unlimited. "
                f"Create it with `prefect gcl create {GPU_LIMIT} --limit <number of GPUs>` (`make up` and the demo do)"
            ) from None
    if gpu.limit < slots_needed:
        raise RuntimeError(
            f"the run needs {slots_needed} slots of {GPU_LIMIT!r} but the limit has {gpu.limit}: it would wait forever"
        )
    return gpu.id


def slot_holders(limit_id: UUID) -> list[str]:
    """Who holds slots of the limit and since when, from the leases a local server keeps on disk (cli/local_server.py);
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


def gpu_slots(slots: int):
    """Hold `slots` of the limit for the current task run (strict: a missing limit is an error, never an
    unlimited run); who holds slots now is logged while it waits."""
    limit_id = require_gpu_limit(slots)
    held = "; ".join(slot_holders(limit_id)) or "no other holder"
    get_run_logger().info("waiting for %d slot(s) of the %r limit (held: %s)", slots, GPU_LIMIT, held)
    holder = ConcurrencyLeaseHolder(type="task_run", id=task_run.id)
    return concurrency(GPU_LIMIT, occupy=slots, strict=True, lease_duration=GPU_LEASE_S, holder=holder)

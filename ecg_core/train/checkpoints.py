"""A run's checkpoints: which one is complete, and their copy in the store, sent while training goes on.

A Trainer checkpoint `checkpoint-<step>/` is complete once its `trainer_state.json` is written: the Trainer writes
it after the weights, optimizer, scheduler and RNG states. The same file is the marker in the store: it is
uploaded last, so a checkpoint whose marker is in the store is whole there, and a machine lost mid-upload
leaves an incomplete one that nobody resumes from.

On a remote store (S3) the Trainer writes into a local cache; `StoreCheckpoints` (a Trainer callback on the main
process, in ecg_core/train/recipe.py) sends each checkpoint with `upload_checkpoint` in a background thread as soon as
it is saved, with the run's `train_log.jsonl` as it stands (so the log reaches at least the checkpoint's step), then
removes from the store the checkpoints that `save_total_limit` no longer keeps (`prune`). Training waits for an upload
only when the next save would overtake it. A run started on a machine with an empty cache fetches only the newest
complete checkpoint (`fetch_newest`). Nothing here imports transformers: the flow process that launches a training
imports this module.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ecg_core.layout import TRAIN_LOG
from ecg_core.store import Store

log = logging.getLogger(__name__)

MARKER = "trainer_state.json"  # written last by the Trainer, uploaded last here
# The Trainer's folder name (transformers.trainer_utils.CHECKPOINT_PREFIX, tests/test_train.py compares them),
# spelt here: importing it pulls peft and the Trainer, about 3 CPU-s in every flow process that trains or fetches.
CHECKPOINT_PREFIX = "checkpoint"
_CHECKPOINT = re.compile(rf"^{CHECKPOINT_PREFIX}-(\d+)$")


def checkpoint_folder(step: int) -> str:
    """The folder the Trainer saves step `step` under."""
    return f"{CHECKPOINT_PREFIX}-{step}"


def _marker_key(prefix: str, step: int) -> str:
    return f"{prefix}/{checkpoint_folder(step)}/{MARKER}"


def checkpoint_step(checkpoint: str | None) -> int:
    return int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else 0


def last_complete_checkpoint(output_dir: Path) -> str | None:
    """The newest checkpoint whose trainer state was written: one cut short (Ctrl-C, kill) while being saved
    is skipped, so the run resumes from the one before instead of failing."""
    done = [p for p in Path(output_dir).glob(f"{CHECKPOINT_PREFIX}-*") if (p / MARKER).is_file()]
    return str(max(done, key=lambda p: checkpoint_step(p.name))) if done else None


def stored_checkpoints(store: Store, prefix: str) -> dict[int, list[str]]:
    """Step -> keys of every checkpoint of the run under `prefix` in the store, complete or not."""
    found: dict[int, list[str]] = {}
    for key in store.list(prefix):
        folder = key[len(prefix) :].strip("/").split("/", 1)[0]
        if match := _CHECKPOINT.match(folder):
            found.setdefault(int(match.group(1)), []).append(key)
    return found


def complete_steps(checkpoints: dict[int, list[str]], prefix: str) -> list[int]:
    """The steps whose marker is in the store, oldest first."""
    return sorted(step for step, keys in checkpoints.items() if _marker_key(prefix, step) in keys)


def fetch_newest(store: Store, prefix: str) -> Path:
    """The run's local folder, holding the newest complete checkpoint the store has (when it is newer than the
    newest here) and the run's log: only that checkpoint is downloaded, not every one the store keeps."""
    local = store.local_root() / prefix
    local.mkdir(parents=True, exist_ok=True)
    if not store.remote:
        return local
    checkpoints = stored_checkpoints(store, prefix)
    steps = complete_steps(checkpoints, prefix)
    if steps and steps[-1] > checkpoint_step(last_complete_checkpoint(local)):
        log_key = f"{prefix}/{TRAIN_LOG}"
        store.fetch(checkpoints[steps[-1]] + ([log_key] if store.exists(log_key) else []))
        log.info("fetched checkpoint %d of %s from %s", steps[-1], prefix, store.uri)
    return local


def upload_checkpoint(store: Store, prefix: str, checkpoint: Path, train_log: bytes | None) -> list[str]:
    """Send one complete checkpoint: its files, the run's log as it stood at the save, then the marker; returns
    the keys written."""
    marker = checkpoint / MARKER
    keys = []
    for path in [*sorted(p for p in checkpoint.rglob("*") if p.is_file() and p != marker), marker]:
        if path == marker and train_log is not None:
            store.put_bytes(f"{prefix}/{TRAIN_LOG}", train_log)  # before the marker: the log reaches this step
        keys.append(f"{prefix}/{checkpoint.name}/{path.relative_to(checkpoint).as_posix()}")
        store.put_bytes(keys[-1], path.read_bytes())
    return keys


def prune(store: Store, prefix: str, keep: int | None) -> list[int]:
    """Remove from the store the oldest complete checkpoints beyond `keep` (marker first, so a removal cut short
    leaves an incomplete checkpoint, never a damaged complete one); returns the steps removed."""
    if not keep:
        return []
    checkpoints = stored_checkpoints(store, prefix)
    removed = complete_steps(checkpoints, prefix)[:-keep]
    for step in removed:
        marker = _marker_key(prefix, step)
        store.delete(marker)
        for key in checkpoints[step]:
            if key != marker:
                store.delete(key)
    return removed

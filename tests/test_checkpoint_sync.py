"""Checkpoints reach the store as they are saved (S3 on moto's server, real HTTP): complete ones only, marker
last, the store keeping what save_total_limit keeps; a run resumed on a machine with an empty cache fetches only
the newest complete checkpoint and its log continues with no step missing or repeated."""

import json
from pathlib import Path

import pytest

from ecg_core import layout
from ecg_core.store import open_store
from ecg_core.train.checkpoints import MARKER, complete_steps, fetch_newest, stored_checkpoints, upload_checkpoint
from ecg_core.train.config import TrainConfig, write_run_config
from ecg_core.train.recipe import run_training

PREFIX = layout.run_prefix("r")


def _train(stripe_pages, model: Path, output_dir: Path, store_uri: str, max_steps: int) -> dict:
    root = stripe_pages.root
    options = {
        "model": str(model),
        "train_jsonl": str(root / "train.jsonl"),
        "image_root": str(root),
        "output_dir": str(output_dir),
        "max_steps": max_steps,
        "save_steps": 2,
        "save_total_limit": 2,
        "logging_steps": 1,
        "warmup_steps": 1,
        "checkpoint_store": store_uri,
        "checkpoint_prefix": PREFIX,
    }
    config = TrainConfig.load("tiny-cpu.yaml", options)
    write_run_config(config)
    return run_training(config)


@pytest.mark.slow
def test_checkpoints_reach_the_store_as_saved_and_a_fresh_machine_resumes_from_the_newest(
    s3_env, tiny_mllama_dir, stripe_pages, tmp_path, monkeypatch
):
    _, bucket = s3_env
    uri = f"s3://{bucket}/store"
    first = _train(stripe_pages, tiny_mllama_dir, tmp_path / "machine-a" / "run", uri, max_steps=6)
    store = open_store(uri)
    checkpoints = stored_checkpoints(store, PREFIX)
    assert complete_steps(checkpoints, PREFIX) == [4, 6] == sorted(checkpoints)  # step 2 let go, as the Trainer did
    assert first["checkpoint_upload_wait_s"] is not None
    logged = [line["step"] for line in store.get_jsonl(f"{PREFIX}/train_log.jsonl") if "loss" in line]
    assert logged[-1] >= 6  # the log went up with the checkpoint, reaching at least its step

    # Another machine: an empty cache. Only the newest complete checkpoint (and the log) comes down.
    monkeypatch.setenv("ECGFLOW_S3_CACHE", str(tmp_path / "machine-b-cache"))
    fresh = open_store(uri)
    local = fetch_newest(fresh, PREFIX)
    assert sorted(p.name for p in local.iterdir()) == ["checkpoint-6", "train_log.jsonl"]
    assert {p.relative_to(local / "checkpoint-6").as_posix() for p in (local / "checkpoint-6").rglob("*")} >= {
        MARKER,
        "optimizer.pt",
    }
    resumed = _train(stripe_pages, tiny_mllama_dir, local, uri, max_steps=10)
    assert resumed["resumed_from_step"] == 6 and resumed["global_step"] == 10
    lines = [json.loads(line) for line in (local / "train_log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines if "loss" in line] == list(range(1, 11))  # none missing, none twice
    assert complete_steps(stored_checkpoints(store, PREFIX), PREFIX) == [8, 10]


def test_a_checkpoint_whose_upload_was_cut_short_is_not_resumed_from(s3_env, tmp_path, monkeypatch):
    _, bucket = s3_env
    store = open_store(f"s3://{bucket}/store")
    for step in (3, 5):
        checkpoint = tmp_path / "a" / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "adapter_model.safetensors").write_bytes(b"w" * step)
        (checkpoint / MARKER).write_text(json.dumps({"global_step": step}))
        upload_checkpoint(store, PREFIX, checkpoint, b'{"step": 1}\n')
    store.delete(f"{PREFIX}/checkpoint-5/{MARKER}")  # the machine went away before the marker went up
    assert complete_steps(stored_checkpoints(store, PREFIX), PREFIX) == [3]
    monkeypatch.setenv("ECGFLOW_S3_CACHE", str(tmp_path / "empty"))
    local = fetch_newest(open_store(f"s3://{bucket}/store"), PREFIX)
    assert sorted(p.name for p in local.iterdir()) == ["checkpoint-3", "train_log.jsonl"]
    assert (local / "checkpoint-3" / "adapter_model.safetensors").read_bytes() == b"www"

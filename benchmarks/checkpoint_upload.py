"""What sending checkpoints to the store as they are saved costs a training run: seconds per step of the tiny model
(configs/tiny-cpu.yaml on printed ECG pages) writing checkpoints locally only, and with each one uploaded in the
background to S3 (moto's server, a process of its own on 127.0.0.1, real HTTP through boto3;
ecg_core/train/checkpoints.py), saving
every `--save-steps` steps and, to show when training does wait, every step. Also one checkpoint's size and
upload time.

    .venv/bin/python benchmarks/checkpoint_upload.py            # 60 steps a case
    .venv/bin/python benchmarks/checkpoint_upload.py --quick    # 20 steps a case

A step waits for an upload only when the next save would overtake it: saving every few steps, the wait is
nothing; saving every step of a tiny model (a step is far shorter than an upload), it is most of the time.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import save_and_print

from ecg_core import layout
from ecg_core.instruct.printed import printed_samples
from ecg_core.model.tiny import build_tiny_mllama
from ecg_core.ports import free_port
from ecg_core.store import open_store
from ecg_core.train.checkpoints import upload_checkpoint
from ecg_core.train.config import TrainConfig, write_run_config
from ecg_core.train.recipe import run_training

PREFIX = layout.run_prefix("bench")


def train(root: Path, model: Path, out: Path, steps: int, save_steps: int, store: str | None) -> dict:
    options = {
        "model": str(model),
        "train_jsonl": str(root / "train.jsonl"),
        "image_root": str(root),
        "output_dir": str(out),
        "max_steps": steps,
        "save_steps": save_steps,
        "save_total_limit": 2,
        "logging_steps": steps,
        "checkpoint_store": store,
        "checkpoint_prefix": PREFIX,
    }
    config = TrainConfig.load("tiny-cpu.yaml", options)
    write_run_config(config)
    started = time.perf_counter()
    metrics = run_training(config)
    return {
        "seconds_per_step": round((time.perf_counter() - started) / steps, 4),
        "trainer_seconds_per_step": round(metrics["seconds_per_step"], 4),
        "waited_for_uploads_s": None
        if metrics["checkpoint_upload_wait_s"] is None
        else round(metrics["checkpoint_upload_wait_s"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps a case (default %(default)s)")
    parser.add_argument("--save-steps", type=int, default=10, help="steps between saves (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="20 steps a case")
    args = parser.parse_args()
    steps = 20 if args.quick else args.steps

    port = free_port()  # the test extra's S3 server, apart from the training process as a store would be
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host = "127.0.0.1"
    aws = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(aws | {"AWS_ENDPOINT_URL": f"http://{host}:{port}"})
    figures = {"steps": steps}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["ECGFLOW_S3_CACHE"] = str(root / "cache")
        import boto3

        for _ in range(100):  # the server starting
            with contextlib.suppress(Exception):
                boto3.client("s3").create_bucket(Bucket="bench")
                break
            time.sleep(0.2)
        samples = printed_samples(root, 16, fs=250.0)
        (root / "train.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
        corpus = [turn["value"] for s in samples for turn in s["conversations"]]
        model = build_tiny_mllama(root / "model", corpus=corpus)
        cases = [("local only", args.save_steps, None), ("uploaded", args.save_steps, "s3://bench/b")]
        cases += [("uploaded, saving every step", 1, "s3://bench/every")]
        for name, save_steps, store in cases:
            out = root / name.replace(" ", "-").replace(",", "")
            figures[name] = train(root, model, out, steps, save_steps, store) | {"save_steps": save_steps}
            print(f"{name}: {figures[name]}", flush=True)
        checkpoint = root / "local-only" / f"checkpoint-{steps}"
        size = sum(p.stat().st_size for p in checkpoint.rglob("*") if p.is_file())
        started = time.perf_counter()
        upload_checkpoint(open_store("s3://bench/size"), PREFIX, checkpoint, None)
        figures["checkpoint_mb"] = round(size / 1e6, 2)
        figures["upload_s"] = round(time.perf_counter() - started, 3)
    server.terminate()
    base, uploaded = figures["local only"]["seconds_per_step"], figures["uploaded"]["seconds_per_step"]
    figures["upload_overhead_share"] = round(uploaded / base - 1, 3)
    print(
        f"a checkpoint of {figures['checkpoint_mb']} MB uploads in {figures['upload_s']} s; saving every "
        f"{args.save_steps} steps the uploads cost {figures['upload_overhead_share']:.1%} of the step time"
    )
    save_and_print("checkpoint_upload", figures, quick=args.quick)


if __name__ == "__main__":
    main()

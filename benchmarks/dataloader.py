"""Does data loading keep up with the GPUs? Training samples per second on one CPU core through the real
collator and the real Llama 3.2 Vision processor (560 px tiles, 4 per page) from 200 dpi pages (2339 x 1654
PNG: decode, fit to the canvas, resize, normalise, tile, chat template, tokenise, mask the labels), and the
dataloader workers per GPU that means at the planned training speed.

    .venv/bin/python benchmarks/dataloader.py                     # 48 samples per case
    .venv/bin/python benchmarks/dataloader.py --quick             # 16 samples per case
    .venv/bin/python benchmarks/dataloader.py --llama-files DIR   # a real Llama-3.2-11B-Vision-Instruct folder

Pins itself to one core (one torch thread), as one dataloader worker runs. The planned samples/s per GPU
comes from the training plan (ecg_core/train/plan.py: the paper recipe on an H100 at the stated MFU).
Target: one core feeds at least 3 samples/s. Last line: one JSON object (samples_per_s_per_core per page
fit, workers_per_gpu, planned_samples_per_s_per_gpu).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import torch
from harness import llama_files, save_and_print
from transformers import MllamaProcessor

from ecg_core.instruct.printed import printed_samples
from ecg_core.model.collator import InstructionCollator
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.train import TrainConfig
from ecg_core.train.plan import plan_for_recipe

REPO = Path(__file__).resolve().parents[1]
ELEVEN_B = REPO / "configs" / "models" / "llama-3.2-11b-vision.json"
PAPER = REPO / "configs" / "paper.yaml"
BATCH = 4  # the paper's per-GPU batch


def samples_per_second(collate: InstructionCollator, samples: list[dict]) -> float:
    collate(samples[:BATCH])  # warm-up: tokenizer and template caches
    started = time.perf_counter()
    for i in range(0, len(samples), BATCH):
        collate(samples[i : i + BATCH])
    return len(samples) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--llama-files", help="tokenizer + processor folder (default: the test fixture, tests/fixtures/llama32-vision)"
    )
    parser.add_argument("--samples", type=int, default=48, help="samples per case (default %(default)s)")
    parser.add_argument(
        "--mfu", type=float, default=0.35, help="MFU of the planned training speed (default %(default)s)"
    )
    parser.add_argument("--quick", action="store_true", help="16 samples per case")
    args = parser.parse_args()
    n = 16 if args.quick else args.samples
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    torch.set_num_threads(1)

    processor = MllamaProcessor.from_pretrained(args.llama_files or llama_files())
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        samples = printed_samples(tmp, n // 2 + 1, dpi=200.0)[:n]  # two samples (question, report) per page
        for fit in ("pad", "stretch"):
            collate = InstructionCollator(processor, tmp, PagePreprocessing(4, fit), max_length=2048)
            figures[f"samples_per_s_per_core_{fit}"] = round(samples_per_second(collate, samples), 2)
            print(f"4 tiles, {fit}: {figures[f'samples_per_s_per_core_{fit}']} samples/s on one core")

    plan = plan_for_recipe(ELEVEN_B, TrainConfig.load(PAPER), mfu=args.mfu)
    planned = plan.samples_per_s["H100 80GB"]
    slowest = min(figures.values())
    figures |= {
        "planned_samples_per_s_per_gpu": round(planned, 2),
        "workers_per_gpu": math.ceil(planned / slowest),
        "target_samples_per_s_per_core": 3.0,
        "samples": n,
        "page": "2339 x 1654 PNG (A4 at 200 dpi)",
    }
    print(
        f"planned {planned:.2f} samples/s per H100 at MFU {args.mfu}: "
        f"{figures['workers_per_gpu']} loader worker(s) per GPU"
    )
    save_and_print("dataloader", figures, quick=args.quick)


if __name__ == "__main__":
    main()

"""Fine-tune Mllama with LoRA on an instruction set.

    python -m ecg_core.train --config configs/tiny-cpu.yaml --model DIR --train-jsonl F --val-jsonl F \
        --image-root DIR --output-dir DIR [--max-steps N --lr X ...]

Every TrainConfig key can be overridden as `--key value` (dashes or underscores); `null` unsets a key.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging

import torch

from ecg_core.train.config import TrainConfig
from ecg_core.train.recipe import run_training


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(prog="python -m ecg_core.train", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="YAML recipe, e.g. configs/tiny-cpu.yaml")
    keys = [f.name for f in dataclasses.fields(TrainConfig)]
    for key in keys:
        flags = dict.fromkeys([f"--{key.replace('_', '-')}", f"--{key}"])  # one flag when the key has no "_"
        parser.add_argument(*flags, dest=key, metavar="VALUE")
    # The deepspeed launcher passes --local_rank; the rank is read from the LOCAL_RANK environment it also sets.
    parser.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    overrides = {key: getattr(args, key) for key in keys if getattr(args, key) is not None}
    return TrainConfig.load(args.config, overrides)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    metrics = run_training(parse_args(argv))
    print(json.dumps(metrics))
    if torch.distributed.is_initialized():
        # Join the communication backend's threads now: left to interpreter exit they can abort a finished run
        # ("terminate called without an active exception", exit code -6).
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()

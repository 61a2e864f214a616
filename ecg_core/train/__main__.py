"""Fine-tune Mllama with LoRA on an instruction set.

    python -m ecg_core.train --config configs/tiny-cpu.yaml --model DIR --train-jsonl F --val-jsonl F \
        --image-root DIR --output-dir DIR [--max-steps N --lr X ...]
    python -m ecg_core.train --run-config RUN_DIR/config.json

Every TrainConfig key can be overridden as `--key value` (dashes or underscores); `null` unsets a key. A run
started by ecgflow (or a launcher's ranks) reads its resolved config.json and nothing else.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys

import torch

from ecg_core.train.config import TrainConfig, read_run_config, write_run_config
from ecg_core.train.recipe import run_training


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(prog="python -m ecg_core.train", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="YAML recipe, e.g. configs/tiny-cpu.yaml")
    parser.add_argument("--run-config", help="a run's resolved config.json: the whole run, no other option read")
    keys = [f.name for f in dataclasses.fields(TrainConfig)]
    for key in keys:
        flags = dict.fromkeys([f"--{key.replace('_', '-')}", f"--{key}"])  # one flag when the key has no "_"
        parser.add_argument(*flags, dest=key, metavar="VALUE")
    # The deepspeed launcher passes --local_rank; the rank is read from the LOCAL_RANK environment it also sets.
    parser.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_config:
        given = [key for key in keys if getattr(args, key) is not None] + (["config"] if args.config else [])
        if given:
            parser.error(f"--run-config is the whole run: drop {', '.join('--' + k for k in given)}")
        return read_run_config(args.run_config)
    overrides = {key: getattr(args, key) for key in keys if getattr(args, key) is not None}
    return TrainConfig.load(args.config, overrides)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    config = parse_args(argv)
    if "--run-config" not in argv and os.environ.get("RANK", "0") == "0":  # resolved here: recorded by one rank
        config.check()
        write_run_config(config)
    metrics = run_training(config)
    print(json.dumps(metrics))
    if torch.distributed.is_initialized():
        # Join the communication backend's threads now: left to interpreter exit they can abort a finished run
        # ("terminate called without an active exception", exit code -6).
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()

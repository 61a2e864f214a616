"""Checks that fail a training run before any GPU time is spent, each with what to fix.

Run by the fine-tuning task before it queues for GPUs; every check reads files only (no model weights). The
training's flow process imports neither torch nor transformers for them (seconds of CPU each launch): the
checkpoint's tokenizer and image processor settings are read from their files, and transformers or torch are
asked only where those files cannot answer (an image token not listed there, a bf16 run).
"""

from __future__ import annotations

import json
from pathlib import Path

from ecg_core.errors import WrongInput
from ecg_core.model.page_tiles import checkpoint_tiles
from ecg_core.train.config import TrainConfig
from ecg_core.train.launch import Launch

IMAGE_TOKEN = "<|image|>"


class PreflightError(WrongInput):
    """The run cannot work as configured; the message says what to change."""


def preflight(config: TrainConfig, launch: Launch) -> None:
    try:
        config.check()
    except ValueError as error:
        raise PreflightError(str(error)) from None
    _check_model(Path(config.model))
    _check_tiles(config)
    for path in filter(None, (config.train_jsonl, config.val_jsonl)):
        _check_images(Path(path), Path(config.image_root))
    _check_batch(config, launch)
    _check_precision(config)


def _check_model(model: Path) -> None:
    if not (model / "config.json").is_file():
        raise PreflightError(
            f"model {model}: no config.json there; give a local Llama 3.2 Vision (Mllama) checkpoint folder"
        )
    if json.loads((model / "config.json").read_text()).get("model_type") != "mllama":
        raise PreflightError(f"model {model}: not an Mllama checkpoint (model_type must be 'mllama')")
    if not _lists_image_token(model / "tokenizer.json"):
        from transformers import AutoTokenizer  # a tokenizer in another layout: transformers' own reading decides

        if IMAGE_TOKEN not in AutoTokenizer.from_pretrained(model).get_vocab():
            raise PreflightError(
                f"model {model}: its tokenizer has no {IMAGE_TOKEN} token; use the checkpoint's own Mllama tokenizer"
            )


def _lists_image_token(tokenizer_file: Path) -> bool:
    """Whether a fast tokenizer's file holds the image token, among its added tokens or its vocabulary."""
    if not tokenizer_file.is_file():
        return False
    saved = json.loads(tokenizer_file.read_text())
    added = {token.get("content") for token in saved.get("added_tokens", [])}
    return IMAGE_TOKEN in added or IMAGE_TOKEN in saved.get("model", {}).get("vocab", {})


def _check_tiles(config: TrainConfig) -> None:
    _, most = checkpoint_tiles(config.model)
    if config.max_tiles > most:
        raise PreflightError(
            f"max_tiles {config.max_tiles}: the processor of {config.model} takes at most {most} tiles "
            f"per image; set max_tiles to {most} or less"
        )


def _check_images(jsonl: Path, image_root: Path) -> None:
    if not jsonl.is_file():
        raise PreflightError(f"instruction file {jsonl} does not exist")
    with jsonl.open() as f:
        for line_no, line in enumerate(f, 1):
            sample = json.loads(line) if line.strip() else None
            if sample and not (image_root / sample["image"]).is_file():
                raise PreflightError(
                    f"{jsonl}:{line_no} (sample {sample.get('id')}): image {image_root / sample['image']} is missing; "
                    "render the dataset or rebuild the instruction set"
                )


def _check_batch(config: TrainConfig, launch: Launch) -> None:
    if min(config.per_device_train_batch_size, config.gradient_accumulation_steps) < 1:
        raise PreflightError("per_device_train_batch_size and gradient_accumulation_steps must be >= 1")
    if not config.deepspeed:
        return
    path = Path(config.deepspeed)
    if not path.is_file():
        raise PreflightError(f"DeepSpeed config {path} does not exist")
    ds = json.loads(path.read_text())
    global_batch = config.per_device_train_batch_size * config.gradient_accumulation_steps * launch.world_size
    if ds.get("train_batch_size", "auto") not in ("auto", global_batch):
        raise PreflightError(
            f"DeepSpeed train_batch_size {ds['train_batch_size']} != per-device batch {config.per_device_train_batch_size}"
            f' x grad-accum {config.gradient_accumulation_steps} x {launch.world_size} ranks = {global_batch}; set it to "auto"'
        )
    if ds.get("train_micro_batch_size_per_gpu", "auto") not in ("auto", config.per_device_train_batch_size):
        raise PreflightError(
            f"DeepSpeed train_micro_batch_size_per_gpu {ds['train_micro_batch_size_per_gpu']} != "
            f'per_device_train_batch_size {config.per_device_train_batch_size}; set it to "auto"'
        )


def _check_precision(config: TrainConfig) -> None:
    # On a CPU-only machine bf16 runs (slowly, for smoke tests); on a GPU it needs Ampere or newer.
    if not config.bf16:
        return
    import torch  # only a bf16 run asks the GPU

    if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        raise PreflightError(
            f"bf16 needs an Ampere or newer GPU; {torch.cuda.get_device_name()} has none: set bf16: false in the "
            "recipe (ecgflow train --set bf16=false)"
        )

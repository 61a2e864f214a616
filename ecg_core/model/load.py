"""Load an Mllama checkpoint directory (the 11B, or a tiny one) with its processor, optionally + a LoRA adapter."""

from __future__ import annotations

from pathlib import Path

import torch
from peft import PeftModel
from transformers import MllamaForConditionalGeneration, MllamaProcessor

from ecg_core.model.partial import WEIGHTS_FILE, load_partial
from ecg_core.model.tile_slots import cut_to_budget


def load_model_and_processor(
    path: str | Path,
    *,
    dtype: torch.dtype | str | None = None,
    device: str = "cpu",
    adapter: str | Path | None = None,
    tile_slots: int | None = None,
) -> tuple[MllamaForConditionalGeneration, MllamaProcessor]:
    """Model in eval mode and its processor; `adapter` (a run's `adapter/`: a LoRA adapter, or the tensors
    of a partial-tuning run) is merged into the weights; `tile_slots` (a run's tile budget) cuts model and
    processor to that many tile slots per image (ecg_core.model.tile_slots; default: the checkpoint's).

    Merging gives evaluation a plain `MllamaForConditionalGeneration`, as fast as the base model.
    `dtype=None` keeps the dtype the checkpoint was saved in.
    """
    kwargs = {} if dtype is None else {"dtype": dtype}
    model = MllamaForConditionalGeneration.from_pretrained(path, **kwargs).to(device)
    if adapter is not None and (Path(adapter) / WEIGHTS_FILE).exists():
        model = load_partial(model, adapter)
    elif adapter is not None:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    processor = MllamaProcessor.from_pretrained(path)
    if tile_slots is not None:
        cut_to_budget(model, processor, tile_slots)
    return model.eval(), processor

"""Load an Mllama checkpoint directory (the 11B, or a tiny one) with its processor, optionally + a LoRA adapter."""

from __future__ import annotations

from pathlib import Path

import torch
from peft import PeftModel
from transformers import MllamaForConditionalGeneration, MllamaProcessor

from ecg_core.model.partial import WEIGHTS_FILE, load_partial


def load_model_and_processor(
    path: str | Path,
    *,
    dtype: torch.dtype | str | None = None,
    device: str = "cpu",
    adapter: str | Path | None = None,
) -> tuple[MllamaForConditionalGeneration, MllamaProcessor]:
    """Model in eval mode and its processor; `adapter` (a run's `adapter/`: a LoRA adapter, or the tensors
    of a partial-tuning run) is merged into the weights.

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
    return model.eval(), processor

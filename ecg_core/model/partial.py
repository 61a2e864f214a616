"""Partial tuning, the paper's alternative to LoRA: only the multimodal projector and the cross-attention
decoder layers learn (their full weights, no adapters); the vision tower and the self-attention layers of
the language model stay frozen.

The trained tensors are saved alone (`partial.safetensors`, a few hundred MB for the 11B instead of 21 GB)
and loaded back over the base checkpoint.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

log = logging.getLogger(__name__)

WEIGHTS_FILE = "partial.safetensors"
_DECODER_LAYER = re.compile(r"(?:.*\.)?language_model\.layers\.(\d+)")


def partial_modules(model: nn.Module) -> list[str]:
    """Names of the projector and of every cross-attention decoder layer of an Mllama model."""
    layers = model.config.text_config.cross_attention_layers
    names = [name for name, _ in model.named_modules()]
    projector = [n for n in names if n.endswith("multi_modal_projector")]
    cross = [n for n in names if (m := _DECODER_LAYER.fullmatch(n)) and int(m[1]) in layers]
    if len(projector) != 1 or len(cross) != len(layers):
        raise ValueError(f"not an Mllama layout: projector {projector}, cross-attention layers {cross} of {layers}")
    return projector + cross


def apply_partial(model: nn.Module) -> nn.Module:
    """Freeze everything, then unfreeze the projector and the cross-attention layers; returns `model`."""
    model.requires_grad_(False)
    modules = dict(model.named_modules())
    for name in partial_modules(model):
        modules[name].requires_grad_(True)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("partial tuning of %s: %d trainable parameters", ", ".join(partial_modules(model)), trainable)
    return model


def save_partial(model: nn.Module, out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad}
    save_file(tensors, out_dir / WEIGHTS_FILE)
    return out_dir


def load_partial(model: nn.Module, weights_dir: str | Path) -> nn.Module:
    """Overwrite the base weights with the tuned tensors; every saved tensor must land."""
    state = load_file(Path(weights_dir) / WEIGHTS_FILE)
    missing = set(state) - {n for n, _ in model.named_parameters()}
    if missing:
        raise ValueError(f"{weights_dir}: tensors the model does not have: {sorted(missing)[:5]}")
    model.load_state_dict(state, strict=False)
    return model

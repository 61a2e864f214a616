"""Activation checkpointing for Mllama's vision tower, which transformers leaves out.

`gradient_checkpointing_enable()` checkpoints the text decoder layers only: `MllamaVisionEncoderLayer` is no
`GradientCheckpointingLayer`, so the 11B's 40 vision layers keep every activation of 4 x 1,608 tokens per
page, 58 of the 87 GiB a rank needs at the paper's batch of 4 (`ecgflow plan`): no 80 GB GPU holds that.
Recomputing them in backward costs one more vision forward (~19% more FLOPs per sample) and brings the
paper recipe to ~32 GiB per rank.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers.models.mllama.modeling_mllama import MllamaVisionEncoderLayer


def checkpoint_vision_layers(model: nn.Module) -> int:
    """Recompute every vision encoder layer in backward while training; returns how many layers."""
    layers = [m for m in model.modules() if isinstance(m, MllamaVisionEncoderLayer)]
    for layer in layers:

        def forward(*args, _layer=layer, _forward=layer.forward, **kwargs):
            if _layer.training and torch.is_grad_enabled():
                # Non-reentrant: keyword arguments pass through, and the RNG state (LoRA dropout) is replayed.
                return checkpoint(_forward, *args, use_reentrant=False, **kwargs)
            return _forward(*args, **kwargs)

        layer.forward = forward
    return len(layers)

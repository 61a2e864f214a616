"""LoRA as in the paper: r=64, alpha=128, dropout 0.05 on every linear layer but lm_head.

"Every linear layer" spans the vision tower (local and global encoders), the multimodal projector and
the language model (self- and cross-attention, MLPs). lm_head stays frozen, and so does embed_tokens
(an Embedding, never a target). The gates, norms and embeddings are not linear and stay frozen too.
`freeze_vision=True` leaves the vision tower without adapters (a cheaper variant the paper does not use).
"""

from __future__ import annotations

import logging

from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn

log = logging.getLogger(__name__)

EXCLUDED = ("lm_head",)
VISION_TOWER = "vision_model"  # the attribute path segment of Mllama's vision tower


def lora_target_modules(model: nn.Module, freeze_vision: bool = False) -> list[str]:
    """Full names of every `nn.Linear` in `model` except the excluded output head (and the vision tower)."""
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and name.rsplit(".", 1)[-1] not in EXCLUDED
        and not (freeze_vision and VISION_TOWER in name.split("."))
    ]


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def apply_lora(
    model: nn.Module, r: int = 64, alpha: int = 128, dropout: float = 0.05, freeze_vision: bool = False
) -> PeftModel:
    """Freeze `model` and wrap it with LoRA adapters on `lora_target_modules(model, freeze_vision)`."""
    targets = lora_target_modules(model, freeze_vision)
    # Full module names, not suffixes like "q_proj": the list in adapter_config.json is then the exact set
    # of adapted layers, and nothing outside it (lm_head) can match by accident.
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, bias="none")
    peft_model = get_peft_model(model, config)
    trainable, total = count_parameters(peft_model)
    log.info(
        "LoRA r=%d alpha=%d on %d linear layers: %d trainable of %d parameters",
        r,
        alpha,
        len(targets),
        trainable,
        total,
    )
    return peft_model

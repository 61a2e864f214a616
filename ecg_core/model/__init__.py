"""Mllama (Llama 3.2 Vision): loading, the tiny local checkpoint, LoRA setup and the training collator."""

from ecg_core.model.collator import InstructionCollator
from ecg_core.model.load import load_model_and_processor
from ecg_core.model.lora import apply_lora, lora_target_modules
from ecg_core.model.tiny import build_tiny_mllama

__all__ = ["InstructionCollator", "apply_lora", "build_tiny_mllama", "load_model_and_processor", "lora_target_modules"]

"""LoRA fine-tuning of Mllama: `python -m ecg_core.train --config configs/tiny-cpu.yaml ...`."""

from ecg_core.train.config import TrainConfig
from ecg_core.train.recipe import run_training

__all__ = ["TrainConfig", "run_training"]

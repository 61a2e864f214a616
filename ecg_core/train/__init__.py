"""Fine-tuning of Mllama: `python -m ecg_core.train --config configs/tiny-cpu.yaml ...` (recipe.py), launched
as one process or as DeepSpeed / torchrun ranks (launch.py), checked before any GPU time (preflight.py).

Kept free of heavy imports: the CLI reads the launcher names from here."""

from ecg_core.train.config import TrainConfig

__all__ = ["TrainConfig"]

"""Fine-tuning of Mllama: `python -m ecg_core.train --config configs/tiny-cpu.yaml ...` (recipe.py), launched
as one process or as DeepSpeed / torchrun ranks (launch.py), checked before any GPU time (preflight.py).

Kept free of heavy imports (no torch): flows and commands whose parameters are typed `TrainConfig` import it from
here."""

from ecg_core.train.config import TrainConfig

__all__ = ["TrainConfig"]

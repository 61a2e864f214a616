"""Reference classifiers on the same splits and metrics as the VLM: a 1-D ResNet on the signals and a
ResNet-18-class 2-D CNN on the rendered images (`ecgflow baseline`, rows of Table I)."""

from ecg_core.baselines.run import BaselineConfig, train_baseline

__all__ = ["BaselineConfig", "train_baseline"]

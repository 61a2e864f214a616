"""Reference classifiers on the same splits and metrics as the VLM: a 1-D ResNet on the signals and a
ResNet-18-class 2-D CNN on the rendered images (`ecgflow cnn`, reference rows of Table I)."""

from ecg_core.cnn.run import KINDS, CnnConfig, train_cnn

__all__ = ["KINDS", "CnnConfig", "train_cnn"]

"""The two networks, plain torch (no torchvision): an xresnet1d-style 1-D ResNet for 12-lead signals and a
ResNet-18 for page images. Both end in one logit per label (multi-label, sigmoid in the loss)."""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn(
    conv: type[nn.Module], c_in: int, c_out: int, kernel: int, stride: int = 1, act: bool = True
) -> nn.Sequential:
    norm = nn.BatchNorm1d if conv is nn.Conv1d else nn.BatchNorm2d
    layers = [conv(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False), norm(c_out)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if act else nn.Sequential(*layers)


class ResBlock(nn.Module):
    """Two convolutions with an identity (or 1x1 projection) shortcut; 1-D or 2-D by `conv`."""

    def __init__(self, conv: type[nn.Module], c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn(conv, c_in, c_out, kernel, stride), _conv_bn(conv, c_out, c_out, kernel, act=False)
        )
        self.shortcut = (
            nn.Identity() if stride == 1 and c_in == c_out else _conv_bn(conv, c_in, c_out, 1, stride, act=False)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


def _stages(conv: type[nn.Module], width: int, blocks: list[int], kernel: int) -> tuple[nn.Sequential, int]:
    layers, c_in = [], width
    for i, n in enumerate(blocks):
        c_out = width * 2**i
        for j in range(n):
            layers.append(ResBlock(conv, c_in, c_out, kernel, stride=2 if j == 0 and i > 0 else 1))
            c_in = c_out
    return nn.Sequential(*layers), c_in


class XResNet1d(nn.Module):
    """xresnet1d (Strodthoff et al., PTB-XL benchmark): a three-conv stem, residual stages with kernel 5,
    concatenated average + max pooling, a batch-normed dropout head. blocks=[3, 4, 23, 3] is xresnet1d101."""

    def __init__(
        self, n_labels: int, width: int = 64, blocks: list[int] = (2, 2, 2, 2), kernel: int = 5, dropout: float = 0.25
    ):
        super().__init__()
        self.stem = nn.Sequential(
            _conv_bn(nn.Conv1d, 12, width // 2, kernel, stride=2),
            _conv_bn(nn.Conv1d, width // 2, width // 2, kernel),
            _conv_bn(nn.Conv1d, width // 2, width, kernel),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        self.stages, c = _stages(nn.Conv1d, width, list(blocks), kernel)
        self.head = nn.Sequential(nn.BatchNorm1d(2 * c), nn.Dropout(dropout), nn.Linear(2 * c, n_labels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.head(torch.cat([x.mean(-1), x.amax(-1)], dim=1))


class ResNet2d(nn.Module):
    """ResNet-18's layout (7x7 stem, 4 stages of 2 basic blocks, global pooling); `width` 64 is ResNet-18
    itself, smaller widths keep its shape at a fraction of the compute."""

    def __init__(self, n_labels: int, width: int = 64, blocks: list[int] = (2, 2, 2, 2)):
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(nn.Conv2d, 3, width, 7, stride=2), nn.MaxPool2d(3, stride=2, padding=1))
        self.block_counts = list(blocks)
        self.stages, c = _stages(nn.Conv2d, width, list(blocks), 3)
        self.head = nn.Linear(c, n_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)).mean((-2, -1)))


def load_torchvision_resnet(model: ResNet2d, state: dict[str, torch.Tensor]) -> None:
    """Load a torchvision ResNet state dict (e.g. ImageNet resnet18 weights kept locally) into `model`,
    which must have its layout (width 64, the same blocks); the label head stays freshly initialised."""
    renamed = {}
    starts, seen = {}, 0
    for i, n in enumerate(model.block_counts, start=1):
        starts[i], seen = seen, seen + n
    parts = {
        "conv1": "body.0.0",
        "bn1": "body.0.1",
        "conv2": "body.1.0",
        "bn2": "body.1.1",
        "downsample.0": "shortcut.0",
        "downsample.1": "shortcut.1",
    }
    for key, tensor in state.items():
        if key.startswith("fc."):
            continue
        if key.startswith(("conv1.", "bn1.")):
            renamed[key.replace("conv1.", "stem.0.0.", 1).replace("bn1.", "stem.0.1.", 1)] = tensor
            continue
        layer, block, rest = key.split(".", 2)
        part, leaf = rest.rsplit(".", 1)
        renamed[f"stages.{starts[int(layer[len('layer') :])] + int(block)}.{parts[part]}.{leaf}"] = tensor
    missing = set(model.state_dict()) - set(renamed) - {k for k in model.state_dict() if k.startswith("head.")}
    if missing:
        raise ValueError(
            f"not a torchvision ResNet of this layout: {len(missing)} tensors missing, e.g. {sorted(missing)[0]}"
        )
    model.load_state_dict(renamed, strict=False)

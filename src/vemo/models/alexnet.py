"""AlexNet as in the authors' published Keras notebook (227x227x3, batch norm, ReLU).

    conv 96@11x11 stride 4 -> BN -> max-pool 3/2
    conv 256@5x5 same -> BN -> max-pool 3/2
    conv 384@3x3 same -> BN -> conv 384@1x1 -> BN -> conv 256@1x1 -> BN -> max-pool 3/2
    flatten (6x6x256) -> dense 4096 -> dropout 0.5 -> dense 4096 -> dropout 0.5 -> dense num_classes

Counting batch-norm running statistics as Keras does: 56,337,156 parameters (56,334,404
trainable) with 4 classes. The paper prints 56,377,156: one digit off, a typo.
"""

from __future__ import annotations

import torch
from torch import nn

from vemo.models.registry import register_model


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int | str = 0) -> list[nn.Module]:
    # Keras' BatchNormalization after the activation-free conv, then ReLU, as the notebook's layer order.
    return [
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(out_channels, eps=1e-3, momentum=0.01),
    ]


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv(in_channels, 96, 11, stride=4),
            nn.MaxPool2d(3, 2),
            *_conv(96, 256, 5, padding=2),
            nn.MaxPool2d(3, 2),
            *_conv(256, 384, 3, padding=1),
            *_conv(384, 384, 1),
            *_conv(384, 256, 1),
            nn.MaxPool2d(3, 2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 227, 227) float -> (B, num_classes) logits."""
        return self.classifier(self.features(x))


@register_model("alexnet", input_size=227, description="AlexNet with batch norm, 227x227 RGB (authors' notebook)")
def alexnet(num_classes: int = 4) -> nn.Module:
    return AlexNet(num_classes)

"""LeNet as in the authors' published Keras notebook: 28x28x3 input, tanh, average pooling.

    conv 6@5x5 (same) -> avg-pool 2 -> conv 16@5x5 (valid) -> avg-pool 2 -> flatten (400)
    -> dense 120 -> dense 84 -> dense num_classes

61,496 parameters with 4 classes, as the paper states.
"""

from __future__ import annotations

import torch
from torch import nn

from vemo.models.registry import register_model


class LeNet(nn.Module):
    def __init__(self, num_classes: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.Tanh(),
            nn.AvgPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.Tanh(),
            nn.Linear(120, 84),
            nn.Tanh(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 28, 28) float -> (B, num_classes) logits."""
        return self.classifier(self.features(x))


@register_model("lenet", input_size=28, description="LeNet, 28x28 RGB, tanh (paper / authors' notebook)")
def lenet(num_classes: int = 4) -> nn.Module:
    return LeNet(num_classes)

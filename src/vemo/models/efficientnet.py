"""EfficientNet-Lite0 (Tan & Le, 2019; the mobile variant without squeeze-excitation), timm's definition.

timm's `tf_efficientnet_lite0` reproduces TensorFlow's "same" padding and batch-norm epsilon,
which the Lite0 weights on the package index were trained with; its inputs are scaled to
-1..1 (mean 0.5, std 0.5), as in the TensorFlow reference.
"""

from __future__ import annotations

import timm
from torch import nn

from vemo.models.registry import register_model


@register_model(
    "efficientnet_lite0",
    input_size=224,
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    head="classifier",
    description="EfficientNet-Lite0 (timm tf_efficientnet_lite0), 224x224 RGB, inputs -1..1",
)
def efficientnet_lite0(num_classes: int = 1000) -> nn.Module:
    return timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=num_classes)

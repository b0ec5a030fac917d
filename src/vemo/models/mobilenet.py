"""MobileNetV2 (Sandler et al., 2018), torchvision's definition, 224x224 RGB, ImageNet normalisation.

The head is `classifier.1` (dropout, then one linear layer on the 1,280 pooled features), so
fine-tuning from ImageNet weights replaces only that layer.
"""

from __future__ import annotations

from torch import nn
from torchvision.models import mobilenet_v2 as torchvision_mobilenet_v2

from vemo.models.registry import register_model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@register_model(
    "mobilenet_v2",
    input_size=224,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    head="classifier.1",
    description="MobileNetV2 (torchvision), 224x224 RGB, ImageNet normalisation",
)
def mobilenet_v2(num_classes: int = 1000) -> nn.Module:
    return torchvision_mobilenet_v2(weights=None, num_classes=num_classes)

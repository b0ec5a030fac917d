"""Image augmentation with torchvision.transforms.v2, as a Keras ImageDataGenerator user sets it.

The paper's text says augmentation was used; its notebook's `ImageDataGenerator()` has no
arguments, i.e. none. vemo's default is the usual set for faces: small rotation, shifts,
shear, zoom and horizontal flips. It is applied to training batches only, per image (v2
draws one set of parameters per call, so a batch is augmented image by image), under a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.transforms import v2


@dataclass(frozen=True)
class AugmentConfig:
    """Keras names in brackets: rotation_range, width/height_shift_range, shear_range, zoom_range, horizontal_flip."""

    rotation: float = 10.0  # degrees (rotation_range)
    shift: float = 0.1  # fraction of the side (width_shift_range, height_shift_range)
    shear: float = 5.0  # degrees (shear_range)
    zoom: float = 0.1  # (zoom_range): scale in [1 - zoom, 1 + zoom]
    horizontal_flip: bool = True


def build_augmentation(config: AugmentConfig) -> v2.Compose:
    """The v2 pipeline for one (C, H, W) uint8 image."""
    steps: list[v2.Transform] = [
        v2.RandomAffine(degrees=config.rotation, translate=(config.shift, config.shift),
                        scale=(1 - config.zoom, 1 + config.zoom), shear=config.shear),
    ]
    if config.horizontal_flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def augment_batch(images: torch.Tensor, transform: v2.Compose, seed: int) -> torch.Tensor:
    """Augment each image of a (B, C, H, W) batch independently; the same seed gives the same batch."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.stack([transform(image) for image in images])

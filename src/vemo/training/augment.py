"""Image augmentation with torchvision.transforms.v2, as a Keras ImageDataGenerator user sets it.

The paper's text says augmentation was used; its notebook's `ImageDataGenerator()` has no
arguments, i.e. none. vemo's default is the usual set for faces: small rotation, shifts,
shear, zoom and horizontal flips. It is applied to training batches only, per image (v2
draws one set of parameters per call, so a batch is augmented image by image), under a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
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
    """The v2 pipeline for one (C, H, W) uint8 image. torchvision is imported here, not with the
    module: it costs about 2 s of CPU a process (its ops load torch._dynamo), and the paper's
    preset, the grids of `vemo experiment` and every run that fails its checks never need it."""
    from torchvision.transforms import v2

    steps: list[v2.Transform] = [
        v2.RandomAffine(
            degrees=config.rotation, translate=(config.shift, config.shift), scale=(1 - config.zoom, 1 + config.zoom), shear=config.shear
        ),
    ]
    if config.horizontal_flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def augment_batch(images: torch.Tensor, transform: v2.Compose, seed: int) -> torch.Tensor:
    """Augment each image of a (B, C, H, W) batch independently; the same seed gives the same batch."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.stack([transform(image) for image in images])


def augment_on_device(images: torch.Tensor, config: AugmentConfig, seed: int) -> torch.Tensor:
    """The same kinds of change as `build_augmentation` (rotation, shift, shear, zoom, flip), drawn
    per image under `seed`, for a whole (B, C, S, S) batch of square images in one resampling on
    its own device: the GPU path, where one image at a time would leave the GPU idle.

    Returns float images with the input's 0..255 values (nearest neighbour, zeros outside, as v2's
    default). The draws differ from v2's, so a run on a GPU is reproducible on a GPU, not on a CPU.
    """
    count, size = len(images), images.shape[-1]
    generator = torch.Generator().manual_seed(seed)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, generator=generator, dtype=torch.float64)

    angle = torch.deg2rad(uniform(-config.rotation, config.rotation))
    shear = torch.deg2rad(uniform(-config.shear, config.shear))
    scale = uniform(1 - config.zoom, 1 + config.zoom)
    shift = (uniform(-config.shift, config.shift) * size).round(), (uniform(-config.shift, config.shift) * size).round()
    flip = (torch.rand(count, generator=generator) < 0.5) if config.horizontal_flip else torch.zeros(count, dtype=torch.bool)
    # forward map about the centre: A = scale * R(angle) @ Shear_x(shear); then the shift (normalised: 2 px / S)
    cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(shear)
    forward = torch.stack([torch.stack([cos, cos * tan - sin], 1), torch.stack([sin, sin * tan + cos], 1)], 1)
    forward = forward * scale.view(-1, 1, 1)
    inverse = torch.linalg.inv(forward)
    offset = torch.stack(shift, 1) * 2 / size
    theta = torch.cat([inverse, -(inverse @ offset.unsqueeze(2))], 2)
    theta[flip, :, 0] *= -1  # a mirrored output samples the mirrored place
    grid = torch.nn.functional.affine_grid(theta.float().to(images.device), list(images.shape), align_corners=False)
    return torch.nn.functional.grid_sample(images.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)

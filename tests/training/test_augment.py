"""The GPU path's batched augmentation (run here on the CPU): the changes it makes are v2's kinds."""

from __future__ import annotations

import torch

from vemo.training.augment import AugmentConfig, augment_batch, augment_on_device, build_augmentation

NOTHING = AugmentConfig(rotation=0, shift=0, shear=0, zoom=0, horizontal_flip=False)


def _faces(count: int = 32, size: int = 28) -> torch.Tensor:
    return torch.randint(0, 256, (count, 1, size, size), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)


def test_no_change_asked_gives_the_images_back():
    images = _faces()
    assert torch.equal(augment_on_device(images, NOTHING, seed=3), images.float())


def test_flips_mirror_some_images_and_leave_the_others():
    images = _faces()
    out = augment_on_device(images, AugmentConfig(rotation=0, shift=0, shear=0, zoom=0), seed=3)
    same = [torch.equal(o, i.float()) for o, i in zip(out, images)]
    mirrored = [torch.equal(o, i.float().flip(-1)) for o, i in zip(out, images)]
    assert all(s or m for s, m in zip(same, mirrored)) and 0 < sum(mirrored) < len(images)


def test_a_shift_moves_whole_pixels_and_fills_with_zeros():
    images = _faces(64)
    out = augment_on_device(images, AugmentConfig(rotation=0, shift=0.2, shear=0, zoom=0, horizontal_flip=False), seed=5)
    for o, i in zip(out, images):
        found = [
            (dy, dx)
            for dy in range(-6, 7)
            for dx in range(-6, 7)
            if torch.equal(
                o[..., max(dy, 0) : 28 + min(dy, 0), max(dx, 0) : 28 + min(dx, 0)],
                i.float()[..., max(-dy, 0) : 28 + min(-dy, 0), max(-dx, 0) : 28 + min(-dx, 0)],
            )
        ]
        assert found, "not a whole-pixel shift"


def test_the_same_seed_gives_the_same_batch_and_another_seed_another():
    images = _faces()
    config = AugmentConfig()
    assert torch.equal(augment_on_device(images, config, 7), augment_on_device(images, config, 7))
    assert not torch.equal(augment_on_device(images, config, 7), augment_on_device(images, config, 8))


def test_it_moves_pixels_as_much_as_the_v2_pipeline_does():
    """On white squares, the share of pixels filled with black measures how far an augmentation
    moves an image: the batched one and v2's agree within a few per cent."""
    white = torch.full((400, 1, 48, 48), 255, dtype=torch.uint8)
    config = AugmentConfig()
    ours = (augment_on_device(white, config, 11) == 0).float().mean().item()
    v2 = (augment_batch(white, build_augmentation(config), 11) == 0).float().mean().item()
    assert v2 > 0.02 and abs(ours - v2) < 0.03, (ours, v2)

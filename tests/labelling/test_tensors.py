"""The training tensors: sizes, colour modes, cache reuse and invalidation, seeded augmentation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from vemo.errors import WorkspaceError
from vemo.labelling import apply_labels, labels_from_clips
from vemo.labelling.split import split_workspace
from vemo.labelling.tensors import FaceDataset, iterate_batches, split_tensors
from vemo.models.inputs import InputSpec
from vemo.training.augment import AugmentConfig, augment_batch, build_augmentation


@pytest.fixture()
def split_ws(workspace_copy: Path) -> Path:
    apply_labels(workspace_copy, labels_from_clips(workspace_copy, window="onset-offset"), "clips")
    split_workspace(workspace_copy, by="clip", seed=0)
    return workspace_copy


@pytest.mark.parametrize(("size", "color", "channels"), [(28, "rgb", 3), (64, "gray", 1), (227, "rgb", 3)])
def test_shapes_and_labels(split_ws: Path, size: int, color: str, channels: int):
    images, labels = split_tensors(split_ws, "train", InputSpec(size, color))
    rows = pd.read_csv(split_ws / "splits.csv").query("split == 'train'")
    assert images.shape == (len(rows), channels, size, size) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64 and int(labels.max()) < 4 and len(labels) == len(rows)


def test_cache_is_reused_and_rebuilt_when_labels_change(split_ws: Path):
    spec = InputSpec(28)
    first, _ = split_tensors(split_ws, "train", spec)
    caches = list((split_ws / "cache").glob("train-28-*.npy"))
    assert len(caches) == 1
    stamp = caches[0].stat().st_mtime_ns
    split_tensors(split_ws, "train", spec)
    assert caches[0].stat().st_mtime_ns == stamp  # reused
    crop = pd.read_csv(split_ws / "splits.csv").query("split == 'train'")["crop_path"].iloc[0]
    apply_labels(split_ws, pd.DataFrame({"crop_path": [crop], "label": ["rejected"]}), "manual", overwrite=True)
    split_workspace(split_ws, by="clip", seed=0)
    second, _ = split_tensors(split_ws, "train", spec)
    after = list((split_ws / "cache").glob("train-28-*.npy"))
    assert len(after) == 1 and after != caches and len(second) == len(first) - 1


def test_missing_split_is_a_clear_error(workspace_copy: Path):
    with pytest.raises(WorkspaceError, match="run `vemo split`"):
        split_tensors(workspace_copy, "train", InputSpec(28))


def test_dataset_and_batches(split_ws: Path):
    dataset = FaceDataset(split_ws, "val", InputSpec(28))
    image, label = dataset[0]
    assert image.shape == (3, 28, 28) and 0 <= label < 4
    batches = list(iterate_batches(dataset.images, dataset.labels, 10, shuffle=True, generator=torch.Generator().manual_seed(1)))
    assert sum(len(y) for _, y in batches) == len(dataset)
    again = list(iterate_batches(dataset.images, dataset.labels, 10, shuffle=True, generator=torch.Generator().manual_seed(1)))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again))


def test_augmentation_is_seeded_and_changes_images():
    images = torch.randint(0, 255, (4, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    transform = build_augmentation(AugmentConfig())
    a, b, c = augment_batch(images, transform, 5), augment_batch(images, transform, 5), augment_batch(images, transform, 6)
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, images)
    assert a.shape == images.shape and a.dtype == torch.uint8

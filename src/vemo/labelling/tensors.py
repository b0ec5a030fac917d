"""A split as tensors, what a model trains and is evaluated on: one decoded cache per
(split, size, colour, resize).

Decoding thousands of PNG crops every epoch would dominate training on a CPU, so each split
is decoded once into a uint8 array under `WS/cache/`, named by a key over the crops (path,
label, size, modification time), the class list and the input spec. When crops, labels or
splits change, the key changes and the cache is rebuilt; stale caches are removed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from vemo.classes import PAPER_CLASSES
from vemo.errors import WorkspaceError
from vemo.io.files import atomic_path
from vemo.io.workspace import SPLITS, read_table, require_workspace
from vemo.models.inputs import InputSpec, crop_to_array

log = logging.getLogger(__name__)

CACHE_DIR = "cache"


def split_rows(workspace: Path, split: str) -> pd.DataFrame:
    """The rows of splits.csv for one split, in a stable order.

    Raises:
        WorkspaceError: no splits.csv, or the split is empty.
    """
    splits = read_table(workspace, SPLITS, ["crop_path", "split", "label"], optional=True)
    if splits is None:
        raise WorkspaceError(f"no {SPLITS} in {workspace}; run `vemo split` first")
    rows = splits[splits["split"] == split].sort_values("crop_path").reset_index(drop=True)
    if rows.empty:
        raise WorkspaceError(f"the {split!r} split of {workspace} is empty")
    return rows


def load_crop(path: Path, spec: InputSpec) -> np.ndarray:
    """One crop as (C, size, size) uint8, RGB or gray.

    Raises:
        WorkspaceError: the file is missing or not an image.
    """
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise WorkspaceError(f"cannot read crop: {path}")
    return crop_to_array(image, spec)


def _cache_key(workspace: Path, rows: pd.DataFrame, spec: InputSpec, classes: tuple[str, ...]) -> str:
    digest = hashlib.sha256(repr((spec, classes)).encode())
    for crop, label in zip(rows["crop_path"], rows["label"]):
        stat = (workspace / crop).stat()
        digest.update(f"{crop}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def split_tensors(
    workspace: Path | str, split: str, spec: InputSpec, *, classes: tuple[str, ...] = PAPER_CLASSES, progress: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, size, size) uint8 and labels (N,) int64 (index into `classes`) of a split.

    Raises:
        WorkspaceError: no split, a crop that cannot be read, or a label not in `classes`.
    """
    workspace = require_workspace(workspace)
    rows = split_rows(workspace, split)
    unknown = sorted(set(rows["label"]) - set(classes))
    if unknown:
        raise WorkspaceError(f"label(s) {', '.join(unknown)} of split {split!r} are not in the class list {', '.join(classes)}")
    labels = torch.tensor([classes.index(v) for v in rows["label"]], dtype=torch.int64)
    prefix = f"{split}-{spec.size}-{spec.color}-{spec.resize}"
    cache = workspace / CACHE_DIR / f"{prefix}-{_cache_key(workspace, rows, spec, classes)}.npy"
    if cache.exists():
        images = np.load(cache)
    else:
        images = np.empty((len(rows), spec.channels, spec.size, spec.size), np.uint8)
        for i, crop in enumerate(tqdm(rows["crop_path"], desc=f"decoding {split} crops", disable=not progress)):
            images[i] = load_crop(workspace / crop, spec)
        with atomic_path(cache) as tmp, open(tmp, "wb") as handle:
            np.save(handle, images)
        for stale in cache.parent.glob(f"{prefix}-*.npy"):
            if stale != cache:
                stale.unlink()
        log.info("cached %d %s crops at %dx%d %s in %s", len(rows), split, spec.size, spec.size, spec.color, cache)
    return torch.from_numpy(images), labels


class FaceDataset(Dataset):
    """A workspace split as a map-style torch Dataset of (uint8 CHW image, label index)."""

    def __init__(self, workspace: Path | str, split: str, spec: InputSpec, classes: tuple[str, ...] = PAPER_CLASSES) -> None:
        self.classes = classes
        self.spec = spec
        self.images, self.labels = split_tensors(workspace, split, spec, classes=classes)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def iterate_batches(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of (uint8 images, labels) from in-memory tensors, in a seeded random order."""
    order = torch.randperm(len(labels), generator=generator) if shuffle else torch.arange(len(labels))
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        yield images[index], labels[index]

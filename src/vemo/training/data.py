"""The splits a run trains on, as uint8 tensors, and where they live while it trains."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from vemo.labelling.tensors import split_tensors
from vemo.models.inputs import Preprocess
from vemo.training.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Splits:
    """The train and validation splits as uint8 images and label indices."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor


def load_splits(workspace: Path, config: TrainConfig, preprocess: Preprocess, progress: bool) -> Splits:
    train_x, train_y = split_tensors(workspace, "train", preprocess.spec, classes=config.classes, progress=progress)
    val_x, val_y = split_tensors(workspace, "val", preprocess.spec, classes=config.classes, progress=progress)
    counts = torch.bincount(train_y, minlength=len(config.classes))
    for name, count in zip(config.classes, counts.tolist()):
        if count == 0:
            log.warning("class %r has no training samples", name)
    return Splits(train_x, train_y, val_x, val_y)


def on_device(data: Splits, device: torch.device, share: float = 0.25) -> Splits:
    """The train split moved to a GPU once, when its uint8 images take at most `share` of the free
    memory there (AlexNet's crops of the `ised` preset take about 1 GB): no copy per batch then."""
    if device.type != "cuda":
        return data
    free, _ = torch.cuda.mem_get_info(device)
    if data.train_x.numel() > free * share:
        log.info("the train split (%.1f GB) stays in host memory", data.train_x.numel() / 1e9)
        return data
    return replace(data, train_x=data.train_x.to(device), train_y=data.train_y.to(device))

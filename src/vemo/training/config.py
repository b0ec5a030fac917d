"""What `vemo train` is asked to do (defaults: the paper's), and what a run produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vemo.checks import require_number, require_plain_name
from vemo.classes import PAPER_CLASSES
from vemo.errors import ConfigError
from vemo.models import model_info
from vemo.training.augment import AugmentConfig

OPTIMIZERS = ("sgd", "rmsprop", "adam")
MONITORS = ("val_loss", "val_accuracy")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults follow the paper (SGD, lr 0.001, batch 10)."""

    model: str = "lenet"
    optimizer: str = "sgd"
    lr: float = 1e-3
    batch_size: int = 10
    epochs: int = 25
    seed: int = 0
    momentum: float = 0.0
    weight_decay: float = 0.0
    rho: float = 0.9  # RMSprop decay (Keras default)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-7  # Keras default epsilon
    patience: int | None = None
    class_weights: bool = False
    preset: str = "vemo"  # "vemo" (scaled pixels, augmentation) or "paper" (raw pixels, nearest resize, none)
    monitor: str = "val_loss"
    device: str = "auto"
    amp: bool = False
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    classes: tuple[str, ...] = PAPER_CLASSES
    name: str | None = None
    weights: str | None = None  # pretrained weights (`vemo weights list`) to start from; a new head for `classes`
    freeze_epochs: int = 0  # first epochs train only the head, the pretrained backbone frozen

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}", "optimizer")
        if self.monitor not in MONITORS:
            raise ConfigError(f"monitor must be one of {', '.join(MONITORS)}, not {self.monitor!r}", "monitor")
        require_number(self.lr, "lr", 0, 10, low_open=True)
        require_number(self.batch_size, "batch_size", 1, 1_000_000)
        require_number(self.epochs, "epochs", 1, 1_000_000)
        require_number(self.seed, "seed", 0, 2**63 - 1)
        require_number(self.momentum, "momentum", 0, 1)
        require_number(self.weight_decay, "weight_decay", 0, 1)
        require_number(self.rho, "rho", 0, 1, low_open=True)
        require_number(self.eps, "eps", 0, 1, low_open=True)
        require_number(self.patience, "patience", 1, 1_000_000)
        require_plain_name(self.name, "name")
        info = model_info(self.model)  # raises UnknownModelError
        if self.freeze_epochs < 0 or self.freeze_epochs >= self.epochs:
            raise ConfigError(
                f"freeze_epochs must be between 0 and epochs - 1 ({self.epochs - 1}), not {self.freeze_epochs}", "freeze_epochs"
            )
        if self.freeze_epochs and info.head is None:
            raise ConfigError(f"model {self.model!r} has no separate head, so it cannot be trained frozen")
        if self.weights is not None and self.preset != "vemo":
            raise ConfigError("pretrained weights expect the normalisation they were trained with: use preset vemo", "preset")

    @property
    def run_name(self) -> str:
        start = self.weights or self.model
        freeze = f"-f{self.freeze_epochs}" if self.freeze_epochs else ""
        return self.name or f"{start}-{self.optimizer}-b{self.batch_size}-{self.preset}{freeze}-s{self.seed}"


@dataclass(frozen=True)
class TrainResult:
    """What `train` produced."""

    run_dir: Path
    best_epoch: int
    best_val_loss: float
    best_val_accuracy: float
    epochs_run: int
    seconds: float
    images_per_second: float
    history: pd.DataFrame

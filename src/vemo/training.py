"""Stage 3 of the paper: train a registered model on a workspace's train split.

Every epoch validates on the validation split; the best epoch (by validation loss or
accuracy) is kept as `model.safetensors`. All randomness of an epoch (shuffling, augmentation,
dropout) is seeded from (seed, epoch), and the last finished epoch is saved with the
optimizer state, so a resumed run ends exactly where an uninterrupted one does.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from vemo import __version__
from vemo.checkpoint import (load_tensors, optimizer_from_flat, optimizer_to_flat, read_run_config, save_tensors,
                             write_run_config)
from vemo.data.augment import AugmentConfig, augment_batch, build_augmentation
from vemo.data.classes import PAPER_CLASSES
from vemo.data.dataset import iterate_batches, split_tensors
from vemo.data.split import read_split_fingerprint
from vemo.errors import CheckpointError, ConfigError
from vemo.io.files import write_csv_atomic, write_json_atomic
from vemo.models import ModelInfo, create_model, model_info
from vemo.models.registry import head_parameter_names
from vemo.preprocess import Preprocess, preprocess_for
from vemo.workspace import corpus_statement, require_workspace

log = logging.getLogger(__name__)

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
    recipe: str = "vemo"
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
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.monitor not in MONITORS:
            raise ConfigError(f"--monitor must be one of {', '.join(MONITORS)}, not {self.monitor!r}")
        if self.lr <= 0 or self.batch_size < 1 or self.epochs < 1:
            raise ConfigError("--lr must be positive, --batch-size and --epochs at least 1")
        info = model_info(self.model)  # raises UnknownModelError
        if self.freeze_epochs < 0 or self.freeze_epochs >= self.epochs:
            raise ConfigError(f"--freeze-epochs must be between 0 and epochs - 1 ({self.epochs - 1}), "
                              f"not {self.freeze_epochs}")
        if self.freeze_epochs and info.head is None:
            raise ConfigError(f"model {self.model!r} has no separate head, so it cannot be trained frozen")
        if self.weights is not None and self.recipe != "vemo":
            raise ConfigError("pretrained weights expect the normalisation they were trained with: use --recipe vemo")

    @property
    def run_name(self) -> str:
        start = self.weights or self.model
        freeze = f"-f{self.freeze_epochs}" if self.freeze_epochs else ""
        return self.name or f"{start}-{self.optimizer}-b{self.batch_size}-{self.recipe}{freeze}-s{self.seed}"


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


def resolve_device(name: str) -> torch.device:
    """"auto" -> cuda when available, else cpu.

    Raises:
        ConfigError: cuda asked for but not available, or an unknown name.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def build_optimizer(config: TrainConfig, parameters) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=config.lr, alpha=config.rho, eps=config.eps,
                                   momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(parameters, lr=config.lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay)


def class_weight_vector(labels: torch.Tensor, classes: tuple[str, ...]) -> torch.Tensor:
    """Inverse-frequency weights N / (C * n_c); 0 for a class with no sample."""
    counts = torch.bincount(labels, minlength=len(classes)).float()
    weights = torch.where(counts > 0, counts.sum() / (len(classes) * counts.clamp(min=1)), torch.zeros_like(counts))
    return weights


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, preprocess: Preprocess, device: torch.device,
                   batch_size: int = 100) -> torch.Tensor:
    """Logits (N, C) for uint8 images, in eval mode, in batches."""
    model.eval()
    outputs = [model(preprocess(images[i : i + batch_size]).to(device)).float().cpu()
               for i in range(0, len(images), batch_size)]
    return torch.cat(outputs) if outputs else torch.empty(0, 0)


def set_backbone_frozen(model: nn.Module, info: ModelInfo, frozen: bool) -> None:
    """Train mode; with `frozen`, only the head learns: the backbone's parameters get no
    gradients and its batch-norm layers keep their pretrained statistics."""
    model.train()
    if info.head is None:
        return
    head = head_parameter_names(model, info)
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(not frozen or name in head)
    if frozen:
        head_module = model.get_submodule(info.head)
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module is not head_module:
                module.eval()


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919) % (2**62)


def train(workspace: Path | str, config: TrainConfig = TrainConfig(), *, progress: bool = False,
          epochs_limit: int | None = None) -> TrainResult:
    """Train `config.model` on WS's train split; write WS/runs/<name>/.

    Re-running with the same settings resumes an unfinished run from its last epoch (and
    returns at once for a finished one).

    Args:
        epochs_limit: stop after this many epochs of this call (to test resuming).

    Raises:
        WorkspaceError: missing or empty train / validation split.
        CheckpointError: the run folder holds a run with other settings.
    """
    workspace = require_workspace(workspace)
    info = model_info(config.model)
    preprocess = preprocess_for(info, config.recipe)
    device = resolve_device(config.device)
    train_x, train_y = split_tensors(workspace, "train", preprocess.spec, classes=config.classes, progress=progress)
    val_x, val_y = split_tensors(workspace, "val", preprocess.spec, classes=config.classes, progress=progress)
    counts = torch.bincount(train_y, minlength=len(config.classes))
    for name, count in zip(config.classes, counts.tolist()):
        if count == 0:
            log.warning("class %r has no training samples", name)

    run_dir = workspace / "runs" / config.run_name
    settings = _settings(config, preprocess, workspace)
    torch.manual_seed(config.seed)
    model = create_model(config.model, num_classes=len(config.classes), weights=config.weights).to(device)
    if info.kind == "classical":
        if (run_dir / "config.json").exists():
            _check_same(run_dir, settings)
        run_dir.mkdir(parents=True, exist_ok=True)
        return _fit_classical(model, run_dir, settings, preprocess, train_x, train_y, val_x, val_y, device)
    optimizer = build_optimizer(config, model.parameters())
    history: list[dict] = []
    best = {"epoch": -1, "val_loss": float("inf"), "val_accuracy": -1.0}
    stale_epochs = 0
    if (run_dir / "last.json").exists():
        history, best, stale_epochs = _resume(run_dir, settings, model, optimizer)
        log.info("resuming %s after epoch %d", run_dir, len(history))
    elif (run_dir / "config.json").exists():
        _check_same(run_dir, settings)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_run_config(run_dir, {**settings, "status": "running"})

    weights = class_weight_vector(train_y, config.classes).to(device) if config.class_weights else None
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    transform = build_augmentation(config.augment) if config.recipe == "vemo" else None
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    train_seconds = 0.0
    seen = 0
    done_now = 0
    for epoch in range(len(history), config.epochs):
        if config.patience is not None and stale_epochs >= config.patience:
            break
        if epochs_limit is not None and done_now >= epochs_limit:
            break
        started = time.perf_counter()
        torch.manual_seed(_epoch_seed(config.seed, epoch))
        generator = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))
        set_backbone_frozen(model, info, frozen=epoch < config.freeze_epochs)
        total_loss, correct, count = 0.0, 0, 0
        batches = iterate_batches(train_x, train_y, config.batch_size, shuffle=True, generator=generator)
        n_batches = (len(train_y) + config.batch_size - 1) // config.batch_size
        for index, (images, labels) in enumerate(tqdm(batches, total=n_batches, desc=f"epoch {epoch + 1}/{config.epochs}",
                                                      disable=not progress, leave=False)):
            if transform is not None:
                images = augment_batch(images, transform, _epoch_seed(config.seed, epoch) + index + 1)
            x, y = preprocess(images).to(device, non_blocking=True), labels.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, enabled=use_amp):
                logits = model(x)
                loss = loss_fn(logits, y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total_loss += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            count += len(y)
        epoch_train_seconds = time.perf_counter() - started
        train_seconds += epoch_train_seconds
        seen += count
        val_logits = predict_logits(model, val_x, preprocess, device)
        val_loss = float(nn.functional.cross_entropy(val_logits, val_y, weight=weights.cpu() if weights is not None else None))
        val_accuracy = float((val_logits.argmax(1) == val_y).float().mean())
        history.append({"epoch": epoch + 1, "train_loss": total_loss / count, "train_accuracy": correct / count,
                        "val_loss": val_loss, "val_accuracy": val_accuracy, "lr": optimizer.param_groups[0]["lr"],
                        "seconds": round(time.perf_counter() - started, 3), "train_seconds": round(epoch_train_seconds, 3)})
        improved = val_loss < best["val_loss"] if config.monitor == "val_loss" else val_accuracy > best["val_accuracy"]
        if improved:
            best = {"epoch": epoch + 1, "val_loss": val_loss, "val_accuracy": val_accuracy}
            save_tensors(run_dir / "model.safetensors", model.state_dict())
            stale_epochs = 0
        else:
            stale_epochs += 1
        _save_last(run_dir, model, optimizer, history, best, stale_epochs)
        write_csv_atomic(run_dir / "history.csv", pd.DataFrame(history))
        log.info("epoch %d: train loss %.4f acc %.3f | val loss %.4f acc %.3f", epoch + 1, total_loss / count,
                 correct / count, val_loss, val_accuracy)
        done_now += 1

    finished = len(history) >= config.epochs or (config.patience is not None and stale_epochs >= config.patience)
    frame = pd.DataFrame(history)
    total_seconds = float(frame["seconds"].sum()) if len(frame) else 0.0
    all_train_seconds = float(frame["train_seconds"].sum()) if len(frame) else 0.0
    images_per_second = len(train_y) * len(frame) / all_train_seconds if all_train_seconds else 0.0
    write_run_config(run_dir, {**settings, "status": "finished" if finished else "interrupted",
                               "best_epoch": best["epoch"]})
    write_json_atomic(run_dir / "train.json", {
        "epochs_run": len(frame), "best_epoch": best["epoch"], "best_val_loss": best["val_loss"],
        "best_val_accuracy": best["val_accuracy"], "seconds_total": round(total_seconds, 3),
        "seconds_per_epoch": round(total_seconds / max(len(frame), 1), 3), "images_per_second": round(images_per_second, 1),
        "train_samples": len(train_y), "val_samples": len(val_y), "device": str(device),
    })
    return TrainResult(run_dir, best["epoch"], best["val_loss"], best["val_accuracy"], len(frame), total_seconds,
                       images_per_second, frame)


def _fit_classical(model: nn.Module, run_dir: Path, settings: dict, preprocess: Preprocess, train_x: torch.Tensor,
                   train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor, device: torch.device) -> TrainResult:
    """Fit a classical model once (no epochs, no optimizer); same files as a network run."""
    if (run_dir / "model.safetensors").exists() and read_run_config(run_dir).get("status") == "finished":  # reuse
        history = pd.read_csv(run_dir / "history.csv")
        row = history.iloc[0]
        return TrainResult(run_dir, 1, float("nan"), float(row["val_accuracy"]), 1, float(row["seconds"]),
                           len(train_y) / max(float(row["seconds"]), 1e-9), history)
    write_run_config(run_dir, {**settings, "status": "running"})
    started = time.perf_counter()
    model.fit(train_x, train_y)  # classical models take the raw uint8 crops
    seconds = time.perf_counter() - started
    train_accuracy = float((predict_logits(model, train_x, preprocess, device).argmax(1) == train_y).float().mean())
    val_accuracy = float((predict_logits(model, val_x, preprocess, device).argmax(1) == val_y).float().mean())
    save_tensors(run_dir / "model.safetensors", model.state_dict())
    history = pd.DataFrame([{"epoch": 1, "train_loss": float("nan"), "train_accuracy": train_accuracy,
                             "val_loss": float("nan"), "val_accuracy": val_accuracy, "lr": float("nan"),
                             "seconds": round(seconds, 3), "train_seconds": round(seconds, 3)}])
    write_csv_atomic(run_dir / "history.csv", history)
    write_run_config(run_dir, {**settings, "status": "finished", "best_epoch": 1})
    write_json_atomic(run_dir / "train.json", {
        "epochs_run": 1, "best_epoch": 1, "best_val_accuracy": val_accuracy, "seconds_total": round(seconds, 3),
        "images_per_second": round(len(train_y) / seconds, 1), "train_samples": len(train_y), "val_samples": len(val_y),
        "device": "cpu (fitted with scikit-learn)"})
    return TrainResult(run_dir, 1, float("nan"), val_accuracy, 1, seconds, len(train_y) / seconds, history)


def _settings(config: TrainConfig, preprocess: Preprocess, workspace: Path) -> dict:
    """Everything config.json records about a run; `_check_same` compares its "training" part."""
    return {
        "model": config.model,
        "model_args": {"num_classes": len(config.classes)},
        "classes": list(config.classes),
        "input": preprocess.to_json(),
        "recipe": config.recipe,
        "training": {k: v for k, v in asdict(replace(config, name=None, device="auto")).items()},
        "workspace": str(workspace.resolve()),
        "split_fingerprint": read_split_fingerprint(workspace),
        "corpus": corpus_statement(workspace),
        "versions": {"vemo": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "device": str(resolve_device(config.device)),
    }


def _check_same(run_dir: Path, settings: dict) -> None:
    previous = read_run_config(run_dir)
    for key in ("training", "split_fingerprint", "model"):
        if json.loads(json.dumps(previous.get(key))) != json.loads(json.dumps(settings[key])):
            raise CheckpointError(f"{run_dir} holds a run with other {key.replace('_', ' ')}; "
                                  "use another --name or delete the folder")


def _save_last(run_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer, history: list[dict], best: dict,
               stale_epochs: int) -> None:
    tensors, plain = optimizer_to_flat(optimizer)
    save_tensors(run_dir / "last.safetensors", {**{f"model.{k}": v for k, v in model.state_dict().items()}, **tensors})
    write_json_atomic(run_dir / "last.json", {"history": history, "best": best, "stale_epochs": stale_epochs,
                                              "optimizer": plain})


def _resume(run_dir: Path, settings: dict, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[list, dict, int]:
    _check_same(run_dir, settings)
    last = json.loads((run_dir / "last.json").read_text())
    tensors = load_tensors(run_dir / "last.safetensors")
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    optimizer_from_flat(optimizer, {k: v for k, v in tensors.items() if k.startswith("optimizer.")}, last["optimizer"])
    return last["history"], last["best"], last["stale_epochs"]

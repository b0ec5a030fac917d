"""Stage 3 of the paper: train a registered model on a workspace's train split.

Every epoch validates on the validation split; the best epoch (by validation loss or
accuracy) is kept as `model.safetensors`. All randomness of an epoch (shuffling, augmentation,
dropout) is seeded from (seed, epoch), and the last finished epoch is saved with the
optimizer state, so a resumed run ends exactly where an uninterrupted one does.

`train` reads as the loop it is: `load_splits`, then per epoch `train_one_epoch`,
`estimate_validation`, `keep_best` and `save_last`, then `finish_run`.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from vemo import __version__
from vemo.errors import CheckpointError, ConfigError, TrainingError
from vemo.faces.recipe import DEFAULT_RECIPE
from vemo.io.files import clean_partial_files
from vemo.io.runs import RunFolder
from vemo.io.workspace import corpus_statement, read_crop_recipe, require_workspace
from vemo.labelling.split import read_split_fingerprint
from vemo.labelling.tensors import iterate_batches
from vemo.models import ModelInfo, model_info
from vemo.models.inputs import Preprocess, batched_logits, preprocess_for, resolve_device
from vemo.models.registry import head_parameter_names
from vemo.training.augment import augment_batch, augment_on_device, build_augmentation
from vemo.training.checkpoint import load_last, save_last
from vemo.training.classical import fit_classical
from vemo.training.config import TrainConfig, TrainResult
from vemo.training.data import Splits, load_splits, on_device
from vemo.training.distributed import (
    Processes,
    join_processes,
    leave_processes,
    process_device,
    replicas_identical,
    replicate,
    run_folder_for,
    shard,
    summed,
)
from vemo.weights import build_model

log = logging.getLogger(__name__)


def build_optimizer(config: TrainConfig, parameters) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            parameters, lr=config.lr, alpha=config.rho, eps=config.eps, momentum=config.momentum, weight_decay=config.weight_decay
        )
    return torch.optim.Adam(parameters, lr=config.lr, betas=config.betas, eps=config.eps, weight_decay=config.weight_decay)


def class_weight_vector(labels: torch.Tensor, classes: tuple[str, ...]) -> torch.Tensor:
    """Inverse-frequency weights N / (C * n_c); 0 for a class with no sample."""
    counts = torch.bincount(labels, minlength=len(classes)).float()
    return torch.where(counts > 0, counts.sum() / (len(classes) * counts.clamp(min=1)), torch.zeros_like(counts))


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


def epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919) % (2**62)


@dataclass
class _Trainer:
    """What every epoch needs: the model and how to feed it."""

    config: TrainConfig
    info: ModelInfo
    model: nn.Module
    optimizer: torch.optim.Optimizer
    preprocess: Preprocess
    device: torch.device
    class_weights: torch.Tensor | None
    progress: bool
    network: nn.Module | None = None  # what trains: `model`, or its DDP replica under torchrun
    processes: Processes = Processes()

    def __post_init__(self) -> None:
        if self.network is None:
            self.network = self.model
        self.loss_fn = nn.CrossEntropyLoss(weight=self.class_weights)
        self.transform = build_augmentation(self.config.augment) if self.config.preset == "vemo" else None
        self.use_amp = self.config.amp and self.device.type == "cuda"
        # bfloat16 keeps float32's range: no loss scaling, no skipped steps; float16 needs the scaler
        self.amp_dtype = torch.bfloat16 if self.use_amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.on_gpu = self.device.type == "cuda"
        if self.on_gpu:  # cuDNN's convolutions prefer NHWC (tensor cores); oneDNN on the CPU is left as it was
            self.model.to(memory_format=torch.channels_last)


def train_one_epoch(t: _Trainer, data: Splits, epoch: int) -> dict:
    """One pass over the shuffled, augmented train split; its loss, accuracy and time."""
    config = t.config
    started = time.perf_counter()
    torch.manual_seed(epoch_seed(config.seed, epoch))
    generator = torch.Generator().manual_seed(epoch_seed(config.seed, epoch))
    set_backbone_frozen(t.model, t.info, frozen=epoch < config.freeze_epochs)
    # summed where the batches are (no synchronisation per step), read once at the end of the epoch
    total_loss = torch.zeros((), dtype=torch.float64, device=t.device)
    correct = torch.zeros((), dtype=torch.int64, device=t.device)
    first_nonfinite = torch.full((), -1, dtype=torch.int64, device=t.device)  # the step where the loss broke
    count = 0
    if t.processes.distributed:  # this process's shard of the epoch
        order = shard(len(data.train_y), t.processes, epoch_seed(config.seed, epoch))
        batches = iterate_batches(data.train_x[order], data.train_y[order], config.batch_size, shuffle=False)
        samples = len(order)
    else:
        batches = iterate_batches(data.train_x, data.train_y, config.batch_size, shuffle=True, generator=generator)
        samples = len(data.train_y)
    n_batches = (samples + config.batch_size - 1) // config.batch_size
    for index, (images, labels) in enumerate(
        tqdm(batches, total=n_batches, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not t.progress, leave=False)
    ):
        images, y = images.to(t.device, non_blocking=True), labels.to(t.device, non_blocking=True)
        if t.transform is not None:
            batch_seed = epoch_seed(config.seed, epoch) + index + 1
            images = augment_on_device(images, config.augment, batch_seed) if t.on_gpu else augment_batch(images, t.transform, batch_seed)
        x = t.preprocess(images)
        if t.on_gpu:
            x = x.contiguous(memory_format=torch.channels_last)
        t.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(t.device.type, dtype=t.amp_dtype, enabled=t.use_amp):
            logits = (t.network or t.model)(x)
            loss = t.loss_fn(logits, y)
        t.scaler.scale(loss).backward()
        t.scaler.step(t.optimizer)
        t.scaler.update()
        total_loss += loss.detach().double() * len(y)
        correct += (logits.argmax(1) == y).sum()
        first_nonfinite = torch.where((first_nonfinite < 0) & ~torch.isfinite(loss.detach()), index, first_nonfinite)
        count += len(y)
    if (step := int(first_nonfinite)) >= 0:
        raise TrainingError(
            f"training diverged: the loss stopped being a number at epoch {epoch + 1}, step "
            f"{step + 1} of {n_batches}; the learning rate ({config.lr:g}) is the likely cause: "
            "lower it",
            "lr",
        )
    loss_sum, right, seen = summed([float(total_loss), int(correct), count], t.processes)
    return {
        "epoch": epoch + 1,
        "train_loss": loss_sum / seen,
        "train_accuracy": right / seen,
        "started": started,
        "train_seconds": time.perf_counter() - started,
    }


def estimate_validation(t: _Trainer, data: Splits) -> tuple[float, float]:
    """(loss, accuracy) on the validation split, in eval mode."""
    logits = batched_logits(t.model, data.val_x, t.preprocess, t.device)
    weights = t.class_weights.cpu() if t.class_weights is not None else None
    loss = float(nn.functional.cross_entropy(logits, data.val_y, weight=weights))
    if not math.isfinite(loss):
        raise TrainingError(
            f"training diverged: the validation loss is {loss}; the learning rate ({t.config.lr:g}) is the likely cause: lower it", "lr"
        )
    return loss, float((logits.argmax(1) == data.val_y).float().mean())


def validated_epoch(t: _Trainer, data: Splits, epoch: int, run: RunFolder, settings: dict) -> dict:
    """One epoch trained and validated; a diverged one marks the run so (its last good epoch stays
    saved) and raises TrainingError."""
    try:
        row = train_one_epoch(t, data, epoch)
        row["val_loss"], row["val_accuracy"] = estimate_validation(t, data)
    except TrainingError:
        run.write_config({**settings, "status": "diverged"})
        raise
    return row


def history_row(row: dict, optimizer: torch.optim.Optimizer) -> dict:
    """An epoch as history.csv (and the checkpoint) record it."""
    return {
        "epoch": row["epoch"],
        "train_loss": row["train_loss"],
        "train_accuracy": row["train_accuracy"],
        "val_loss": row["val_loss"],
        "val_accuracy": row["val_accuracy"],
        "lr": optimizer.param_groups[0]["lr"],
        "seconds": round(time.perf_counter() - row["started"], 3),
        "train_seconds": round(row["train_seconds"], 3),
    }


def keep_best(run: RunFolder, model: nn.Module, monitor: str, row: dict, best: dict, stale_epochs: int) -> tuple[dict, int]:
    """Save the model when this epoch is the best so far; returns (best, epochs without improvement)."""
    improved = row["val_loss"] < best["val_loss"] if monitor == "val_loss" else row["val_accuracy"] > best["val_accuracy"]
    if not improved:
        return best, stale_epochs + 1
    run.save_model(model.state_dict())
    return {"epoch": row["epoch"], "val_loss": row["val_loss"], "val_accuracy": row["val_accuracy"]}, 0


def run_settings(config: TrainConfig, preprocess: Preprocess, workspace: Path) -> dict:
    """Everything config.json records about a run; `check_same` compares its "training" part.

    `crop_recipe` is how the workspace's crops were made: prediction makes its crops the same way.
    """
    return {
        "model": config.model,
        "model_args": {"num_classes": len(config.classes)},
        "classes": list(config.classes),
        "input": preprocess.to_json(),
        "preset": config.preset,
        "crop_recipe": read_crop_recipe(workspace) or DEFAULT_RECIPE.to_json(),
        "training": {k: v for k, v in asdict(replace(config, name=None, device="auto")).items()},
        "workspace": str(workspace.resolve()),
        "split_fingerprint": read_split_fingerprint(workspace),
        "corpus": corpus_statement(workspace),
        "versions": {"vemo": __version__, "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()},
        "device": str(resolve_device(config.device)),
    }


def check_same(run: RunFolder, settings: dict) -> None:
    """Raises CheckpointError when the folder holds a run with other settings or data."""
    previous = run.read_config()
    training = previous.get("training") or {}
    if "recipe" in training:  # the training preset's name in run folders made by vemo 0.1.0 before it was named preset
        previous["training"] = {("preset" if k == "recipe" else k): v for k, v in training.items()}
    for key in ("training", "split_fingerprint", "model"):
        if json.loads(json.dumps(previous.get(key))) != json.loads(json.dumps(settings[key])):
            raise CheckpointError(
                f"{run.path} holds a run with other {key.replace('_', ' ')}; use another name or delete the folder", "name"
            )


def start_or_resume(run: RunFolder, settings: dict, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[list[dict], dict, int]:
    """(history, best epoch, epochs without improvement): empty for a new run, else the saved ones."""
    if run.has_last():
        check_same(run, settings)
        history, best, stale_epochs = load_last(run, model, optimizer)
        log.info("resuming %s after epoch %d", run.path, len(history))
        return history, best, stale_epochs
    if run.has_config():
        check_same(run, settings)
    return [], {"epoch": -1, "val_loss": float("inf"), "val_accuracy": -1.0}, 0


def finish_run(
    run: RunFolder,
    settings: dict,
    config: TrainConfig,
    history: list[dict],
    best: dict,
    stale_epochs: int,
    data: Splits,
    device: torch.device,
    processes: dict | None = None,
) -> TrainResult:
    """Mark the run finished (or interrupted) and write its summary."""
    finished = len(history) >= config.epochs or (config.patience is not None and stale_epochs >= config.patience)
    frame = pd.DataFrame(history)
    total_seconds = float(frame["seconds"].sum()) if len(frame) else 0.0
    all_train_seconds = float(frame["train_seconds"].sum()) if len(frame) else 0.0
    images_per_second = len(data.train_y) * len(frame) / all_train_seconds if all_train_seconds else 0.0
    run.write_config({**settings, "status": "finished" if finished else "interrupted", "best_epoch": best["epoch"]})
    run.write_summary(
        {
            "epochs_run": len(frame),
            "best_epoch": best["epoch"],
            "best_val_loss": best["val_loss"],
            "best_val_accuracy": best["val_accuracy"],
            "seconds_total": round(total_seconds, 3),
            "seconds_per_epoch": round(total_seconds / max(len(frame), 1), 3),
            "images_per_second": round(images_per_second, 1),
            "train_samples": len(data.train_y),
            "val_samples": len(data.val_y),
            "device": str(device),
            **(processes or {}),
        }
    )
    return TrainResult(run.path, best["epoch"], best["val_loss"], best["val_accuracy"], len(frame), total_seconds, images_per_second, frame)


def train(
    workspace: Path | str, config: TrainConfig = TrainConfig(), *, progress: bool = False, epochs_limit: int | None = None
) -> TrainResult:
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
    preprocess = preprocess_for(info, config.preset)
    device = resolve_device(config.device)
    processes = join_processes(device)
    device = process_device(device, processes)
    data = load_splits(workspace, config, preprocess, progress and processes.main)
    run = RunFolder(workspace / "runs" / config.run_name)
    if run.path.is_dir() and processes.main:
        clean_partial_files(run.path)  # a killed run's temporary weights and tables
    run = run_folder_for(run, processes)  # only rank 0 writes
    settings = run_settings(config, preprocess, workspace)
    torch.manual_seed(config.seed)
    model = build_model(config.model, num_classes=len(config.classes), weights=config.weights).to(device)
    if info.kind == "classical":
        if processes.distributed:
            raise ConfigError(f"{config.model} is fitted in one process: drop --nproc / torchrun", "model")
        if run.has_config():
            check_same(run, settings)
        return fit_classical(model, run, settings, preprocess, data.train_x, data.train_y, data.val_x, data.val_y, device)
    data = on_device(data, device)
    optimizer = build_optimizer(config, model.parameters())
    history, best, stale_epochs = start_or_resume(run, settings, model, optimizer)
    run.write_config({**settings, "status": "running"})
    weights = class_weight_vector(data.train_y, config.classes).to(device) if config.class_weights else None
    trainer = _Trainer(
        config,
        info,
        model,
        optimizer,
        preprocess,
        device,
        weights,
        progress and processes.main,
        replicate(model, processes, config.freeze_epochs),
        processes,
    )
    first_epoch = len(history)
    for epoch in range(first_epoch, config.epochs):
        if (config.patience is not None and stale_epochs >= config.patience) or (
            epochs_limit is not None and epoch - first_epoch >= epochs_limit
        ):
            break
        row = validated_epoch(trainer, data, epoch, run, settings)
        history.append(history_row(row, optimizer))
        best, stale_epochs = keep_best(run, model, config.monitor, row, best, stale_epochs)
        save_last(run, model, optimizer, history, best, stale_epochs)
        run.write_history(pd.DataFrame(history))
        log.info(
            "epoch %d: train loss %.4f acc %.3f | val loss %.4f acc %.3f",
            epoch + 1,
            row["train_loss"],
            row["train_accuracy"],
            row["val_loss"],
            row["val_accuracy"],
        )
    replicas = {"processes": processes.world, "replicas_identical": replicas_identical(model, processes)} if processes.distributed else None
    result = finish_run(run, settings, config, history, best, stale_epochs, data, device, replicas)
    leave_processes(processes)
    return result

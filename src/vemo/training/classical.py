"""Fitting a classical model (the LGBP + PCA + LDA baseline): once, no epochs, no optimizer,
into the same run folder files as a network, so evaluation and the grid treat both alike."""

from __future__ import annotations

import time

import pandas as pd
import torch
from torch import nn

from vemo.errors import ConfigError
from vemo.io.runs import RunFolder
from vemo.models.inputs import Preprocess, batched_logits
from vemo.models.lgbp import LGBPClassifier
from vemo.training.config import TrainResult


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, preprocess: Preprocess, device: torch.device) -> float:
    return float((batched_logits(model, images, preprocess, device).argmax(1) == labels).float().mean())


def fit_classical(
    model: nn.Module,
    run: RunFolder,
    settings: dict,
    preprocess: Preprocess,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    device: torch.device,
) -> TrainResult:
    """Fit once (a finished fit is reused) and write model, history, config and summary."""
    if run.model_file.exists() and run.status() == "finished":
        history = run.read_history()
        row = history.iloc[0]
        return TrainResult(
            run.path,
            1,
            float("nan"),
            float(row["val_accuracy"]),
            1,
            float(row["seconds"]),
            len(train_y) / max(float(row["seconds"]), 1e-9),
            history,
        )
    run.write_config({**settings, "status": "running"})
    started = time.perf_counter()
    if not isinstance(model, LGBPClassifier):  # the one classical model of the registry
        raise ConfigError(f"{type(model).__name__} is not a classical model: it trains with epochs")
    model.fit(train_x, train_y)  # classical models take the raw uint8 crops
    seconds = time.perf_counter() - started
    train_accuracy = _accuracy(model, train_x, train_y, preprocess, device)
    val_accuracy = _accuracy(model, val_x, val_y, preprocess, device)
    run.save_model(model.state_dict())
    history = pd.DataFrame(
        [
            {
                "epoch": 1,
                "train_loss": float("nan"),
                "train_accuracy": train_accuracy,
                "val_loss": float("nan"),
                "val_accuracy": val_accuracy,
                "lr": float("nan"),
                "seconds": round(seconds, 3),
                "train_seconds": round(seconds, 3),
            }
        ]
    )
    run.write_history(history)
    run.write_config({**settings, "status": "finished", "best_epoch": 1})
    run.write_summary(
        {
            "epochs_run": 1,
            "best_epoch": 1,
            "best_val_accuracy": val_accuracy,
            "seconds_total": round(seconds, 3),
            "images_per_second": round(len(train_y) / seconds, 1),
            "train_samples": len(train_y),
            "val_samples": len(val_y),
            "device": "cpu (fitted with scikit-learn)",
        }
    )
    return TrainResult(run.path, 1, float("nan"), val_accuracy, 1, seconds, len(train_y) / seconds, history)

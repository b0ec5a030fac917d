"""Run folders: weights in safetensors, everything else in JSON. Nothing is ever pickled.

A run folder holds `model.safetensors` (best epoch), `config.json` (what the model is and how
it was trained: enough to rebuild it), and for resuming `last.safetensors` (model and
optimizer tensors of the last finished epoch) with `last.json` (epoch, history, the rest of
the optimizer state).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from vemo import __version__
from vemo.errors import CheckpointError
from vemo.io.files import atomic_path, write_json_atomic

FORMAT = "vemo-run/1"


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write tensors to a safetensors file atomically."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file.

    Raises:
        CheckpointError: missing or corrupt.
    """
    if not path.is_file():
        raise CheckpointError(f"missing checkpoint: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"corrupt checkpoint {path}: {error}") from error


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer's state into tensors (for safetensors) and plain values (for JSON)."""
    state = optimizer.state_dict()
    tensors, plain = {}, {"param_groups": state["param_groups"], "state": {}}
    for index, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                plain["state"].setdefault(str(index), {})[key] = value
    return tensors, plain


def optimizer_from_flat(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    """Restore what `optimizer_to_flat` split."""
    state: dict[int, dict[str, Any]] = {int(k): dict(v) for k, v in plain["state"].items()}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": plain["param_groups"]})


def read_run_config(run_dir: Path | str) -> dict[str, Any]:
    """config.json of a run folder.

    Raises:
        CheckpointError: missing, unreadable, or from another format version.
    """
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"not a vemo run folder (no config.json): {run_dir}")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"unreadable {path}: {error}") from error
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{path} is format {config.get('format')!r}; this vemo {__version__} reads {FORMAT}")
    return config


def write_run_config(run_dir: Path, config: dict[str, Any]) -> None:
    write_json_atomic(run_dir / "config.json", {"format": FORMAT, "vemo_version": __version__, **config})


def load_run(run_dir: Path | str, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a trained model (eval mode) and its config from a run folder.

    Raises:
        CheckpointError: missing, corrupt, or not matching its config.
    """
    from vemo.models import create_model

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    model = create_model(config["model"], num_classes=len(config["classes"]))
    tensors = load_tensors(run_dir / "model.safetensors")
    try:
        model.load_state_dict(tensors)
    except RuntimeError as error:
        raise CheckpointError(f"{run_dir}/model.safetensors does not fit model {config['model']!r}: "
                              f"{str(error).splitlines()[0]}") from error
    return model.to(device).eval(), config

"""Tensors on disk: safetensors files, written atomically. Nothing is ever pickled.

Run folders, the training checkpoint and the pretrained-weights cache all store their
tensors through these two functions.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from vemo.errors import CheckpointError
from vemo.io.files import atomic_path


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


def read_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file (its header only; no tensor is read).

    Raises:
        CheckpointError: missing or corrupt.
    """
    if not path.is_file():
        raise CheckpointError(f"missing checkpoint: {path}")
    try:
        with safe_open(str(path), framework="pt") as opened:
            return dict(opened.metadata() or {})
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"corrupt checkpoint {path}: {error}") from error

"""Tensors on disk: safetensors files, written atomically. Nothing is ever pickled.

Run folders, the training checkpoint and the pretrained-weights cache all store their
tensors through these two functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError, safe_open

from vemo.errors import CheckpointError
from vemo.io.files import atomic_path

if TYPE_CHECKING:  # torch loads when tensors are read or written, not for a file's metadata
    import torch


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write tensors to a safetensors file atomically."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file.

    Raises:
        CheckpointError: missing or corrupt.
    """
    from safetensors.torch import load_file

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
        with safe_open(str(path), framework="numpy") as opened:
            return dict(opened.metadata() or {})
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"corrupt checkpoint {path}: {error}") from error

"""The training checkpoint: the last finished epoch, saved so a killed run resumes exactly.

An optimizer's state mixes tensors (moments, step counts) with plain values (learning rate,
betas): the tensors go into `last.safetensors`, the rest, as JSON, into its metadata; never a
pickle, and one file, so the checkpoint is replaced in one atomic step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vemo.io.runs import RunFolder


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


def save_last(
    run: RunFolder, model: nn.Module, optimizer: torch.optim.Optimizer, history: list[dict], best: dict, stale_epochs: int
) -> None:
    """The state after a finished epoch: model, optimizer, history, best epoch, patience count."""
    tensors, plain = optimizer_to_flat(optimizer)
    run.save_last(
        {**{f"model.{k}": v for k, v in model.state_dict().items()}, **tensors},
        {"history": history, "best": best, "stale_epochs": stale_epochs, "optimizer": plain},
    )


def load_last(run: RunFolder, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[list[dict], dict, int]:
    """Put the saved state back into `model` and `optimizer`; returns (history, best, stale epochs)."""
    tensors, last = run.load_last()
    model.load_state_dict({k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")})
    optimizer_from_flat(optimizer, {k: v for k, v in tensors.items() if k.startswith("optimizer.")}, last["optimizer"])
    return last["history"], last["best"], last["stale_epochs"]

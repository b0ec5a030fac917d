"""A trained model rebuilt from its run folder, for evaluation and prediction alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from vemo.errors import CheckpointError
from vemo.io.runs import RunFolder
from vemo.models.registry import create_model


def load_run(run_dir: Path | str | RunFolder, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a trained model (eval mode) and its config from a run folder.

    Raises:
        CheckpointError: missing, corrupt, or not matching its config.
    """
    run = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
    config = run.read_config()
    model = create_model(config["model"], num_classes=len(config["classes"]))
    tensors = run.load_model_state()
    try:
        model.load_state_dict(tensors)
    except RuntimeError as error:
        raise CheckpointError(f"{run.model_file} does not fit model {config['model']!r}: {str(error).splitlines()[0]}") from error
    return model.to(device).eval(), config

"""The run folder: one trained model and everything said about it, beside the workspace type.

    RUN/model.safetensors   the weights of the best epoch (or the fitted classical model)
    RUN/config.json         what the model is, how it was trained, on which data and crops
    RUN/history.csv         one row per epoch
    RUN/train.json          what training did: epochs, best epoch, time, speed
    RUN/eval-<split>.json   what `vemo evaluate` measured on a split
    RUN/last.safetensors    the last finished epoch, for resuming: model and optimizer tensors, and
                            the rest (history, best epoch, optimizer scalars) as JSON in its
                            metadata, so the checkpoint is one file, written in one atomic step

Training, the classical baseline, evaluation, the experiment grid and prediction all name
these files through `RunFolder`, so a file name exists in one place only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vemo import __version__
from vemo.errors import CheckpointError
from vemo.io.files import write_csv_atomic, write_json_atomic
from vemo.io.tensors import load_tensors, read_metadata, save_tensors

if TYPE_CHECKING:
    import torch

FORMAT = "vemo-run/1"
LAST_STATE_KEY = "vemo.last_state"  # the metadata entry of last.safetensors that holds the training state


class RunFolder:
    """The files of one run; nothing is read or created until asked for."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model_file(self) -> Path:
        return self.path / "model.safetensors"

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def history_file(self) -> Path:
        return self.path / "history.csv"

    @property
    def summary_file(self) -> Path:
        return self.path / "train.json"

    @property
    def last_tensors_file(self) -> Path:
        return self.path / "last.safetensors"

    @property
    def last_state_file(self) -> Path:
        return self.path / "last.json"

    def eval_file(self, split: str) -> Path:
        return self.path / f"eval-{split}.json"

    def figure_file(self, name: str) -> Path:
        return self.path / name

    # -- config.json -------------------------------------------------------------------

    def has_config(self) -> bool:
        return self.config_file.is_file()

    def read_config(self) -> dict[str, Any]:
        """config.json.

        Raises:
            CheckpointError: missing, unreadable, or from another format version.
        """
        if not self.config_file.is_file():
            raise CheckpointError(f"not a vemo run folder (no config.json): {self.path}")
        try:
            config: dict[str, Any] = json.loads(self.config_file.read_text())
        except json.JSONDecodeError as error:
            raise CheckpointError(f"unreadable {self.config_file}: {error}") from error
        if config.get("format") != FORMAT:
            raise CheckpointError(f"{self.config_file} is format {config.get('format')!r}; this vemo {__version__} reads {FORMAT}")
        return config

    def write_config(self, config: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.config_file, {"format": FORMAT, "vemo_version": __version__, **config})

    def status(self) -> str | None:
        """ "running", "interrupted", "finished", or None when there is no config yet."""
        return self.read_config().get("status") if self.has_config() else None

    # -- weights -----------------------------------------------------------------------

    def save_model(self, state: dict[str, torch.Tensor]) -> None:
        save_tensors(self.model_file, state)

    def load_model_state(self) -> dict[str, torch.Tensor]:
        return load_tensors(self.model_file)

    # -- tables and summaries ----------------------------------------------------------

    def write_history(self, history: pd.DataFrame) -> None:
        write_csv_atomic(self.history_file, history)

    def read_history(self) -> pd.DataFrame:
        return pd.read_csv(self.history_file)

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json_atomic(self.summary_file, summary)

    def read_summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = json.loads(self.summary_file.read_text())
        return summary

    def write_eval(self, split: str, report: dict[str, Any]) -> None:
        write_json_atomic(self.eval_file(split), report)

    def read_eval(self, split: str) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.eval_file(split).read_text())
        return report

    # -- resuming ----------------------------------------------------------------------

    def has_last(self) -> bool:
        return self.last_tensors_file.exists()

    def save_last(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        """One file, one atomic rename: a kill never leaves new tensors beside an old state."""
        save_tensors(self.last_tensors_file, tensors, {LAST_STATE_KEY: json.dumps(state)})
        self.last_state_file.unlink(missing_ok=True)  # the two-file layout of older runs

    def load_last(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        state = read_metadata(self.last_tensors_file).get(LAST_STATE_KEY)
        if state is None and self.last_state_file.exists():  # written by an older vemo
            return load_tensors(self.last_tensors_file), json.loads(self.last_state_file.read_text())
        if state is None:
            raise CheckpointError(f"checkpoint without its training state: {self.last_tensors_file}")
        return load_tensors(self.last_tensors_file), json.loads(state)

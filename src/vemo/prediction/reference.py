"""What `--model` names, read in this one place: a trained run folder, `pretrained:NAME` weights
from the catalogue (`vemo weights list`), or an exported `FILE.onnx`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PRETRAINED_PREFIX = "pretrained:"
# What `vemo predict` and `vemo live` use without `--model`: the catalogue's one emotion classifier
# trained on real faces (FER2013), so a new user's first prediction needs no training run.
DEFAULT_MODEL = PRETRAINED_PREFIX + "fer2013-minixception"
DEFAULT_OUT = Path("predictions")  # `vemo predict`'s folder without `--out`, in the current folder


@dataclass(frozen=True)
class ModelReference:
    """`kind` ("run", "pretrained" or "onnx") and `target`: the folder or file, or the weights' name."""

    kind: str
    target: str

    @property
    def path(self) -> Path:
        """The run folder or the ONNX file (pretrained weights live in the weights cache)."""
        return Path(self.target)


def parse_model(model: str | Path | ModelReference) -> ModelReference:
    """The reference a `--model` value (or a path) stands for."""
    if isinstance(model, ModelReference):
        return model
    text = str(model)
    if text.startswith(PRETRAINED_PREFIX):
        return ModelReference("pretrained", text[len(PRETRAINED_PREFIX) :])
    return ModelReference("onnx" if text.endswith(".onnx") else "run", text)

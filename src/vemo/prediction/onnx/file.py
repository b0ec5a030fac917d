"""What an exported ONNX file says about itself, and the network it holds run by ONNX Runtime.

The graph takes the model's preprocessed input, float32 (N, C, H, W), and gives logits (N,
classes), as the PyTorch network does; the metadata (ONNX `metadata_props`, every value JSON)
say everything else a program needs to use it without vemo:

    vemo.classes        the classes, in output order
    vemo.input          size, colour (rgb|gray, RGB channel order), resize, scale, mean, std:
                        input = (uint8 pixels * scale - mean) / std, per channel
    vemo.crop_recipe    detector and its settings, alignment, crop side, where the eyes land
    vemo.corpus         which corpus the weights learned from (synthetic or not)
    vemo.model, vemo.source, vemo.version, vemo.weights_sha256, vemo.opset, vemo.quantization
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vemo.errors import CheckpointError

PREFIX = "vemo."
INPUT_NAME, OUTPUT_NAME = "input", "logits"
REQUIRED = ("classes", "input", "crop_recipe", "corpus", "model", "weights_sha256")


def metadata_props(values: dict[str, Any]) -> dict[str, str]:
    """vemo's metadata as ONNX string properties (each value JSON)."""
    return {PREFIX + key: json.dumps(value) for key, value in values.items()}


def read_metadata(path: Path | str) -> dict[str, Any]:
    """vemo's metadata of an ONNX file, without loading its weights into a session.

    Raises:
        CheckpointError: not an ONNX file, or one vemo did not write.
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # onnx raises DecodeError, OSError, ValueError... for a file it cannot read
        raise CheckpointError(f"{path}: not a readable ONNX file ({type(error).__name__})") from error
    props = {p.key[len(PREFIX):]: p.value for p in model.metadata_props if p.key.startswith(PREFIX)}
    missing = [key for key in REQUIRED if key not in props]
    if missing:
        raise CheckpointError(f"{path}: an ONNX file without vemo's metadata ({', '.join(missing)} missing); "
                              "export it with `vemo export`")
    try:
        return {key: json.loads(value) for key, value in props.items()}
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: vemo metadata that is not JSON ({error.msg})") from error


def inference_session(model: bytes | str | Path, threads: int = 1):
    """An ONNX Runtime CPU session. One intra-op thread: vemo's prediction threads each call it
    (a session is safe to share), as they each run torch on one thread."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads must not spin
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    try:
        return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's own exception types (Fail, InvalidGraph, ...)
        where = "the exported graph" if isinstance(model, bytes) else str(model)
        raise CheckpointError(f"{where}: ONNX Runtime cannot load it: {str(error).splitlines()[0][:200]}") from error


class OnnxNetwork:
    """An ONNX Runtime session in the place of a PyTorch network: float32 (N, C, H, W) in, logits
    out, in NumPy on the CPU; so a prediction through it never loads torch."""

    def __init__(self, session, description: str) -> None:
        self.session = session
        self.description = description

    def logits(self, batch: np.ndarray) -> np.ndarray:
        (logits,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)})
        return logits

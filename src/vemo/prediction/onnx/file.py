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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from vemo.classes import MAX_CLASS_NAME, MAX_CLASSES
from vemo.errors import CheckpointError, ConfigError
from vemo.faces.recipe import CropRecipe
from vemo.models.inputs import Preprocess

Parsed = TypeVar("Parsed")

PREFIX = "vemo."
INPUT_NAME, OUTPUT_NAME = "input", "logits"
REQUIRED = ("classes", "input", "crop_recipe", "corpus", "model", "weights_sha256")
MAX_NAME = MAX_CLASS_NAME  # characters of a class or model name


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
    props = {p.key[len(PREFIX) :]: p.value for p in model.metadata_props if p.key.startswith(PREFIX)}
    missing = [key for key in REQUIRED if key not in props]
    if missing:
        named = ", ".join(PREFIX + key for key in missing)
        raise CheckpointError(f"{path}: an ONNX file without vemo's metadata ({named} missing); export it with `vemo export`")
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
    """An ONNX Runtime session of an ONNX file in the place of a PyTorch network: float32 (N, C, H,
    W) in, logits out, in NumPy on the CPU; so a prediction through it never loads torch.

    Raises:
        CheckpointError: ONNX Runtime cannot load the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.session = inference_session(self.path)
        self.description = str(path)

    def __reduce__(self) -> tuple:
        """Pickled as its file, opened again where it lands (prediction's worker processes): a
        session cannot be pickled."""
        return (OnnxNetwork, (self.path,))

    def logits(self, batch: np.ndarray) -> np.ndarray:
        (logits,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)})
        return logits


@dataclass(frozen=True)
class ModelFile:
    """An exported file that may come from anyone: every metadata field checked for its type and
    bounds (those of the option it stands for), and the graph checked against them."""

    path: Path
    network: OnnxNetwork
    model_classes: tuple[str, ...]
    reported_classes: tuple[str, ...] | None
    preprocess: Preprocess
    crop_recipe: CropRecipe
    corpus: dict
    model: str


def open_model_file(path: Path) -> ModelFile:
    """The file's checked metadata and its network in ONNX Runtime.

    Raises:
        CheckpointError: one line naming the file and the field that is missing, of the wrong
            type, of the wrong length or out of range, or the graph that disagrees with it.
    """
    meta = read_metadata(path)
    model_classes = _field(path, meta, "classes", _class_names)
    preprocess = _field(path, meta, "input", Preprocess.from_json)
    recipe = _field(path, meta, "crop_recipe", _crop_recipe)
    corpus = _field(path, meta, "corpus", _object)
    model = _field(path, meta, "model", _name)
    network = OnnxNetwork(path)
    _check_graph(path, network, preprocess, len(model_classes))
    reported = _field(path, meta, "reported_classes", _class_names) if meta.get("reported_classes") else None
    if reported and not set(reported) <= set(model_classes):
        raise CheckpointError(
            f"{path}: metadata vemo.reported_classes names classes the model lacks "
            f"({', '.join(sorted(set(reported) - set(model_classes)))})"
        )
    return ModelFile(path, network, model_classes, reported, preprocess, recipe, corpus, model)


def _field(path: Path, meta: dict[str, Any], key: str, parse: Callable[[Any], Parsed]) -> Parsed:
    if key not in meta:
        raise CheckpointError(f"{path}: metadata vemo.{key} is missing")
    try:
        return parse(meta[key])
    except (ConfigError, TypeError, ValueError, KeyError) as error:
        reason = error.args[0] if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
        raise CheckpointError(f"{path}: metadata vemo.{key} is unusable: {str(reason)[:300]}") from None


def _class_names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(name, str) and 0 < len(name) <= MAX_NAME for name in value):
        raise ConfigError(f"must be a list of names (1 to {MAX_NAME} characters each)")
    if not 2 <= len(value) <= MAX_CLASSES or len(set(value)) != len(value):
        raise ConfigError(f"must name 2 to {MAX_CLASSES} distinct classes, not {len(value)} names ({len(set(value))} distinct)")
    return tuple(value)


def _crop_recipe(value: Any) -> CropRecipe:
    if not isinstance(value, dict) or not isinstance(value.get("detector_settings", {}), dict):
        raise ConfigError("must be an object, with detector_settings an object")
    return CropRecipe.from_json(value)


def _object(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"must be an object, not {type(value).__name__}")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME:
        raise ConfigError(f"must be a name of 1 to {MAX_NAME} characters")
    return value


def _check_graph(path: Path, network: OnnxNetwork, preprocess: Preprocess, classes: int) -> None:
    """The graph takes `input` (N, C, size, size) and gives `logits` (N, classes), as the
    metadata say; a dimension the graph leaves open is checked by running one blank image."""
    inputs = {node.name: node.shape for node in network.session.get_inputs()}
    outputs = {node.name: node.shape for node in network.session.get_outputs()}
    if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
        raise CheckpointError(
            f"{path}: the graph must take {INPUT_NAME!r} and give {OUTPUT_NAME!r}, not {', '.join(inputs)} -> {', '.join(outputs)}"
        )
    expected = (None, 3 if preprocess.color == "rgb" else 1, preprocess.size, preprocess.size)
    shape = inputs[INPUT_NAME]
    if len(shape) != 4 or any(isinstance(got, int) and want is not None and got != want for got, want in zip(shape, expected)):
        raise CheckpointError(
            f"{path}: the graph's input is {list(shape)}, but metadata vemo.input says "
            f"(N, {expected[1]}, {preprocess.size}, {preprocess.size})"
        )
    width = outputs[OUTPUT_NAME][-1] if len(outputs[OUTPUT_NAME]) == 2 else None
    if not isinstance(width, int):
        try:
            width = network.logits(np.zeros((1, *expected[1:]), np.float32)).shape[-1]
        except Exception as error:  # onnxruntime's own exception types
            raise CheckpointError(f"{path}: ONNX Runtime cannot run it on one image: {str(error).splitlines()[0][:200]}") from None
    if width != classes:
        raise CheckpointError(f"{path}: the graph gives {width} outputs, but metadata vemo.classes names {classes}")

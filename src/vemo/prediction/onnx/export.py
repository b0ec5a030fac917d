"""`vemo export`: a predictor's network as a self-describing ONNX file, proven equal to it.

The file is written only after ONNX Runtime has run it on the crops it was checked on and on
random inputs, and every probability was within `TOLERANCE` of PyTorch's; an int8 file is
refused when its labels agree with the float file's on surely less than `INT8_AGREEMENT` of
held-out real face crops (the whole 95 % interval of the share below it).
The TorchScript-based exporter is tried first (a second for most networks); the dynamo
exporter when it fails.
"""

from __future__ import annotations

import copy
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vemo import __version__
from vemo.errors import ExportError
from vemo.io.files import atomic_path
from vemo.models import model_info
from vemo.prediction.onnx.file import INPUT_NAME, OUTPUT_NAME, OnnxNetwork, inference_session, metadata_props
from vemo.prediction.predictor import Predictor
from vemo.weights.store import file_sha256

OPSET = 17
TOLERANCE = 1e-4  # largest difference of a probability between ONNX Runtime and PyTorch
INT8_AGREEMENT = 0.98  # share of equal labels an int8 file must keep on real crops
RANDOM_INPUTS = 16
MIN_INT8_CHECKS = 10


@dataclass
class ExportReport:
    """What was written and how it was proven."""

    path: Path
    size_bytes: int
    exporter: str
    opset: int
    real_crops: int
    random_inputs: int
    max_difference: float  # float file vs PyTorch, probabilities
    quantization: str = "none"
    int8_agreement: float | None = None  # share of equal labels, int8 vs float, on the real crops
    int8_max_difference: float | None = None
    int8_checked: int = 0  # held-out crops (the other half calibrated the activations' ranges)
    int8_interval: tuple[float, float] | None = None  # 95 % interval of the agreement
    seconds: float = 0.0

    def lines(self) -> list[str]:
        checked = f"{self.real_crops} face crops and {self.random_inputs} random inputs"
        lines = [
            f"exported {self.path} ({self.size_bytes / 2**20:.1f} MB, opset {self.opset}, {self.exporter} exporter, {self.seconds:.1f} s)",
            f"checked with ONNX Runtime on {checked}: largest probability difference from PyTorch "
            f"{self.max_difference:.1e} (limit {TOLERANCE:.0e})",
        ]
        if self.int8_agreement is not None and self.int8_interval is not None:
            low, high = self.int8_interval
            lines.append(
                f"int8 ({self.quantization}): labels agree with the float model on "
                f"{self.int8_agreement:.1%} (95 % interval {low:.1%}-{high:.1%}) of {self.int8_checked} "
                f"held-out face crops, largest probability difference {self.int8_max_difference:.3f}"
            )
            if low < INT8_AGREEMENT:
                lines.append(
                    f"note: too few crops to show at least {INT8_AGREEMENT:.0%} agreement; give more faces "
                    "with --check-with for a surer check"
                )
        return lines


def export_predictor(predictor: Predictor, target: Path, crops: np.ndarray | None = None, *, int8: bool = False) -> ExportReport:
    """Write `predictor`'s network to `target` as ONNX, with its metadata, after the checks.

    `crops`: (N, C, H, W) uint8 face crops in the model's input shape to check on (and, with
    `int8`, to calibrate and measure agreement on).

    Raises:
        ExportError: the exporter failed, the file differs from PyTorch, or int8 loses labels.
    """
    started = time.perf_counter()
    network = _exportable(predictor)
    graph, exporter = _export_graph(network, predictor)
    graph = _with_metadata(graph, predictor, "none")
    real = crops if crops is not None else np.zeros((0, *_input_shape(predictor)), np.uint8)
    probe = np.concatenate([real, _random_crops(predictor, RANDOM_INPUTS)])
    inputs = predictor.preprocess(torch.from_numpy(probe)).numpy()
    with torch.inference_mode():
        expected = torch.softmax(network(torch.from_numpy(inputs)), 1).numpy()
    float_probabilities = _run(graph, inputs)
    difference = float(np.abs(float_probabilities - expected).max())
    if not difference <= TOLERANCE:
        raise ExportError(
            f"{target}: ONNX Runtime's probabilities differ from PyTorch's by {difference:.1e} (limit {TOLERANCE:.0e}); nothing written"
        )
    report = ExportReport(Path(target), 0, exporter, OPSET, len(real), RANDOM_INPUTS, difference)
    if int8:
        graph = _quantised(graph, predictor, inputs[: len(real)], float_probabilities[: len(real)], report)
    with atomic_path(target) as temporary:
        temporary.write_bytes(graph)
    report.size_bytes, report.seconds = len(graph), time.perf_counter() - started
    return report


def _input_shape(predictor: Predictor) -> tuple[int, int, int]:
    spec = predictor.preprocess
    return (3 if spec.color == "rgb" else 1, spec.size, spec.size)


def _random_crops(predictor: Predictor, count: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, *_input_shape(predictor)), dtype=np.uint8)


def _exportable(predictor: Predictor) -> torch.nn.Module:
    """The network as prediction runs it (batch norms folded), on the CPU, in plain memory order."""
    if isinstance(predictor.network, OnnxNetwork):
        raise ExportError(f"{predictor.description} is already an ONNX file")
    if predictor.architecture and model_info(predictor.architecture).kind != "neural":
        raise ExportError(
            f"{predictor.description}: {predictor.architecture} is a classical model (fitted, not a network): it has no ONNX export"
        )
    return copy.deepcopy(predictor.network).cpu().to(memory_format=torch.contiguous_format).eval()


def _export_graph(network: torch.nn.Module, predictor: Predictor) -> tuple[bytes, str]:
    """The serialised graph with a dynamic batch axis, and which exporter made it."""
    example = (torch.zeros(2, *_input_shape(predictor)),)
    with tempfile.TemporaryDirectory(prefix="vemo-onnx-") as folder:
        path = Path(folder) / "network.onnx"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's notes on constants: the input side is fixed
                torch.onnx.export(
                    network,
                    example,
                    str(path),
                    dynamo=False,
                    opset_version=OPSET,
                    input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME],
                    dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                )
            return path.read_bytes(), "torchscript"
        except Exception as traced_error:  # the tracer's failures have no common type
            try:
                program = torch.onnx.export(
                    network,
                    example,
                    dynamo=True,
                    opset_version=max(OPSET, 18),
                    input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME],
                    verbose=False,
                    dynamic_shapes=({0: torch.export.Dim("batch")},),
                )
                assert program is not None
                return program.model_proto.SerializeToString(), "dynamo"
            except Exception as error:
                raise ExportError(
                    f"{predictor.description}: cannot export to ONNX ({type(traced_error).__name__}: "
                    f"{str(traced_error).splitlines()[0][:150]}; dynamo: {type(error).__name__})"
                ) from error


def _with_metadata(graph: bytes, predictor: Predictor, quantization: str) -> bytes:
    import onnx

    model = onnx.load_from_string(graph)
    weights = predictor.weights_file
    values = {
        "classes": list(predictor.model_classes),
        "reported_classes": list(predictor.classes),
        "input": {
            **predictor.preprocess.to_json(),
            "layout": "NCHW",
            "channel_order": "RGB",
            "dtype": "float32",
            "formula": "(pixel * scale - mean) / std",
        },
        "output": "logits; softmax gives the probabilities of `classes`",
        "crop_recipe": predictor.crop_recipe.to_json(),
        "corpus": predictor.corpus,
        "model": predictor.architecture,
        "source": predictor.description,
        "version": __version__,
        "weights_sha256": file_sha256(weights) if weights else None,
        "opset": next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), OPSET),
        "quantization": quantization,
    }
    del model.metadata_props[:]
    for key, value in metadata_props(values).items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name, model.producer_version = "vemo", __version__
    model.doc_string = f"vemo emotion classifier: {predictor.architecture}, classes {', '.join(predictor.model_classes)}"
    return model.SerializeToString()


def _run(graph: bytes, inputs: np.ndarray) -> np.ndarray:
    """Softmax probabilities of the graph on float inputs, with ONNX Runtime."""
    session = inference_session(graph, threads=0)
    logits = np.concatenate([session.run([OUTPUT_NAME], {INPUT_NAME: inputs[i : i + 64]})[0] for i in range(0, len(inputs), 64)])
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _quantised(graph: bytes, predictor: Predictor, real_inputs: np.ndarray, reference: np.ndarray, report: ExportReport) -> bytes:
    """The int8 graph (static, calibrated on the real crops), after its agreement check."""
    from vemo.prediction.onnx.int8 import quantize_static_int8

    if len(real_inputs) < 2 * MIN_INT8_CHECKS:
        raise ExportError(
            f"--int8 needs at least {2 * MIN_INT8_CHECKS} face crops (half to calibrate, half to check "
            f"on), found {len(real_inputs)}: give a workspace or face videos/photos with --check-with"
        )
    calibration, held_out = real_inputs[0::2], slice(1, None, 2)  # agreement is measured on crops it never saw
    quantised = _with_metadata(quantize_static_int8(graph, calibration), predictor, "int8-static-qdq")
    probabilities = _run(quantised, real_inputs[held_out])
    agreeing = int(np.sum(probabilities.argmax(1) == reference[held_out].argmax(1)))
    low, high = agreement_interval(agreeing, len(probabilities))
    report.quantization, report.int8_checked = "int8-static-qdq", len(probabilities)
    report.int8_agreement, report.int8_interval = agreeing / len(probabilities), (low, high)
    report.int8_max_difference = float(np.abs(probabilities - reference[held_out]).max())
    if high < INT8_AGREEMENT:  # sure it loses labels, not one unlucky crop of a few dozen
        raise ExportError(
            f"int8 labels agree with the float model on only {report.int8_agreement:.1%} of "
            f"{len(probabilities)} held-out face crops (95 % interval {low:.1%}-{high:.1%}, all below "
            f"the {INT8_AGREEMENT:.0%} needed); nothing written"
        )
    return quantised


def agreement_interval(agreeing: int, checked: int) -> tuple[float, float]:
    """The 95 % Wilson interval of a share of agreeing labels (sound for shares near 1)."""
    from scipy.stats import binomtest

    interval = binomtest(agreeing, checked).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)

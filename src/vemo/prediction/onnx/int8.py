"""int8 ONNX files: weights and activations quantised, the activations' ranges calibrated on
real face crops (ONNX Runtime's static quantisation, QDQ format, weights per channel).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from vemo.prediction.onnx.file import INPUT_NAME

CALIBRATION_CROPS = 256  # at most: the ranges settle long before


def quantize_static_int8(graph: bytes, calibration: np.ndarray) -> bytes:
    """The int8 version of a float graph, calibrated on preprocessed float inputs (N, C, H, W)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Crops(CalibrationDataReader):
        def __init__(self) -> None:
            self._rows = iter(calibration[:CALIBRATION_CROPS])

        def get_next(self) -> dict | None:
            row = next(self._rows, None)
            return None if row is None else {INPUT_NAME: row[None].astype(np.float32)}

    with tempfile.TemporaryDirectory(prefix="vemo-int8-") as folder:
        source, prepared, target = (Path(folder) / name for name in ("float.onnx", "prepared.onnx", "int8.onnx"))
        source.write_bytes(graph)
        # the quantiser logs each scale it adjusts, and per-channel axes it skips on 1-D weights, on the
        # root logger itself: a filter there drops those, not what vemo's loggers pass up to its handlers
        quiet = _BelowError()
        logging.root.addFilter(quiet)
        try:
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(target),
                Crops(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
        finally:
            logging.root.removeFilter(quiet)
        return target.read_bytes()


class _BelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR

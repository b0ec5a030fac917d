"""ONNX Runtime as the CPU runtime of a PyTorch predictor: its network exported once, checked
against PyTorch, and cached by its weights' hash (`vemo predict --runtime`, "auto" by default)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

from vemo.errors import CheckpointError, ExportError
from vemo.models import model_info
from vemo.prediction.onnx.file import OnnxNetwork, inference_session
from vemo.prediction.predictor import Predictor
from vemo.weights.store import cache_dir, file_sha256

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx")


def with_onnx_runtime(predictor: Predictor, cache: Path | None = None) -> Predictor | None:
    """The same predictor with its network run by ONNX Runtime, from the cached export of its
    weights (made now, checked against PyTorch, when there is none); None when the network
    cannot be exported or differs (the reason is logged once and remembered)."""
    weights = predictor.weights_file
    if weights is None or not weights.is_file() or not predictor.architecture \
            or model_info(predictor.architecture).kind != "neural":
        return None
    try:
        target = _cached_path(predictor, weights, cache)
        if not _exported(predictor, target):
            return None
    except OSError as error:  # a cache that cannot be written: PyTorch runs it, as before
        log.info("ONNX Runtime not used for %s: cannot write the cache (%s)", predictor.description, error)
        return None
    try:
        network = OnnxNetwork(inference_session(target), str(target))
    except CheckpointError as error:  # a cached file damaged on disk: PyTorch runs it; delete it to export again
        log.warning("ONNX Runtime not used for %s: %s", predictor.description, error)
        return None
    return dataclasses.replace(predictor, model=network, runtime="onnxruntime")


def _cached_path(predictor: Predictor, weights: Path, cache: Path | None) -> Path:
    """CACHE/onnx/<key>.onnx, the key a hash of the weights' hash and what the graph depends on."""
    identity = {"weights": file_sha256(weights), "model": predictor.architecture,
                "classes": predictor.model_classes, "input": predictor.preprocess.to_json()}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
    folder = cache_dir(cache) / "onnx"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.onnx"


def _exported(predictor: Predictor, target: Path) -> bool:
    """Whether `target` holds the checked export (made now when missing); a failure is
    remembered beside it, so it is tried once per weights."""
    failed = target.with_suffix(".failed")
    if failed.exists():
        log.debug("ONNX Runtime not used for %s: %s", predictor.description, failed.read_text().strip())
        return False
    if target.exists():
        return True
    from vemo.prediction.onnx.export import export_predictor  # the exporters load only when a file is made

    try:
        export_predictor(predictor, target)
    except ExportError as error:
        failed.write_text(str(error))
        log.info("ONNX Runtime not used for %s: %s", predictor.description, error)
        return False
    log.info("exported %s to %s for ONNX Runtime", predictor.description, target)
    return True

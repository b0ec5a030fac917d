"""ONNX Runtime as the CPU runtime of a PyTorch predictor: its network exported once, checked
against PyTorch, and cached by its weights' hash (`vemo predict --runtime`, "auto" by default).

Once the export is cached, a later prediction on the CPU builds its predictor from the cached
file and what the run folder or catalogue says (`cached_onnx_predictor`) and never loads torch:
about a second and a half of each `vemo predict` process on a 2-core machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sys
from pathlib import Path

from vemo import __version__
from vemo.errors import CheckpointError, ConfigError, ExportError
from vemo.models import model_info
from vemo.models.inputs import Preprocess
from vemo.prediction.onnx.file import PREFIX, OnnxNetwork, inference_session
from vemo.prediction.predictor import ModelSource, Predictor, model_source
from vemo.prediction.reference import parse_model
from vemo.weights.store import cache_dir, fetch, file_sha256

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx")
# where a CUDA driver would show itself (Linux, WSL): without one torch.cuda.is_available() is False
GPU_DRIVER_PATHS = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg")


def with_onnx_runtime(predictor: Predictor, cache: Path | None = None) -> Predictor | None:
    """The same predictor with its network run by ONNX Runtime, from the cached export of its
    weights (made now, checked against PyTorch, when there is none); None when the network
    cannot be exported or differs (the reason is logged once and remembered)."""
    weights = predictor.weights_file
    if weights is None or not weights.is_file() or not predictor.architecture or model_info(predictor.architecture).kind != "neural":
        return None
    try:
        target = _cached_path(predictor.architecture, predictor.model_classes, weights, cache)
        if not _exported(predictor, target):
            return None
    except OSError as error:  # a cache that cannot be written: PyTorch runs it, as before
        log.info("ONNX Runtime not used for %s: cannot write the cache (%s)", predictor.description, error)
        return None
    network = _network(target, predictor.description)
    return None if network is None else dataclasses.replace(predictor, model=network)


def cached_onnx_predictor(model: str | Path, device: str, classes: str | None, runtime: str, cache: Path | None = None) -> Predictor | None:
    """What `place_for_work` would give for a run folder or pretrained:NAME on the CPU with ONNX
    Runtime, built from an export already cached, without loading torch; None when that is not
    certain (torch asked for, a GPU driver present under "auto", no export cached yet).

    Raises:
        CheckpointError, ConfigError, WeightsError: as `load_predictor` (an unusable model).
    """
    check_runtime(runtime)
    if (
        runtime == "torch"
        or device not in ("auto", "cpu")
        or parse_model(model).kind == "onnx"
        or (device == "auto" and gpu_driver_present())
    ):
        return None
    source = model_source(model, classes, cache)
    if source.pretrained:
        fetch(source.pretrained, cache)  # verifies the cached weights, as loading them does
    if not source.weights_file.is_file():
        return None
    target = _cached_path(source.architecture, source.model_classes, source.weights_file, cache)
    if not target.is_file() or target.with_suffix(".failed").exists():
        return None
    network = _network(target, source.description)
    if network is None:
        return None
    reason = "auto: no CUDA device" if device == "auto" else "asked for (--device cpu)"
    return source.predictor(network, _input_of(source, network), "cpu", reason)


def check_runtime(runtime: str) -> None:
    """Raises ConfigError: `runtime` is not one of RUNTIMES."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}", "runtime")


def gpu_driver_present() -> bool:
    """Whether torch might find a CUDA device here (only torch itself can say for sure)."""
    return sys.platform == "win32" or any(Path(path).exists() for path in GPU_DRIVER_PATHS)


def _input_of(source: ModelSource, network: OnnxNetwork) -> Preprocess:
    """A run's input recipe is its config's; pretrained weights take their architecture's, which
    the export recorded (the cache key holds vemo's version, so it is this version's)."""
    if source.input is not None:
        return source.input
    recorded = network.session.get_modelmeta().custom_metadata_map[PREFIX + "input"]
    return Preprocess.from_json(json.loads(recorded))


def _network(target: Path, description: str) -> OnnxNetwork | None:
    try:
        return OnnxNetwork(inference_session(target), str(target))
    except CheckpointError as error:  # a cached file damaged on disk: PyTorch runs it; delete it to export again
        log.warning("ONNX Runtime not used for %s: %s", description, error)
        return None


def _cached_path(architecture: str, model_classes: tuple[str, ...], weights: Path, cache: Path | None) -> Path:
    """CACHE/onnx/<key>.onnx, the key a hash of the weights' hash, what the graph depends on and
    vemo's version (whose code decides a pretrained architecture's input recipe)."""
    identity = {"weights": file_sha256(weights), "model": architecture, "classes": list(model_classes), "vemo": __version__}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
    return cache_dir(cache) / "onnx" / f"{key}.onnx"


def _exported(predictor: Predictor, target: Path) -> bool:
    """Whether `target` holds the checked export (made now when missing); a failure is
    remembered beside it, so it is tried once per weights."""
    failed = target.with_suffix(".failed")
    if failed.exists():
        log.debug("ONNX Runtime not used for %s: %s", predictor.description, failed.read_text().strip())
        return False
    if target.exists():
        return True
    target.parent.mkdir(parents=True, exist_ok=True)  # an OSError here (a read-only cache) leaves PyTorch running
    from vemo.prediction.onnx.export import export_predictor  # the exporters load only when a file is made

    try:
        export_predictor(predictor, target)
    except ExportError as error:
        failed.write_text(str(error))
        log.info("ONNX Runtime not used for %s: %s", predictor.description, error)
        return False
    log.info("exported %s to %s for ONNX Runtime", predictor.description, target)
    return True

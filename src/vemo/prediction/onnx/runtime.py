"""ONNX Runtime as the CPU runtime of a PyTorch predictor: its network exported once, checked
against PyTorch, and cached by its weights' hash (`vemo predict --runtime`, "auto" by default).

Once the export is cached, a later prediction on the CPU builds its predictor from the cached
file and what the run folder or catalogue says (`cached_network`, used by the loader) and never
loads torch: about a second and a half of each `vemo predict` process on a 2-core machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path

from vemo import __version__
from vemo.errors import CheckpointError, ConfigError, ExportError
from vemo.models import model_info
from vemo.models.inputs import Preprocess
from vemo.prediction.onnx.file import PREFIX, OnnxNetwork
from vemo.prediction.predictor import Predictor
from vemo.weights.store import cache_dir, file_sha256

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx")
# where a CUDA driver would show itself (Linux, WSL): without one torch.cuda.is_available() is False
GPU_DRIVER_PATHS = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg")


def exported_network(predictor: Predictor, cache: Path | None = None) -> OnnxNetwork | None:
    """The network of a PyTorch predictor as ONNX Runtime runs it, from the cached export of its
    weights (made now, checked against PyTorch, when there is none); None when the network
    cannot be exported or differs (the reason is logged once and remembered)."""
    weights = predictor.weights_file
    if weights is None or not weights.is_file() or not predictor.architecture or model_info(predictor.architecture).kind != "neural":
        return None
    try:
        target = _cached_path(predictor.architecture, predictor.model_classes, weights, cache)
        if not _exported(predictor, target):
            return None
    except OSError as error:  # a cache that cannot be written: PyTorch runs the network
        log.info("ONNX Runtime not used for %s: cannot write the cache (%s)", predictor.description, error)
        return None
    return _network(target, predictor.description)


def cached_network(
    architecture: str, model_classes: tuple[str, ...], weights: Path, description: str, cache: Path | None = None
) -> OnnxNetwork | None:
    """The export of `weights` already in the cache, opened without loading torch; None when
    there is none yet (or its export failed before)."""
    if not weights.is_file():
        return None
    target = _cached_path(architecture, model_classes, weights, cache)
    if not target.is_file() or target.with_suffix(".failed").exists():
        return None
    return _network(target, description)


def recorded_input(network: OnnxNetwork) -> Preprocess:
    """The input spec an export recorded (for pretrained weights, whose architecture decides
    it: the cache key holds vemo's version, so it is this version's)."""
    recorded = network.session.get_modelmeta().custom_metadata_map[PREFIX + "input"]
    return Preprocess.from_json(json.loads(recorded))


def check_runtime(runtime: str) -> None:
    """Raises ConfigError: `runtime` is not one of RUNTIMES."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}", "runtime")


def gpu_driver_present() -> bool:
    """Whether torch might find a CUDA device here (only torch itself can say for sure)."""
    return sys.platform == "win32" or any(Path(path).exists() for path in GPU_DRIVER_PATHS)


def _network(target: Path, description: str) -> OnnxNetwork | None:
    try:
        return OnnxNetwork(target)
    except CheckpointError as error:  # a cached file damaged on disk: PyTorch runs it; delete it to export again
        log.warning("ONNX Runtime not used for %s: %s", description, error)
        return None


def _cached_path(architecture: str, model_classes: tuple[str, ...], weights: Path, cache: Path | None) -> Path:
    """CACHE/onnx/<key>.onnx, the key a hash of the weights' hash, what the graph depends on and
    vemo's version (whose code decides a pretrained architecture's input spec)."""
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

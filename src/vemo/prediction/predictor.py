"""A loaded model as prediction uses it: the network on its device, the classes to report and
the crop recipe of its faces (the loader, `vemo.prediction.loader`, makes it).

Reported probabilities are the model's softmax restricted to the chosen classes and
renormalised to sum to one: FER2013's seven classes become the paper's four this way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vemo.classes import PAPER_CLASSES, check_class_choice
from vemo.engine.batching import BatchQueue, done, split_by
from vemo.errors import ConfigError
from vemo.faces.recipe import CropRecipe
from vemo.models.inputs import Preprocess, batched_logits
from vemo.prediction.onnx.file import OnnxNetwork

if TYPE_CHECKING:  # a predictor run by ONNX Runtime never loads torch (a second of start-up)
    from torch import nn


GPU_QUEUE_CROPS = 1024  # crops one GPU call may take from the queue (all threads' runs together)
GPU_CHUNK = 512  # crops per forward pass within such a call: bounded memory for AlexNet-sized inputs
# Crops per ONNX Runtime call on the CPU: a small batch's activations stay in the core's cache. The
# FER2013 network (64x64) cost 0.30 ms a crop in calls of 4 and 0.42 ms in calls of 40, its calls
# timed inside a prediction of the looped single_face.mp4; LeNet's file runs as fast at 4 as at 64.
ONNX_CPU_CHUNK = 4


class _GpuBatches:
    """The one consumer thread that runs every thread's crops for a GPU predictor in large
    batches (`vemo.engine.batching`), made on the first crops submitted."""

    def __init__(self) -> None:
        self.queue: BatchQueue | None = None
        self.lock = threading.Lock()

    def __reduce__(self) -> tuple:
        """A predictor pickled into another process (prediction's CPU workers) starts without a queue."""
        return (_GpuBatches, ())

    def submit(self, run: Callable[[Hashable, Sequence[np.ndarray]], list[np.ndarray]], crops: np.ndarray) -> Future:
        with self.lock:
            if self.queue is None:
                self.queue = BatchQueue(run, GPU_QUEUE_CROPS, weight=len, name="vemo-gpu")
        return self.queue.submit(None, crops)


@dataclass(frozen=True, kw_only=True)
class Predictor:
    """A model ready for inference on uint8 crops, placed on its device: which of its classes to
    report, the crop recipe its faces are cut with, and where it came from. Made by
    `vemo.prediction.loader.load_predictor`, the one way to load a model for prediction."""

    network: nn.Module | OnnxNetwork  # a torch network already folded, channels-last and on `device`
    preprocess: Preprocess
    model_classes: tuple[str, ...]
    classes: tuple[str, ...]
    description: str
    corpus: dict
    crop_recipe: CropRecipe
    device: str = "cpu"  # "cpu", "cuda", "cuda:1"
    device_reason: str = "asked for"
    architecture: str = ""  # the registry's name of the network
    weights_file: Path | None = None  # what the network was loaded from (its sha256 goes into exports)
    _batches: _GpuBatches = field(default_factory=_GpuBatches, init=False, repr=False, compare=False)

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def runtime(self) -> str:
        """What runs the network: "torch", or "onnxruntime" (`network` is an `OnnxNetwork`)."""
        return "onnxruntime" if isinstance(self.network, OnnxNetwork) else "torch"

    def probabilities(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, C, H, W) uint8 crops -> (N, len(classes)) probabilities over the reported classes."""
        if self.on_gpu and len(crops):
            return self.submit(crops).result()
        return self._compute(crops, batch_size)

    def submit(self, crops: np.ndarray, batch_size: int = 64) -> Future:
        """The probabilities of (N, C, H, W) uint8 crops as a future: on the CPU computed at once;
        on a GPU queued for the one consumer thread that runs every thread's crops in large
        batches, so the caller goes on detecting meanwhile."""
        if not self.on_gpu or len(crops) == 0:
            return done(self._compute(crops, batch_size))
        return self._batches.submit(self._run_queued, crops)

    def _run_queued(self, _key: Hashable, runs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Every waiting run's crops in one pinned host buffer, one non-blocking copy, the
        network, and one synchronisation for the lot; each run gets its own rows back."""
        return split_by(self._compute(np.concatenate(runs), GPU_CHUNK), runs)

    def _compute(self, crops: np.ndarray, batch_size: int) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)))
        logits = self._logits(crops, batch_size).astype(np.float64)
        full = np.exp(logits - logits.max(axis=1, keepdims=True))
        kept = full[:, [self.model_classes.index(c) for c in self.classes]]
        return kept / np.clip(kept.sum(axis=1, keepdims=True), 1e-300, None)

    def _logits(self, crops: np.ndarray, batch_size: int) -> np.ndarray:
        """(N, model classes) float32 logits of uint8 crops, by whichever runtime runs the network."""
        if isinstance(self.network, OnnxNetwork):
            step = min(batch_size, ONNX_CPU_CHUNK)
            return np.concatenate(
                [self.network.logits(self.preprocess.array(crops[start : start + step])) for start in range(0, len(crops), step)]
            )
        import torch

        with torch.inference_mode():
            images = torch.from_numpy(np.ascontiguousarray(crops))
            if self.on_gpu:
                images = images.pin_memory()
            return batched_logits(self.network, images, self.preprocess, self.device, batch_size, channels_last=True).numpy()


def choose_classes(model_classes: tuple[str, ...], wanted: str | None, pretrained: bool) -> tuple[str, ...]:
    """`wanted`: None (the paper's four for pretrained emotion models that have them, else all),
    "all", "paper", or a comma-separated list.

    Raises:
        ConfigError: a class the model does not predict, or fewer than two.
    """
    check_class_choice(wanted)
    if wanted is None:
        wanted = "paper" if pretrained and set(PAPER_CLASSES) <= set(model_classes) else "all"
    if wanted == "all":
        return tuple(model_classes)
    chosen = PAPER_CLASSES if wanted == "paper" else tuple(c.strip() for c in wanted.split(",") if c.strip())
    missing = [c for c in chosen if c not in model_classes]
    if missing or len(set(chosen)) < 2:
        raise ConfigError(
            f"classes {wanted!r}: the model predicts {', '.join(model_classes)}; choose two or more of them, 'paper' or 'all'", "classes"
        )
    return chosen

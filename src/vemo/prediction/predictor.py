"""What `vemo predict --model` names: a trained run folder or `pretrained:NAME` weights, with
the input recipe the model expects, the crop recipe it was trained on, and the classes the
user wants reported.

Reported probabilities are the model's softmax restricted to the chosen classes and
renormalised to sum to one: FER2013's seven classes become the paper's four this way.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vemo.classes import PAPER_CLASSES
from vemo.engine.batching import BatchQueue, done, split_by
from vemo.errors import ConfigError
from vemo.faces.recipe import DEFAULT_RECIPE, CropRecipe
from vemo.io.runs import RunFolder
from vemo.io.workspace import read_crop_recipe
from vemo.models import model_info
from vemo.models.fusion import fold_batch_norms
from vemo.models.inputs import Preprocess, batched_logits, preprocess_for
from vemo.models.trained import load_run
from vemo.prediction.onnx.file import OnnxNetwork, inference_session, read_metadata
from vemo.weights import get_entry, load_pretrained
from vemo.weights.store import cache_dir

PRETRAINED_PREFIX = "pretrained:"
GPU_QUEUE_CROPS = 1024  # crops one GPU call may take from the queue (all threads' runs together)
GPU_CHUNK = 512  # crops per forward pass within such a call: bounded memory for AlexNet-sized inputs


@dataclass
class Predictor:
    """A model ready for inference on uint8 crops, which of its classes to report, and the
    crop recipe of the faces it learned from."""

    model: nn.Module
    preprocess: Preprocess
    model_classes: tuple[str, ...]
    classes: tuple[str, ...]
    description: str
    corpus: dict
    device: torch.device
    recipe: CropRecipe = DEFAULT_RECIPE

    device_reason: str = "asked for"
    architecture: str = ""  # the registry's name of the network
    weights_file: Path | None = None  # what the network was loaded from (its sha256 goes into exports)
    runtime: str = "torch"  # or "onnxruntime": `model` is then a `vemo.deploy.OnnxNetwork`
    _queue: BatchQueue | None = field(default=None, init=False, repr=False, compare=False)
    _queue_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # channels-last runs the convolutions of these networks 1.5-2x faster on CPU (oneDNN), and
        # a prediction never trains: batch norms fold into their convolutions
        if self.runtime == "torch":
            self.model = fold_batch_norms(self.model).to(memory_format=torch.channels_last).eval()

    def move_to(self, device: torch.device, reason: str) -> None:
        """Run the network on `device` from now on (before any crop was submitted).

        Raises:
            ConfigError: a GPU asked for an ONNX file (ONNX Runtime runs on the CPU here).
        """
        if self.runtime != "torch" and device.type != "cpu":
            raise ConfigError(f"{self.description}: ONNX files run on the CPU (ONNX Runtime's CPU provider); "
                              "predict with the run folder or pretrained:NAME for a GPU", "device")
        self.model = self.model.to(device)
        self.device, self.device_reason = device, reason

    def probabilities(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, C, H, W) uint8 crops -> (N, len(classes)) probabilities over the reported classes."""
        if self.device.type == "cuda" and len(crops):
            return self.submit(crops).result()
        return self._compute(crops, batch_size)

    def submit(self, crops: np.ndarray, batch_size: int = 64) -> Future:
        """The probabilities of (N, C, H, W) uint8 crops as a future: on the CPU computed at once;
        on a GPU queued for the one consumer thread that runs every thread's crops in large
        batches (`vemo.engine.batching`), so the caller goes on detecting meanwhile."""
        if self.device.type != "cuda" or len(crops) == 0:
            return done(self._compute(crops, batch_size))
        with self._queue_lock:
            if self._queue is None:
                self._queue = BatchQueue(self._run_queued, GPU_QUEUE_CROPS, weight=len, name="vemo-gpu")
        return self._queue.submit(None, crops)

    def _run_queued(self, _key: Hashable, runs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Every waiting run's crops in one pinned host buffer, one non-blocking copy, the
        network, and one synchronisation for the lot; each run gets its own rows back."""
        return split_by(self._compute(np.concatenate(runs), GPU_CHUNK), runs)

    @torch.inference_mode()
    def _compute(self, crops: np.ndarray, batch_size: int) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)))
        images = torch.from_numpy(np.ascontiguousarray(crops))
        if self.device.type == "cuda":
            images = images.pin_memory()
        logits = batched_logits(self.model, images, self.preprocess, self.device, batch_size, channels_last=True)
        full = torch.softmax(logits, 1).numpy().astype(np.float64)
        kept = full[:, [self.model_classes.index(c) for c in self.classes]]
        return kept / np.clip(kept.sum(axis=1, keepdims=True), 1e-12, None)


def choose_classes(model_classes: tuple[str, ...], wanted: str | None, pretrained: bool) -> tuple[str, ...]:
    """`wanted`: None (the paper's four for pretrained emotion models that have them, else all),
    "all", "paper", or a comma-separated list.

    Raises:
        ConfigError: a class the model does not predict, or fewer than two.
    """
    if wanted is None:
        wanted = "paper" if pretrained and set(PAPER_CLASSES) <= set(model_classes) else "all"
    if wanted == "all":
        return tuple(model_classes)
    chosen = PAPER_CLASSES if wanted == "paper" else tuple(c.strip() for c in wanted.split(",") if c.strip())
    missing = [c for c in chosen if c not in model_classes]
    if missing or len(set(chosen)) < 2:
        raise ConfigError(f"classes {wanted!r}: the model predicts {', '.join(model_classes)}; "
                          "choose two or more of them, 'paper' or 'all'", "classes")
    return chosen


def run_crop_recipe(config: dict) -> CropRecipe:
    """The crop recipe a run was trained on: its config.json's; for runs from before it was
    recorded, its workspace's extract.json; else the default."""
    if "crop_recipe" in config:
        return CropRecipe.from_json(config["crop_recipe"])
    workspace = Path(config.get("workspace", ""))
    recorded = read_crop_recipe(workspace) if config.get("workspace") and workspace.is_dir() else None
    return CropRecipe.from_json(recorded) if recorded else DEFAULT_RECIPE


def load_predictor(model: str | Path, device: torch.device, classes: str | None = None,
                   cache: Path | None = None) -> Predictor:
    """A run folder, or "pretrained:NAME" for weights from `vemo weights list`.

    Raises:
        CheckpointError: an unusable run folder.
        ConfigError: unknown weights, weights that are not an emotion classifier, bad classes.
        WeightsError: weights that cannot be fetched or fail their checksum.
    """
    text = str(model)
    if text.endswith(".onnx"):
        return _onnx_predictor(Path(text), classes)
    if text.startswith(PRETRAINED_PREFIX):
        name = text[len(PRETRAINED_PREFIX):]
        entry = get_entry(name, cache_dir(cache))
        if entry.task != "emotion":
            raise ConfigError(f"weights {name!r} are {entry.trained_on} features, not an emotion classifier; fine-tune "
                              f"them first: vemo train WS --model {entry.model} --weights {name}")
        network, entry = load_pretrained(name, cache)
        recipe = CropRecipe.from_json(entry.crop_recipe) if entry.crop_recipe else DEFAULT_RECIPE
        return Predictor(network.to(device).eval(), preprocess_for(model_info(entry.model), "vemo"), entry.classes,
                         choose_classes(entry.classes, classes, True), text,
                         {"synthetic": False, "statement": f"pretrained on {entry.trained_on}"}, device, recipe,
                         architecture=entry.model, weights_file=cache_dir(cache) / name / "weights.safetensors")
    run = RunFolder(model)
    network, config = load_run(run, device)
    model_classes = tuple(config["classes"])
    return Predictor(network, Preprocess.from_json(config["input"]), model_classes,
                     choose_classes(model_classes, classes, False), str(model), config.get("corpus", {}), device,
                     run_crop_recipe(config), architecture=config["model"], weights_file=run.model_file)


def _onnx_predictor(path: Path, classes: str | None) -> Predictor:
    """A predictor over an exported file (`vemo export`): classes, input and crop recipes from
    its metadata, the network run by ONNX Runtime on the CPU."""
    meta = read_metadata(path)
    model_classes = tuple(meta["classes"])
    if classes is None and meta.get("reported_classes"):  # as the model it came from reports by default
        classes = ",".join(meta["reported_classes"])
    return Predictor(OnnxNetwork(inference_session(path), str(path)), Preprocess.from_json(meta["input"]), model_classes,
                     choose_classes(model_classes, classes, False), str(path), meta["corpus"], torch.device("cpu"),
                     CropRecipe.from_json(meta["crop_recipe"]), "ONNX Runtime runs ONNX files on the CPU",
                     architecture=meta["model"], weights_file=path, runtime="onnxruntime")

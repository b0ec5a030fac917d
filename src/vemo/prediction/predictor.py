"""What `vemo predict --model` names: a trained run folder or `pretrained:NAME` weights, with
the input recipe the model expects, the crop recipe it was trained on, and the classes the
user wants reported.

Reported probabilities are the model's softmax restricted to the chosen classes and
renormalised to sum to one: FER2013's seven classes become the paper's four this way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vemo.classes import PAPER_CLASSES, check_class_choice
from vemo.engine.batching import BatchQueue, done, split_by
from vemo.errors import ConfigError
from vemo.faces.recipe import DEFAULT_RECIPE, CropRecipe
from vemo.io.runs import RunFolder
from vemo.io.workspace import read_crop_recipe
from vemo.models import model_info
from vemo.models.inputs import Preprocess, batched_logits, preprocess_for
from vemo.prediction.onnx.file import OnnxNetwork, open_model_file
from vemo.prediction.reference import parse_model
from vemo.weights import get_entry
from vemo.weights.store import cache_dir

if TYPE_CHECKING:  # a predictor run by ONNX Runtime never loads torch (a second of start-up)
    import torch
    from torch import nn

log = logging.getLogger(__name__)

GPU_QUEUE_CROPS = 1024  # crops one GPU call may take from the queue (all threads' runs together)
GPU_CHUNK = 512  # crops per forward pass within such a call: bounded memory for AlexNet-sized inputs


@dataclass
class Predictor:
    """A model ready for inference on uint8 crops, which of its classes to report, and the
    crop recipe of the faces it learned from."""

    model: nn.Module | OnnxNetwork
    preprocess: Preprocess
    model_classes: tuple[str, ...]
    classes: tuple[str, ...]
    description: str
    corpus: dict
    device: str  # "cpu", "cuda", "cuda:1" (a torch.device is taken and named)
    recipe: CropRecipe = DEFAULT_RECIPE

    device_reason: str = "asked for"
    architecture: str = ""  # the registry's name of the network
    weights_file: Path | None = None  # what the network was loaded from (its sha256 goes into exports)
    _queue: BatchQueue | None = field(default=None, init=False, repr=False, compare=False)
    _queue_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.device = str(self.device)
        # channels-last runs the convolutions of these networks 1.5-2x faster on CPU (oneDNN), and
        # a prediction never trains: batch norms fold into their convolutions
        if not isinstance(self.model, OnnxNetwork):
            import torch

            from vemo.models.fusion import fold_batch_norms

            self.model = fold_batch_norms(self.model).to(memory_format=torch.channels_last).eval()

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def runtime(self) -> str:
        """What runs the network: "torch", or "onnxruntime" (`model` is an `OnnxNetwork`)."""
        return "onnxruntime" if isinstance(self.model, OnnxNetwork) else "torch"

    def move_to(self, device: str | torch.device, reason: str) -> None:
        """Run the network on `device` from now on (before any crop was submitted).

        Raises:
            ConfigError: a GPU asked for an ONNX file (ONNX Runtime runs on the CPU here).
        """
        device = str(device)
        if isinstance(self.model, OnnxNetwork):
            if device != "cpu":
                raise ConfigError(
                    f"{self.description}: ONNX files run on the CPU (ONNX Runtime's CPU provider); "
                    "predict with the run folder or pretrained:NAME for a GPU",
                    "device",
                )
        else:
            self.model = self.model.to(device)
        self.device, self.device_reason = device, reason

    def probabilities(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, C, H, W) uint8 crops -> (N, len(classes)) probabilities over the reported classes."""
        if self.on_gpu and len(crops):
            return self.submit(crops).result()
        return self._compute(crops, batch_size)

    def submit(self, crops: np.ndarray, batch_size: int = 64) -> Future:
        """The probabilities of (N, C, H, W) uint8 crops as a future: on the CPU computed at once;
        on a GPU queued for the one consumer thread that runs every thread's crops in large
        batches (`vemo.engine.batching`), so the caller goes on detecting meanwhile."""
        if not self.on_gpu or len(crops) == 0:
            return done(self._compute(crops, batch_size))
        with self._queue_lock:
            if self._queue is None:
                self._queue = BatchQueue(self._run_queued, GPU_QUEUE_CROPS, weight=len, name="vemo-gpu")
        return self._queue.submit(None, crops)

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
        if isinstance(self.model, OnnxNetwork):
            return np.concatenate(
                [self.model.logits(self.preprocess.array(crops[start : start + batch_size])) for start in range(0, len(crops), batch_size)]
            )
        import torch

        with torch.inference_mode():
            images = torch.from_numpy(np.ascontiguousarray(crops))
            if self.on_gpu:
                images = images.pin_memory()
            return batched_logits(self.model, images, self.preprocess, self.device, batch_size, channels_last=True).numpy()


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


def crop_recipe_for(predictor: Predictor, align: bool | None, detector: str | None = None) -> CropRecipe:
    """The model's crop recipe, with the caller's overrides (and a warning when they change it)."""
    recipe = predictor.recipe.with_align(align).with_detector(detector)
    if recipe != predictor.recipe:
        log.warning(
            "%s is meant for %s, but the override (%s) gives it %s, unlike anything it saw in training",
            predictor.description,
            predictor.recipe.describe(),
            ", ".join(predictor.recipe.differences(recipe)),
            recipe.describe(),
        )
    return recipe


def run_crop_recipe(config: dict) -> CropRecipe:
    """The crop recipe a run was trained on: its config.json's; for runs from before it was
    recorded, its workspace's extract.json; else the default."""
    if "crop_recipe" in config:
        return CropRecipe.from_json(config["crop_recipe"])
    workspace = Path(config.get("workspace", ""))
    recorded = read_crop_recipe(workspace) if config.get("workspace") and workspace.is_dir() else None
    return CropRecipe.from_json(recorded) if recorded else DEFAULT_RECIPE


@dataclass(frozen=True)
class ModelSource:
    """What a run folder or pretrained weights say of their model before its network is loaded
    (nothing here needs torch): a `Predictor`'s fields but the network, its input recipe when the
    source records it (a run's config; pretrained weights take their architecture's), and device."""

    model_classes: tuple[str, ...]
    classes: tuple[str, ...]
    description: str
    corpus: dict
    recipe: CropRecipe
    architecture: str
    weights_file: Path
    input: Preprocess | None
    pretrained: str = ""  # the weights' name, for pretrained:NAME

    def predictor(
        self, network: nn.Module | OnnxNetwork, preprocess: Preprocess, device: str | torch.device, device_reason: str = "asked for"
    ) -> Predictor:
        return Predictor(
            network,
            preprocess,
            self.model_classes,
            self.classes,
            self.description,
            self.corpus,
            str(device),
            self.recipe,
            device_reason,
            self.architecture,
            self.weights_file,
        )


def model_source(model: str | Path, classes: str | None = None, cache: Path | None = None) -> ModelSource:
    """A run folder's or pretrained:NAME's description (not an ONNX file: see `load_predictor`).

    Raises:
        CheckpointError: a run folder without a readable config.
        ConfigError: unknown weights, weights that are not an emotion classifier, bad classes.
    """
    reference = parse_model(model)
    text = str(model)
    if reference.kind == "pretrained":
        name = reference.target
        entry = get_entry(name, cache_dir(cache))
        if entry.task != "emotion":
            raise ConfigError(
                f"weights {name!r} are {entry.trained_on} features, not an emotion classifier; fine-tune "
                f"them first: vemo train WS --model {entry.model} --weights {name}"
            )
        recipe = CropRecipe.from_json(entry.crop_recipe) if entry.crop_recipe else DEFAULT_RECIPE
        return ModelSource(
            entry.classes,
            choose_classes(entry.classes, classes, True),
            text,
            {"synthetic": False, "statement": f"pretrained on {entry.trained_on}"},
            recipe,
            entry.model,
            cache_dir(cache) / name / "weights.safetensors",
            None,
            name,
        )
    run = RunFolder(model)
    config = run.read_config()
    model_classes = tuple(config["classes"])
    return ModelSource(
        model_classes,
        choose_classes(model_classes, classes, False),
        text,
        config.get("corpus", {}),
        run_crop_recipe(config),
        config["model"],
        run.model_file,
        Preprocess.from_json(config["input"]),
    )


def load_predictor(
    model: str | Path, device: str | torch.device = "cpu", classes: str | None = None, cache: Path | None = None
) -> Predictor:
    """A run folder, "pretrained:NAME" for weights from `vemo weights list`, or an exported
    FILE.onnx; the network loaded on `device`.

    Raises:
        CheckpointError: an unusable run folder or ONNX file.
        ConfigError: unknown weights, weights that are not an emotion classifier, bad classes.
        WeightsError: weights that cannot be fetched or fail their checksum.
    """
    if parse_model(model).kind == "onnx":
        return _onnx_predictor(parse_model(model).path, classes)
    source = model_source(model, classes, cache)
    preprocess = source.input or preprocess_for(model_info(source.architecture), "vemo")
    if source.pretrained:
        from vemo.weights import load_pretrained

        network = load_pretrained(source.pretrained, cache)[0].to(device).eval()
    else:
        from vemo.models.trained import load_run

        network = load_run(RunFolder(model), device)[0]
    return source.predictor(network, preprocess, device)


def _onnx_predictor(path: Path, classes: str | None) -> Predictor:
    """A predictor over an exported file (`vemo export`): classes, input and crop recipes from
    its metadata, checked against its graph, the network run by ONNX Runtime on the CPU."""
    file = open_model_file(path)
    if classes is None and file.reported_classes:  # as the model it came from reports by default
        classes = ",".join(file.reported_classes)
    return Predictor(
        file.network,
        file.preprocess,
        file.model_classes,
        choose_classes(file.model_classes, classes, False),
        str(path),
        file.corpus,
        "cpu",
        file.crop_recipe,
        "ONNX Runtime runs ONNX files on the CPU",
        architecture=file.model,
        weights_file=path,
    )

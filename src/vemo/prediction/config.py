"""What `vemo predict` and `vemo live` are asked to do, as one frozen, checked config: how the
model is loaded and placed, how each input is scanned, what is written, and where the work runs.
Prediction folders record it (`OUT/predict.json`), as workspaces record their extraction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from vemo.checks import require_number
from vemo.classes import check_class_choice
from vemo.engine import EngineSettings
from vemo.errors import ConfigError
from vemo.faces.recipe import DETECTORS
from vemo.models.inputs import DEVICES
from vemo.prediction.onnx.runtime import check_runtime
from vemo.prediction.predictor import Predictor

LOADING = ("device", "runtime", "classes", "align", "detector")  # the fields the loader takes


@dataclass(frozen=True)
class PredictConfig:
    """How to predict. The defaults are `vemo predict`'s.

    Attributes:
        device: "auto" (the GPU only where it is measured to pay, `vemo.prediction.device`), "cpu", "cuda".
        runtime: what runs the network on the CPU: "auto" (ONNX Runtime when its export checks
            out against PyTorch), "onnx" or "torch".
        classes: the classes to report, renormalised: None (the paper's four for pretrained
            models that have them, else all), "paper", "all" or a comma list.
        align, detector: override the model's crop recipe (None: as the model was trained; a
            different choice warns, since the model then sees faces unlike its training faces).
        every: analyse every n-th frame.
        smooth: seconds of the centred moving average over the per-frame probabilities.
        all_faces: every face, in tracks (one verdict each); otherwise the largest face.
        workers: threads detecting and classifying one input's frames (None: every core).
        batch_size: crops per network call.
        annotate: also write the timeline PNGs and the annotated video or photo.
        engine: where a folder's inputs run: here (threads over one loaded model) or on Ray actors.
    """

    device: str = "auto"
    runtime: str = "auto"
    classes: str | None = None
    align: bool | None = None
    detector: str | None = None
    every: int = 1
    smooth: float = 0.5
    all_faces: bool = False
    workers: int | None = None
    batch_size: int = 64
    annotate: bool = False
    engine: EngineSettings = field(default_factory=EngineSettings)

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}", "device")
        check_runtime(self.runtime)
        check_class_choice(self.classes)
        if self.detector is not None and self.detector not in DETECTORS:
            raise ConfigError(f"detector must be one of {', '.join(DETECTORS)}, not {self.detector!r}", "detector")
        require_number(self.every, "every", 1, 1_000_000)
        require_number(self.smooth, "smooth", 0, 3600)
        require_number(self.workers, "workers", 1, 4096)
        require_number(self.batch_size, "batch_size", 1, 100_000)

    def loading(self) -> dict[str, Any]:
        """The keyword arguments of `vemo.prediction.loader.load_predictor` this config sets."""
        return {name: getattr(self, name) for name in LOADING}

    def check_loaded(self, predictor: Predictor) -> None:
        """A predictor given ready-made was placed by its loader: this config may only leave
        device, runtime and classes at their defaults (a crop override is applied to it).

        Raises:
            ConfigError: a device, runtime or classes asked for beside a loaded predictor.
        """
        default = PredictConfig()
        for name in ("device", "runtime", "classes"):
            if getattr(self, name) != getattr(default, name):
                raise ConfigError(
                    f"{name}={getattr(self, name)!r} with a loaded predictor ({predictor.description}): "
                    f"give it to load_predictor, or pass the model's name instead",
                    name,
                )

    def to_json(self) -> dict[str, Any]:
        """What a prediction folder records (OUT/predict.json): every field, the engine as its settings."""
        recorded = asdict(self)
        recorded["engine"] = asdict(self.engine)
        return recorded

    def outcome_json(self) -> dict[str, Any]:
        """What each verdict records: the fields that make its outputs (not where or how fast
        the work ran: engine, workers, batch size), so one input's verdict reads the same from
        any engine."""
        recorded = self.to_json()
        for name in ("engine", "workers", "batch_size"):
            recorded.pop(name)
        return recorded

    @classmethod
    def with_options(cls, config: PredictConfig | None, options: dict[str, Any]) -> PredictConfig:
        """`config` (default: the defaults) with keyword options of the same names replacing fields.

        Raises:
            ConfigError: an option that is no field of the config.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"unknown prediction option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})", *unknown)
        return replace(config or cls(), **options)

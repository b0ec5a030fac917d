"""The crop recipe: how a face becomes the square image a model sees.

Detector and its settings, eye alignment and crop size decide what a crop looks like. A
model learns one kind of crop, so the recipe a workspace was extracted with is recorded in
its `extract.json`, copied into every run's `config.json`, and used again by `vemo predict`
(timm's `pretrained_cfg` and torchvision's `Weights.transforms` travel with a model the same way).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from vemo.checks import require_number
from vemo.errors import ConfigError
from vemo.faces.align import CANONICAL_EYES
from vemo.faces.detect import DetectorSettings

DETECTORS = ("haar", "mtcnn", "retinaface", "centerface")
LANDMARK_DETECTORS = ("mtcnn", "retinaface", "centerface")  # five points: crops fitted to them


@dataclass(frozen=True)
class CropRecipe:
    """Detector (and its settings), eye alignment, crop side in pixels.

    The eyes of an aligned crop land at `CANONICAL_EYES` (fractions of the side); `to_json`
    records them, so a reader of a run's config sees the whole geometry.
    """

    detector: str = "haar"
    detector_settings: DetectorSettings = field(default_factory=DetectorSettings)
    align: bool = True
    crop_size: int = 227

    def __post_init__(self) -> None:
        settings = self.detector_settings
        if self.detector not in DETECTORS:
            raise ConfigError(f"detector must be one of {', '.join(DETECTORS)}, not {self.detector!r}", "detector")
        require_number(self.crop_size, "crop_size", 16, 2048)
        require_number(settings.detect_width, "detect_width", 0, 16384)
        if 0 < settings.detect_width < 32:
            raise ConfigError(f"detect_width must be 0 (full size) or at least 32, not {settings.detect_width}", "detect_width")
        require_number(settings.scale_factor, "scale_factor", 1, 4, low_open=True)
        require_number(settings.min_neighbors, "min_neighbors", 0, 1000)
        require_number(settings.min_size, "min_size", 1, 16384)
        if not all(0 < t < 1 for t in settings.thresholds) or not 0 < settings.pyramid_factor < 1:
            raise ConfigError("thresholds must lie between 0 and 1, and pyramid_factor too", "thresholds", "pyramid_factor")
        if settings.min_score is not None:
            require_number(settings.min_score, "min_score", 0, 1, low_open=True)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "eyes_at": CANONICAL_EYES.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CropRecipe:
        known = {f.name for f in fields(DetectorSettings)}
        given: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.get("detector_settings", {}).items() if k in known
        }
        settings = DetectorSettings(**given)
        return cls(data.get("detector", "haar"), settings, bool(data.get("align", True)), int(data.get("crop_size", 227)))

    def with_align(self, align: bool | None) -> CropRecipe:
        return self if align is None else replace(self, align=align)

    def with_detector(self, detector: str | None) -> CropRecipe:
        return self if detector is None else replace(self, detector=detector)

    @property
    def five_points(self) -> bool:
        """Aligned crops fitted to all five landmarks (MTCNN's); the single-shot CNNs' crops are
        fitted to their two eyes, as Haar's are: on the synthetic corpus their eyes then land as
        close to `eyes_at` as Haar's (benchmarks/detectors.py), where a five-point fit is off by
        half as much again."""
        return self.detector == "mtcnn"

    def describe(self) -> str:
        aligned = "five-landmark-aligned" if self.five_points else "eye-aligned"
        return f"{self.detector} faces, {aligned if self.align else 'box'} crops of {self.crop_size} px"

    def differences(self, other: CropRecipe) -> list[str]:
        """What changes the crops between two recipes, as 'name: this -> other' lines."""
        mine, theirs = self.to_json(), other.to_json()
        changed = [f"{k}: {mine[k]} -> {theirs[k]}" for k in ("detector", "align", "crop_size") if mine[k] != theirs[k]]
        for key in ("cascade", "scale_factor", "min_neighbors", "min_size", "thresholds", "pyramid_factor", "min_score"):
            a, b = mine["detector_settings"].get(key), theirs["detector_settings"].get(key)
            if a != b:
                changed.append(f"{key}: {a} -> {b}")
        return changed


DEFAULT_RECIPE = CropRecipe()

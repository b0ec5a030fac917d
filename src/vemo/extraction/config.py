"""What `vemo extract` is asked to do, and what it did."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vemo.checks import require_number
from vemo.faces.detect import DetectorSettings
from vemo.faces.recipe import CropRecipe


@dataclass(frozen=True)
class ExtractConfig:
    """How faces are extracted. `every` keeps every n-th frame; `target_fps` overrides it.

    `detector` with its `detector_settings`, `crop_size` and `align` make up the crop recipe
    (`crop_recipe`), which the workspace records and every model trained on it carries to prediction.
    """

    every: int = 1
    target_fps: float | None = None
    crop_size: int = 227
    align: bool = True
    all_faces: bool = False
    detector_settings: DetectorSettings = field(default_factory=DetectorSettings)
    chunk_frames: int = 120
    detector: str = "haar"  # "haar" (the paper's Viola-Jones), or a CNN with five landmarks: "centerface", "retinaface", "mtcnn"

    def __post_init__(self) -> None:
        require_number(self.every, "every", 1, 1_000_000)
        require_number(self.target_fps, "target_fps", 0, 1000, low_open=True)
        _ = self.crop_recipe  # a bad crop size or detector setting raises here, before any work

    @property
    def crop_recipe(self) -> CropRecipe:
        return CropRecipe(self.detector, self.detector_settings, self.align, self.crop_size)

    def fingerprint(self) -> str:
        """Hash of everything that changes the crops (not of speed-only settings)."""
        settings = asdict(self)
        settings.pop("chunk_frames")
        # the hashed names are the first workspaces' ("face_detector" the name, "detector" the
        # settings, and no name for Haar), so every workspace keeps its fingerprint
        name = settings.pop("detector")
        settings["detector"] = settings.pop("detector_settings")
        if name != "haar":
            settings["face_detector"] = name
        for ignored in (
            "detect_width",
            "track",
            "redetect_every",
            *DetectorSettings.ignored_by(self.detector),
        ):  # speed-only, or not its own
            settings["detector"].pop(ignored)
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def step_for(self, fps: float) -> int:
        """Frame step for a video at `fps`."""
        return max(1, int(round(fps / self.target_fps))) if self.target_fps else self.every


@dataclass(frozen=True)
class ExtractResult:
    """What one `extract` call did."""

    workspace: Path
    sources_done: int
    sources_skipped: int
    failures: list[tuple[str, str]]
    no_face: list[str]
    frames_read: int
    faces: int
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return self.frames_read / self.seconds if self.seconds else 0.0

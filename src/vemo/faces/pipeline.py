"""The one face pipeline: a run of consecutive frames -> faces (detect, track, eyes, align, crop).

`vemo extract` writes its crops, `vemo predict` classifies them, and both go through this
class with the same recipe, so a model always sees the kind of crop it was trained on.
Which faces a frame gives depends on the mode:

    largest  the largest face, searched near the last one between full detections (the default)
    all      every face of the frame, largest first; `track` is its rank in the frame
    tracks   every face, linked across frames into tracks (`track` is the track id)

One pipeline per thread or process: OpenCV cascades are not shared between threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from vemo.errors import ConfigError
from vemo.faces.align import EyeLocator, EyePair, aligned_crop
from vemo.faces.detect import FaceBox, FaceTracker, HaarFaceDetector
from vemo.faces.recipe import CropRecipe
from vemo.faces.tracks import MultiFaceTracker
from vemo.io.video import Frame

MODES = ("largest", "all", "tracks")


@dataclass(frozen=True)
class Face:
    """One face of one frame: its track (or rank), box, eyes when found, and the crop (BGR)."""

    track: int
    box: FaceBox
    eyes: EyePair | None
    crop: np.ndarray


class FacePipeline:
    """Detect, track, locate the eyes, align and crop, frame after frame."""

    def __init__(self, recipe: CropRecipe, mode: str = "largest") -> None:
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}", "mode")
        self.recipe = recipe
        self.mode = mode
        self._detector = HaarFaceDetector(recipe.detector_settings)
        self._largest = FaceTracker(self._detector)
        self._tracks = MultiFaceTracker(self._detector) if mode == "tracks" else None
        self._eyes = EyeLocator() if recipe.align else None

    def reset(self) -> None:
        """Forget the last face: the next frame gets a full detection (a new video, or a jump in time)."""
        self._largest.reset()

    def boxes(self, gray: np.ndarray) -> list[tuple[int, FaceBox]]:
        """(track or rank, box) of the faces of a grayscale frame, as the mode says."""
        if self.mode == "largest":
            return [(0, box) for box in self._largest(gray)]
        if self.mode == "all":
            return list(enumerate(self._detector.detect(gray)))
        return self._tracks(gray)

    def faces(self, image: np.ndarray) -> list[Face]:
        """The faces of one (H, W, 3) uint8 BGR frame, each with its crop."""
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        found = []
        for track, box in self.boxes(gray):
            crop, eyes = aligned_crop(image, gray, box, self._eyes, self.recipe.crop_size)
            found.append(Face(track, box, eyes, crop))
        return found

    def run(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, list[Face]]]:
        """Each frame with its faces. A run starts with a full detection, so runs of one video
        can go to different workers and give the faces one worker would."""
        self.reset()
        for frame in frames:
            yield frame, self.faces(frame.image)

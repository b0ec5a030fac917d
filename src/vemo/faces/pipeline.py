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

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from vemo.errors import ConfigError
from vemo.faces.align import EyeLocator, EyePair, aligned_crop, crop_geometry, warp_crop
from vemo.faces.detect import FaceBox, FaceDetector, FaceTracker, HaarFaceDetector
from vemo.faces.eyetrack import EyeCarrier
from vemo.faces.gray import FrameGray
from vemo.faces.landmark_flow import LandmarkCarrier
from vemo.faces.recipe import LANDMARK_DETECTORS, CropRecipe
from vemo.faces.tracks import MultiFaceTracker
from vemo.io.video import Frame

MODES = ("largest", "all", "tracks")
BATCH_FRAMES = 8  # frames that go through a batching detector's pyramid together (mode "all")


@dataclass(frozen=True)
class Face:
    """One face of one frame: its track (or rank), box, eyes when found, and the crop (BGR)."""

    track: int
    box: FaceBox
    eyes: EyePair | None
    crop: np.ndarray


class FacePipeline:
    """Detect, track, locate the eyes, align and crop, frame after frame."""

    def __init__(self, recipe: CropRecipe, mode: str = "largest", detector: FaceDetector | None = None, gray_crops: bool = False) -> None:
        """`detector`: the recipe's detector, built by the caller when it needs weights (MTCNN:
        `vemo.weights.face_pipeline` builds both); Haar is built here. `gray_crops`: crops cut
        from the grayscale frame (for grayscale models: a third of the warping, same pixels up to
        rounding) instead of the colour one."""
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}", "mode")
        if detector is None and recipe.detector != "haar":
            raise ConfigError(f"the {recipe.detector} detector needs its weights: build the pipeline with vemo.weights.face_pipeline")
        self.crop_recipe = recipe
        self.mode = mode
        self._detector = detector or HaarFaceDetector(recipe.detector_settings)
        self._largest = FaceTracker(self._detector)
        self._tracks = MultiFaceTracker(self._detector) if mode == "tracks" else None
        self._eyes = EyeLocator() if recipe.align and recipe.detector == "haar" else None
        self._carried_eyes = EyeCarrier(self._eyes) if self._eyes and mode == "largest" else None
        single_shot = recipe.detector in LANDMARK_DETECTORS and recipe.detector != "mtcnn"  # MTCNN refines its box itself
        self._carried_marks = LandmarkCarrier() if single_shot and mode == "largest" and recipe.detector_settings.track else None
        self.gray_crops = gray_crops
        self._followed_last = False

    def reset(self) -> None:
        """Forget the last face: the next frame gets a full detection (a new video, or a jump in time)."""
        self._largest.reset()
        self._followed_last = False
        if self._carried_eyes:
            self._carried_eyes.reset()
        if self._carried_marks:
            self._carried_marks.reset()

    def boxes(self, image: np.ndarray, gray: np.ndarray) -> list[tuple[int, FaceBox]]:
        """(track or rank, box) of the faces of a frame, as the mode says."""
        if self.mode == "largest":
            return [(0, box) for box in self._largest(gray, image)]
        if self.mode == "all":
            return list(enumerate(self._detector.find(image, gray)))
        assert self._tracks is not None  # made for mode "tracks"
        return self._tracks(gray, image)

    def faces(self, image: np.ndarray, boxes: list[FaceBox] | None = None) -> list[Face]:
        """The faces of one (H, W, 3) uint8 BGR frame, each with its crop (`boxes`: already found)."""
        if boxes is None and self._carried_marks is not None:
            return self._followed_face(image, self._carried_marks)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if boxes is None and self._carried_eyes is not None:
            return self._carried_face(image, gray, self._carried_eyes)
        found = []
        for track, box in self.boxes(image, gray) if boxes is None else enumerate(boxes):
            eyes = self._eyes.locate(gray, box) if self._eyes is not None and box.landmarks is None else None
            recipe = self.crop_recipe
            crop, eyes = aligned_crop(gray if self.gray_crops else image, box, eyes, recipe.crop_size, recipe.align, recipe.five_points)
            found.append(Face(track, box, eyes, crop))
        return found

    def _carried_face(self, image: np.ndarray, gray: np.ndarray, carrier: EyeCarrier) -> list[Face]:
        """The largest face with Haar's eyes: on every other tracked frame moved with its eyes by
        optical flow, on the others searched for near the last one (a detection every few frames
        and whenever the flow fails keeps the box on the face)."""
        followed = None
        eyes: EyePair | None
        if not self._followed_last and self._largest.can_follow:
            followed = carrier.follow(gray)
        self._followed_last = followed is not None
        if followed is not None:
            box, eyes = followed
            self._largest.moved_to(box)
        else:
            found = self._largest(gray, image)
            if not found:
                carrier.reset()
                return []
            box = found[0]
            eyes = carrier(gray, box, search=self._largest.full_detection)
        crop, eyes = aligned_crop(gray if self.gray_crops else image, box, eyes, self.crop_recipe.crop_size)
        return [Face(0, box, eyes, crop)]

    def _followed_face(self, image: np.ndarray, carrier: LandmarkCarrier) -> list[Face]:
        """The largest face of a single-shot CNN: between its detections (every few frames, and
        whenever following fails) carried with its five landmarks by optical flow. These CNNs
        read the colour frame, and the flow and a grayscale crop only the parts of the frame's
        grayscale around the face (`FrameGray`)."""
        gray = FrameGray(image)
        box = carrier.follow(gray) if self._largest.can_follow else None
        if box is not None:
            self._largest.moved_to(box)
        else:
            found = self._largest(None, image)
            box = found[0] if found else None
        if box is None:
            carrier.reset()
            return []
        carrier.remember(gray, box)
        recipe = self.crop_recipe
        matrix, eyes = crop_geometry(box, None, recipe.crop_size, recipe.align, recipe.five_points)
        crop = gray.crop(matrix, recipe.crop_size) if self.gray_crops else warp_crop(image, matrix, recipe.crop_size)
        return [Face(0, box, eyes, crop)]

    def run(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, list[Face]]]:
        """Each frame with its faces. A run starts with a full detection, so runs of one video
        can go to different workers and give the faces one worker would. Without tracking, a
        detector that takes batches (MTCNN) gets `BATCH_FRAMES` frames at a time."""
        self.reset()
        find_batch = getattr(self._detector, "find_batch", None)  # detectors that take batches (MTCNN)
        if self.mode == "all" and find_batch is not None:
            yield from self._run_batched(frames, find_batch)
            return
        for frame in frames:
            yield frame, self.faces(frame.image)

    def _run_batched(
        self, frames: Iterable[Frame], find_batch: Callable[[np.ndarray], list[list[FaceBox]]]
    ) -> Iterator[tuple[Frame, list[Face]]]:
        batch: list[Frame] = []
        for frame in frames:
            if batch and (len(batch) == BATCH_FRAMES or frame.image.shape != batch[0].image.shape):
                yield from self._detect_batch(batch, find_batch)
                batch = []
            batch.append(frame)
        yield from self._detect_batch(batch, find_batch)

    def _detect_batch(
        self, batch: list[Frame], find_batch: Callable[[np.ndarray], list[list[FaceBox]]]
    ) -> Iterator[tuple[Frame, list[Face]]]:
        if batch:
            found = find_batch(np.stack([frame.image for frame in batch]))
            for frame, boxes in zip(batch, found):
                yield frame, self.faces(frame.image, boxes)

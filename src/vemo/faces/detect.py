"""Face detection, made fast: Viola-Jones (OpenCV's Haar cascade, the paper's) and the tracker.

The cascade's cost grows with the pixels it scans, so it runs on a downscaled grayscale
frame, and `FaceTracker` searches only a window around the last face between full-frame
detections (a full detection every few frames and whenever the face is lost). The tracker
works with any detector that has `find(image, gray)` and `find_near(image, gray, previous)`:
Haar here, MTCNN in `vemo.faces.mtcnn_detector`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from vemo.errors import FaceDetectionError

_CASCADES = importlib.import_module("cv2.data").haarcascades  # OpenCV's folder of cascades (cv2.data, untyped)
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")  # MTCNN's five, image-left first


@dataclass(frozen=True)
class FaceBox:
    """A face in frame pixels (top-left corner, width, height), with five landmarks (eye centres,
    nose tip, mouth corners; image-left first) when the detector gives them."""

    x: int
    y: int
    w: int
    h: int
    landmarks: tuple[tuple[float, float], ...] | None = None

    @property
    def area(self) -> int:
        return self.w * self.h


@dataclass(frozen=True)
class DetectorSettings:
    """Face detector parameters. `min_size` is in frame pixels.

    `detect_width`: frames wider than this are downscaled to it before detection (0: never).
    `redetect_every`: with tracking, a full-frame detection at least every this many frames.
    `thresholds` and `pyramid_factor` are MTCNN's (its three nets' score thresholds and the
    image pyramid's scale step); `min_score` the single-shot CNNs' (RetinaFace, CenterFace; None:
    each network's own default). Each detector ignores the others' settings (`OWN`).
    """

    cascade: str = "haarcascade_frontalface_default.xml"
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_size: int = 30
    detect_width: int = 320
    track: bool = True
    redetect_every: int = 10
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    pyramid_factor: float = 0.709
    min_score: float | None = None

    HAAR_ONLY = ("cascade", "scale_factor", "min_neighbors")
    MTCNN_ONLY = ("thresholds", "pyramid_factor")
    SINGLE_SHOT_ONLY = ("min_score",)

    @classmethod
    def ignored_by(cls, detector: str) -> tuple[str, ...]:
        """The settings `detector` does not read (they change none of its crops)."""
        own = {"haar": cls.HAAR_ONLY, "mtcnn": cls.MTCNN_ONLY}.get(detector, cls.SINGLE_SHOT_ONLY)
        return tuple(name for name in (*cls.HAAR_ONLY, *cls.MTCNN_ONLY, *cls.SINGLE_SHOT_ONLY) if name not in own)


class FaceDetector(Protocol):
    """What the trackers need of a detector (Haar here, MTCNN in `vemo.faces.mtcnn_detector`)."""

    config: DetectorSettings

    def find(self, image: np.ndarray | None, gray: np.ndarray | None, min_width: int = 0) -> list[FaceBox]:
        """Every face of a frame (BGR `image` and its grayscale: each detector reads the one it
        needs), largest first; with `min_width`, only faces about that wide or wider (frame
        pixels), which costs far less."""

    def find_near(self, image: np.ndarray | None, gray: np.ndarray | None, previous: FaceBox) -> list[FaceBox]:
        """Faces close to `previous` in size and place, largest first (cheaper than `find`)."""


def colour_frame(image: np.ndarray | None, detector: str) -> np.ndarray:
    """The colour frame a CNN detector looks at; the trackers hand it over whenever they have one.

    Raises:
        FaceDetectionError: only the grayscale was given.
    """
    if image is None or image.ndim != 3:
        raise FaceDetectionError(f"{detector} needs the colour frame, not only its grayscale")
    return image


def gray_frame(gray: np.ndarray | None) -> np.ndarray:
    """The grayscale frame Haar looks at.

    Raises:
        FaceDetectionError: only the colour frame was given.
    """
    if gray is None or gray.ndim != 2:
        raise FaceDetectionError("haar needs the grayscale frame")
    return gray


def load_cascade(name: str) -> cv2.CascadeClassifier:
    """A cascade shipped with OpenCV (`cv2.data.haarcascades`), or a path to one.

    Raises:
        FaceDetectionError: the file is missing or not a cascade.
    """
    path = name if os.path.isabs(name) or os.path.exists(name) else os.path.join(_CASCADES, name)
    cascade = cv2.CascadeClassifier()
    try:
        loaded = cascade.load(path)
    except cv2.error as error:
        raise FaceDetectionError(f"cannot load Haar cascade: {path} ({error.msg})") from error
    if not loaded:
        raise FaceDetectionError(f"cannot load Haar cascade: {path}")
    return cascade


class HaarFaceDetector:
    """Haar frontal-face detection on a downscaled grayscale frame, boxes in full-frame pixels."""

    def __init__(self, config: DetectorSettings = DetectorSettings()) -> None:
        self.config = config
        self._cascade = load_cascade(config.cascade)

    def _run(self, gray: np.ndarray, min_size: int, max_size: int = 0) -> np.ndarray:
        try:
            found = self._cascade.detectMultiScale(
                gray,
                scaleFactor=self.config.scale_factor,
                minNeighbors=self.config.min_neighbors,
                minSize=(min_size, min_size),
                maxSize=(max_size, max_size) if max_size else (0, 0),
            )
            return np.asarray(found, dtype=np.int32).reshape(-1, 4)
        except cv2.error as error:
            raise FaceDetectionError(f"Haar detection failed: {error.msg}") from error

    def _scale(self, gray: np.ndarray) -> float:
        width = self.config.detect_width
        return width / gray.shape[1] if width and gray.shape[1] > width else 1.0

    def detect(self, gray: np.ndarray, min_width: int = 0) -> list[FaceBox]:
        """All faces in a (H, W) uint8 grayscale frame (`min_width` or wider), largest first."""
        scale = self._scale(gray)
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
        found = self._run(small, max(8, int(round(max(self.config.min_size, min_width) * scale))))
        return _boxes(found, scale, 0, 0)

    def find(self, image: np.ndarray | None, gray: np.ndarray | None, min_width: int = 0) -> list[FaceBox]:
        """The tracker's interface: all faces of a frame (Haar needs only its grayscale)."""
        return self.detect(gray_frame(gray), min_width)

    def find_near(self, image: np.ndarray | None, gray: np.ndarray | None, previous: FaceBox) -> list[FaceBox]:
        return self.detect_near(gray_frame(gray), previous)

    def detect_near(self, gray: np.ndarray, previous: FaceBox, margin: float = 0.3, face_px: int = 48) -> list[FaceBox]:
        """Faces in a window around `previous`, of a size close to it, largest first.

        The window is scaled so that the previous face is about `face_px` wide: the cascade
        then scans few pixels at few scales, whatever the video's resolution.
        """
        height, width = gray.shape
        pad = int(previous.w * margin)
        x0, y0 = max(0, previous.x - pad), max(0, previous.y - pad)
        x1, y1 = min(width, previous.x + previous.w + pad), min(height, previous.y + previous.h + pad)
        window = gray[y0:y1, x0:x1]
        scale = min(1.0, face_px / max(previous.w, 1))
        if scale < 1:
            window = cv2.resize(window, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        min_size = max(24, int(previous.w * 0.75 * scale))
        max_size = max(min_size + 1, int(previous.w * 1.33 * scale))
        return _boxes(self._run(window, min_size, max_size), scale, x0, y0)


def _boxes(found: np.ndarray | tuple, scale: float, dx: int, dy: int) -> list[FaceBox]:
    boxes = [
        FaceBox(int(round(x / scale)) + dx, int(round(y / scale)) + dy, int(round(w / scale)), int(round(h / scale)))
        for x, y, w, h in (found if len(found) else [])
    ]
    return sorted(boxes, key=lambda b: b.area, reverse=True)


RECHECK_SHARE = 0.8  # the periodic re-detection looks for faces at least this share of the tracked one's width


class FaceTracker:
    """The largest face per frame, searching near the last face between full detections.

    Feed frames in order; call `reset()` before a new video or after a jump in time.
    """

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = detector
        self._last: FaceBox | None = None
        self._since_full = 0
        self._largest_width = 0  # of faces found by full detections in this video
        self.full_detection = False  # whether the last call searched the whole frame

    def reset(self) -> None:
        self._last = None
        self._since_full = 0
        self._largest_width = 0

    @property
    def _tracking_main_face(self) -> bool:
        # A face much smaller than the video's main face (a face in the background, picked up
        # while the main one was hidden) is never tracked: full detections until the main face is back.
        return self.detector.config.track and self._last is not None and self._last.w >= 0.8 * self._largest_width

    @property
    def can_follow(self) -> bool:
        """Whether the next frame may take the face from a cheaper follower (`moved_to`) or a search
        near the last one: a main face is tracked, and no periodic re-detection is due."""
        return self._tracking_main_face and self._since_full < self.detector.config.redetect_every

    def moved_to(self, box: FaceBox) -> None:
        """Take `box` as this frame's face, found by a follower; it counts as a tracked frame."""
        self._last = box
        self._since_full += 1
        self.full_detection = False

    def __call__(self, gray: np.ndarray | None, image: np.ndarray | None = None) -> list[FaceBox]:
        """The largest face in the frame, as a list of 0 or 1 boxes (`gray` and `image`: the
        grayscale and colour frames, each for the detectors that read it)."""
        faces: list[FaceBox] = []
        last = self._last
        if self.can_follow and last is not None:
            faces = self.detector.find_near(image, gray, last)
            self._since_full += 1
        elif self._tracking_main_face and last is not None:
            # The periodic check for a larger face: only faces that could beat the tracked one are
            # searched for: a few scales instead of all of them.
            faces = self.detector.find(image, gray, int(RECHECK_SHARE * last.w))
            self._since_full = 1
        if not faces:
            faces = self.detector.find(image, gray)
            self._since_full = 1
        self.full_detection = self._since_full == 1
        if faces and self.full_detection:
            self._largest_width = max(self._largest_width, faces[0].w)
        self._last = faces[0] if faces else None
        return faces[:1]

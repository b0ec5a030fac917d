"""MTCNN behind the tracker's interface: faces in frame pixels, largest first, with five landmarks.

Like the Haar detector it looks at a copy of the frame downscaled to `detect_width`, so both
cost about the same whatever the video's resolution. Between full detections the tracker calls
`find_near`, which skips P-Net's pyramid and lets R-Net and O-Net refine the last box on the
new frame: the usual way to run MTCNN on video.
"""

from __future__ import annotations

import cv2
import numpy as np

from vemo.faces.detect import DetectorSettings, FaceBox, colour_frame
from vemo.faces.mtcnn import MTCNN, Detections, MTCNNCascade, MTCNNSettings
from vemo.faces.mtcnn_shared import SharedCascade

MIN_PYRAMID_FACE = 12  # P-Net's window: a smaller minimum face would upscale the whole frame


class MTCNNFaceDetector:
    """Finds faces with an `MTCNN` module (weights loaded by the caller) under `config`, or
    through a cascade `shared` by every thread (on a GPU: see `vemo.faces.mtcnn_shared`)."""

    def __init__(self, nets: MTCNN | None, config: DetectorSettings = DetectorSettings(), shared: SharedCascade | None = None) -> None:
        if (nets is None) == (shared is None):
            raise ValueError("give either the nets or a shared cascade")
        self.config = config
        self._cascade = shared if shared is not None else MTCNNCascade(_given(nets))
        self._settings = MTCNNSettings()

    def _scale(self, width: int) -> float:
        limit = self.config.detect_width
        return limit / width if limit and width > limit else 1.0

    def _prepare(self, images: np.ndarray, min_width: int = 0) -> tuple[np.ndarray, float]:
        """(B, H, W, 3) BGR -> RGB at the detection scale, and that scale; sets the pyramid's knobs."""
        scale = self._scale(images.shape[2])
        if scale < 1:
            images = np.stack([cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for image in images])
        min_size = max(MIN_PYRAMID_FACE, int(round(max(self.config.min_size, min_width) * scale)))
        first, second, third = self.config.thresholds
        self._settings = MTCNNSettings(min_size, self.config.pyramid_factor, (first, second, third))
        return np.ascontiguousarray(images[..., ::-1]), scale

    def find_batch(self, images: np.ndarray, min_width: int = 0) -> list[list[FaceBox]]:
        """The faces of each of (B, H, W, 3) uint8 BGR frames of one size; one pyramid pass for all
        (`min_width` or wider: a shorter pyramid)."""
        rgb, scale = self._prepare(images, min_width)
        return [_to_boxes(found, scale) for found in self._cascade.detect_batch(rgb, self._settings)]

    def find(self, image: np.ndarray | None, gray: np.ndarray | None = None, min_width: int = 0) -> list[FaceBox]:
        return self.find_batch(colour_frame(image, "MTCNN")[None], min_width)[0]

    def find_near(self, image: np.ndarray | None, gray: np.ndarray | None, previous: FaceBox) -> list[FaceBox]:
        """The face near `previous`, refined by R-Net and O-Net on this frame (empty: lost)."""
        rgb, scale = self._prepare(colour_frame(image, "MTCNN")[None])
        corners = np.array([[previous.x, previous.y, previous.x + previous.w, previous.y + previous.h]]) * scale
        return _to_boxes(self._cascade.refine_batch(rgb, [corners], self._settings)[0], scale)


def _given(nets: MTCNN | None) -> MTCNN:
    if nets is None:
        raise ValueError("give either the nets or a shared cascade")
    return nets


def _to_boxes(found: Detections, scale: float) -> list[FaceBox]:
    boxes = []
    for (x0, y0, x1, y1), points in zip(found.boxes / scale, found.landmarks / scale):
        x, y = int(round(x0)), int(round(y0))
        landmarks = tuple((round(float(px), 2), round(float(py), 2)) for px, py in points)
        boxes.append(FaceBox(x, y, int(round(x1)) - x, int(round(y1)) - y, landmarks))
    return sorted(boxes, key=lambda b: b.area, reverse=True)

"""CNN face detectors with five landmarks, run by ONNX Runtime: RetinaFace (MobileNet-0.25) and
CenterFace, behind the tracker's interface (`vemo.faces.detect.FaceDetector`).

Both are single-shot networks over the whole frame. A full detection looks at a copy of the
frame downscaled to `detect_width`, as Haar and MTCNN do; between full detections `find_near`
runs the network on a small window around the last face, scaled so that face is about
`NEAR_FACE_PX` wide, which costs a fraction of a full pass. Their five landmarks (eye centres,
nose tip, mouth corners; image-left first, as MTCNN's) feed the same similarity alignment, so an
aligned crop lands at the recipe's `eyes_at` whichever detector found the face. The weights come
from packages on the index (`vemo weights list`), verified and converted by `vemo.weights`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vemo.errors import FaceDetectionError
from vemo.faces.detect import DetectorSettings, FaceBox, colour_frame

NEAR_FACE_PX = 64  # the last face's width in the window `find_near` scans
NEAR_MARGIN = 0.6  # the window reaches this many face widths beyond the last box on each side
MULTIPLE = 32  # both networks take sides that are multiples of their largest stride
NMS_OVERLAP = 0.4
TIGHTER_BOXES = 0.6  # a face's box width here, at the least, against Haar's


@dataclass(frozen=True)
class Detections:
    """One frame's faces in the network input's pixels: (N, 4) x1, y1, x2, y2; (N,) scores; (N, 5, 2) landmarks."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray


class OnnxFaceDetector:
    """A single-shot face detector in an ONNX Runtime session; subclasses say how the network
    wants its input and what its outputs mean."""

    name = ""
    default_min_score = 0.5

    def __init__(self, session: Any, config: DetectorSettings = DetectorSettings()) -> None:
        self.config = config
        self._session = session
        self._input = session.get_inputs()[0].name
        self.min_score = config.min_score if config.min_score is not None else self.default_min_score

    def blob(self, images: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 BGR frames, sides multiples of 32 -> the network's input."""
        raise NotImplementedError

    def decode(self, outputs: list[np.ndarray], height: int, width: int) -> list[Detections]:
        """The network's outputs for a batch of (height, width) inputs -> each frame's detections above `min_score`."""
        raise NotImplementedError

    def find_batch(self, images: np.ndarray, min_width: int = 0) -> list[list[FaceBox]]:
        """The faces of each of (B, H, W, 3) uint8 BGR frames of one size, largest first; one
        network call for the batch."""
        height, width = images.shape[1:3]
        limit = self.config.detect_width
        scale = limit / width if limit and width > limit else 1.0
        found = self._detect(images, scale)
        # `min_size` and `min_width` are in the Haar box's terms, and these networks draw tighter
        # boxes (brow to chin: 0.74 of Haar's width for the same faces of multi_face.jpg)
        smallest = max(self.config.min_size, min_width) * TIGHTER_BOXES
        return [[box for box in boxes if box.w >= smallest] for boxes in found]

    def find(self, image: np.ndarray | None, gray: np.ndarray | None = None, min_width: int = 0) -> list[FaceBox]:
        return self.find_batch(colour_frame(image, self.name)[None], min_width)[0]

    def find_near(self, image: np.ndarray | None, gray: np.ndarray | None, previous: FaceBox) -> list[FaceBox]:
        """Faces in a window around `previous` scaled so it is `NEAR_FACE_PX` wide, of a size
        close to it, largest first (empty: the face is lost)."""
        frame = colour_frame(image, self.name)
        margin = NEAR_MARGIN * max(previous.w, previous.h)
        x0, y0 = max(0, int(previous.x - margin)), max(0, int(previous.y - margin))
        x1 = min(frame.shape[1], int(previous.x + previous.w + margin))
        y1 = min(frame.shape[0], int(previous.y + previous.h + margin))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return []
        scale = min(1.0, NEAR_FACE_PX / max(previous.w, 1))
        boxes = self._detect(frame[None, y0:y1, x0:x1], scale, (x0, y0))[0]
        return [box for box in boxes if 0.6 * previous.w <= box.w <= 1.6 * previous.w]

    def _detect(self, images: np.ndarray, scale: float, offset: tuple[int, int] = (0, 0)) -> list[list[FaceBox]]:
        """Frames resized by `scale` and padded to multiples of 32 at their bottom and right
        (the padding shifts no coordinate), detected, and mapped back to frame pixels."""
        height, width = images.shape[1:3]
        small_h, small_w = max(1, round(height * scale)), max(1, round(width * scale))
        if (small_h, small_w) != (height, width):
            images = np.stack([cv2.resize(image, (small_w, small_h), interpolation=cv2.INTER_AREA) for image in images])
        padded_h, padded_w = -(-small_h // MULTIPLE) * MULTIPLE, -(-small_w // MULTIPLE) * MULTIPLE
        canvas = np.zeros((len(images), padded_h, padded_w, 3), np.uint8)
        canvas[:, :small_h, :small_w] = images
        try:
            outputs = self._session.run(None, {self._input: self.blob(canvas)})
        except Exception as error:  # onnxruntime raises its own exception types
            raise FaceDetectionError(f"{self.name} detection failed: {error}") from error
        sx, sy = width / small_w, height / small_h
        return [_to_boxes(found, sx, sy, offset, (width, height)) for found in self.decode(outputs, padded_h, padded_w)]


class RetinaFaceDetector(OnnxFaceDetector):
    """RetinaFace with a MobileNet-0.25 backbone (Deng et al. 2020): anchors at strides 8, 16 and
    32, two sizes each; boxes and landmarks are offsets from them (variances 0.1 and 0.2)."""

    name = "retinaface"
    default_min_score = 0.8
    STEPS = ((8, (16, 32)), (16, (64, 128)), (32, (256, 512)))
    MEAN_BGR = (104.0, 117.0, 123.0)
    VARIANCES = (0.1, 0.2)

    def blob(self, images: np.ndarray) -> np.ndarray:
        return cv2.dnn.blobFromImages(list(images), 1.0, images.shape[2:0:-1], self.MEAN_BGR, swapRB=False, crop=False)

    def decode(self, outputs: list[np.ndarray], height: int, width: int) -> list[Detections]:
        locations, confidences, landmarks = outputs
        anchors = _anchors(height, width, self.STEPS)
        centre, size = anchors[:, :2], anchors[:, 2:]
        found = []
        for loc, conf, marks in zip(locations, confidences, landmarks):
            keep = conf[:, 1] >= self.min_score
            middle = centre[keep] + loc[keep, :2] * self.VARIANCES[0] * size[keep]
            extent = size[keep] * np.exp(loc[keep, 2:] * self.VARIANCES[1])
            boxes = np.concatenate([middle - extent / 2, middle + extent / 2], axis=1)
            points = centre[keep, None] + marks[keep].reshape(-1, 5, 2) * self.VARIANCES[0] * size[keep, None]
            found.append(_suppressed(boxes * (width, height, width, height), conf[keep, 1], points * (width, height)))
        return found


class CenterFaceDetector(OnnxFaceDetector):
    """CenterFace (Xu et al. 2019): a heat map of face centres at stride 4, with each centre's
    log-size, sub-pixel offset and landmarks relative to its box."""

    name = "centerface"
    default_min_score = 0.5
    STRIDE = 4

    def blob(self, images: np.ndarray) -> np.ndarray:  # RGB, 0..255
        return cv2.dnn.blobFromImages(list(images), 1.0, images.shape[2:0:-1], (0.0, 0.0, 0.0), swapRB=True, crop=False)

    def decode(self, outputs: list[np.ndarray], height: int, width: int) -> list[Detections]:
        heat, scales, offsets, marks = outputs
        found = []
        for frame in range(len(heat)):
            rows, cols = np.nonzero(heat[frame, 0] >= self.min_score)
            box_h = np.exp(scales[frame, 0, rows, cols]) * self.STRIDE
            box_w = np.exp(scales[frame, 1, rows, cols]) * self.STRIDE
            centre_y = (rows + offsets[frame, 0, rows, cols] + 0.5) * self.STRIDE
            centre_x = (cols + offsets[frame, 1, rows, cols] + 0.5) * self.STRIDE
            x0, y0 = np.clip(centre_x - box_w / 2, 0, width), np.clip(centre_y - box_h / 2, 0, height)
            boxes = np.stack([x0, y0, np.minimum(x0 + box_w, width), np.minimum(y0 + box_h, height)], axis=1)
            relative = marks[frame][:, rows, cols].T.reshape(-1, 5, 2)  # (dy, dx) per point, in box units
            points = np.stack([relative[..., 1] * box_w[:, None] + x0[:, None], relative[..., 0] * box_h[:, None] + y0[:, None]], axis=2)
            found.append(_suppressed(boxes, heat[frame, 0, rows, cols], points))
        return found


@functools.lru_cache(maxsize=16)
def _anchors(height: int, width: int, steps: tuple[tuple[int, tuple[int, int]], ...]) -> np.ndarray:
    """(N, 4) anchor centres and sizes as fractions of the input, in the network's output order."""
    parts = []
    for stride, sizes in steps:
        rows, cols = -(-height // stride), -(-width // stride)
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        centres = np.stack([(xs.ravel() + 0.5) * stride / width, (ys.ravel() + 0.5) * stride / height], axis=1)
        for_each = [np.column_stack([centres, np.full(len(centres), s / width), np.full(len(centres), s / height)]) for s in sizes]
        parts.append(np.stack(for_each, axis=1).reshape(-1, 4))
    anchors = np.concatenate(parts).astype(np.float32)
    anchors.setflags(write=False)  # shared by every call of this size
    return anchors


def _suppressed(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray) -> Detections:
    """The detections left by non-maximum suppression (boxes overlapping a better one go)."""
    if not len(boxes):
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).tolist()
    kept = np.asarray(cv2.dnn.NMSBoxes(xywh, scores.astype(float).tolist(), 0.0, NMS_OVERLAP), dtype=int).reshape(-1)
    return Detections(boxes[kept], scores[kept], landmarks[kept])


def _to_boxes(found: Detections, sx: float, sy: float, offset: tuple[int, int], size: tuple[int, int]) -> list[FaceBox]:
    """Detections in input pixels -> FaceBoxes in frame pixels, largest first."""
    ox, oy = offset
    faces = []
    for (x0, y0, x1, y1), points in zip(found.boxes, found.landmarks):
        left, top = max(0.0, x0 * sx), max(0.0, y0 * sy)
        right, bottom = min(size[0], x1 * sx), min(size[1], y1 * sy)
        if right - left < 4 or bottom - top < 4:
            continue
        marks = tuple((float(x * sx + ox), float(y * sy + oy)) for x, y in points)
        faces.append(FaceBox(int(round(left)) + ox, int(round(top)) + oy, int(round(right - left)), int(round(bottom - top)), marks))
    return sorted(faces, key=lambda box: box.area, reverse=True)

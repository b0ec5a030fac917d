"""A face with five landmarks followed from frame to frame by optical flow, between detections.

A single-shot CNN's pass costs milliseconds even on a small window, while moving five points
with pyramidal Lucas-Kanade flow costs a fraction of one. So between the detector's full passes
(`FaceTracker` still asks for one every `redetect_every` frames, and whenever following fails)
the last landmarks are carried into the new frame, checked forward and backward, and the box
moves with them by the similarity transform that fits the old points to the new ones. A face
that turned, blinked behind a hand or left the frame fails the round trip and is detected again.
"""

from __future__ import annotations

import cv2
import numpy as np

from vemo.faces.detect import FaceBox
from vemo.faces.eyetrack import MAX_SCALE_STEP, follow_points
from vemo.faces.gray import FrameGray

PAD = 0.25  # the region around the box that the flow looks at, as a share of the box's width


class LandmarkCarrier:
    """Call `follow` once per frame of a track, then `remember` the face that frame got; `reset()`
    when the track starts again. The flow reads only the grayscale of a region around the face
    (`FrameGray` converts no more of the frame)."""

    def __init__(self) -> None:
        self._previous: tuple[np.ndarray, tuple[int, int, int, int], FaceBox, tuple[int, int]] | None = None

    def reset(self) -> None:
        self._previous = None

    def remember(self, gray: FrameGray, box: FaceBox) -> None:
        """Keep `box` and the grayscale of the region the next frame's flow will look at."""
        region = _flow_region(box, gray.shape)
        self._previous = (gray.part(*region), region, box, gray.shape) if box.landmarks is not None and region else None

    def follow(self, gray: FrameGray) -> FaceBox | None:
        """The previous frame's face moved into this frame, landmarks and box; None when the flow
        fails its round trip, the points no longer fit one similarity, or the face changed size
        too fast (detect it then)."""
        if self._previous is None or self._previous[3] != gray.shape:
            return None
        before, region, box, _ = self._previous
        assert box.landmarks is not None  # remembered only with landmarks
        old = np.asarray(box.landmarks, np.float64)
        new = follow_points(before, gray.part(*region), old, region[:2], box.w)
        if new is None:
            return None
        return _moved_box(box, old, new)


def _flow_region(box: FaceBox, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The box and `PAD` of its width around it, within the frame (x0, y0, x1, y1); None when too small to follow."""
    pad = int(PAD * box.w)
    x0, y0 = max(0, box.x - pad), max(0, box.y - pad)
    x1, y1 = min(shape[1], box.x + box.w + pad), min(shape[0], box.y + box.h + pad)
    return (x0, y0, x1, y1) if x1 - x0 >= 16 and y1 - y0 >= 16 else None


def _moved_box(box: FaceBox, old: np.ndarray, new: np.ndarray) -> FaceBox | None:
    """`box` carried by the similarity that takes `old` points to `new` ones (None: no such fit)."""
    matrix, _ = cv2.estimateAffinePartial2D(old.astype(np.float32), new.astype(np.float32))
    if matrix is None:
        return None
    ratio = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if abs(ratio - 1) > MAX_SCALE_STEP:
        return None
    centre = matrix @ np.array([box.x + box.w / 2, box.y + box.h / 2, 1.0])
    width, height = box.w * ratio, box.h * ratio
    marks = tuple((float(x), float(y)) for x, y in new)
    return FaceBox(int(round(centre[0] - width / 2)), int(round(centre[1] - height / 2)), int(round(width)), int(round(height)), marks)

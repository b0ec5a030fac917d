"""The eye pair carried along a face track, frame to frame, instead of searched for on every frame.

Haar's eye cascades cost about as much as the tracked face search itself and jitter by a few
pixels from frame to frame. Between two full face detections the eyes found at the first
(by the cascades) are followed with pyramidal Lucas-Kanade optical flow, checked forward and
backward; a pair that fails the check, or no longer sits where eyes sit in the new face box,
is searched for again with the cascades. On every other frame the face box itself is moved
with its eyes (`follow`) instead of searched for. Extraction and prediction both go through
`vemo.faces.pipeline.FacePipeline`, so training crops and prediction crops are made alike.
"""

from __future__ import annotations

import cv2
import numpy as np

from vemo.faces.align import EyeLocator, EyePair, plausible_pair
from vemo.faces.detect import FaceBox

FACE_PX = 96  # the region is scaled so the face is about this wide: the flow's cost is the same at any resolution
MAX_ROUND_TRIP_PX = 1.0  # forward then backward flow must come back within this (in face-scaled pixels)
MAX_SCALE_STEP = 0.1  # a followed face may grow or shrink by this share from one frame to the next
FLOW_WINDOW, FLOW_LEVELS = (15, 15), 2  # Lucas-Kanade's window and pyramid levels
FLOW_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)


class EyeCarrier:
    """Call once per frame of a track, in order; `reset()` when the track starts again."""

    def __init__(self, locator: EyeLocator) -> None:
        self.locator = locator
        self._previous: tuple[np.ndarray, EyePair, FaceBox] | None = None  # the last frame's grayscale, eyes, box

    def reset(self) -> None:
        self._previous = None

    def __call__(self, gray: np.ndarray, box: FaceBox, search: bool) -> EyePair | None:
        """The eyes of the face in `box`: searched for with the cascades when `search` (a full
        detection) or when carrying fails, else carried from the previous frame."""
        eyes = None if search or self._previous is None else self._carry(gray, box)
        if eyes is None:
            eyes = self.locator.locate(gray, box)
        self._previous = (gray, eyes, box) if eyes is not None else None
        return eyes

    def follow(self, gray: np.ndarray) -> tuple[FaceBox, EyePair] | None:
        """The face of the previous frame moved as its eyes moved into this one (box, eyes); None
        when the flow fails its checks or the face changed size too fast (search for it then)."""
        if self._previous is None:
            return None
        _, before_eyes, before_box = self._previous
        eyes = self._flow(gray, before_box)
        if eyes is None:
            return None
        old, new = np.array([before_eyes.left, before_eyes.right]), np.array([eyes.left, eyes.right])
        ratio = np.linalg.norm(new[1] - new[0]) / max(np.linalg.norm(old[1] - old[0]), 1e-6)
        if abs(ratio - 1) > MAX_SCALE_STEP:
            return None
        centre = (
            new.mean(axis=0) + (np.array([before_box.x + before_box.w / 2, before_box.y + before_box.h / 2]) - old.mean(axis=0)) * ratio
        )
        width, height = before_box.w * ratio, before_box.h * ratio
        box = FaceBox(int(round(centre[0] - width / 2)), int(round(centre[1] - height / 2)), int(round(width)), int(round(height)))
        self._previous = (gray, eyes, box)
        return box, eyes

    def _carry(self, gray: np.ndarray, box: FaceBox) -> EyePair | None:
        pair = self._flow(gray, box)
        return pair if pair is not None and plausible_pair(pair, box) else None

    def _flow(self, gray: np.ndarray, box: FaceBox) -> EyePair | None:
        """The previous eyes moved into `gray` by optical flow in the eye band of `box`, or None."""
        if self._previous is None:
            return None
        before, eyes, _ = self._previous
        if before.shape != gray.shape:
            return None
        pad = box.w // 4  # the eye band of the box, and room to move
        x0, y0 = max(0, box.x - pad), max(0, box.y + int(0.12 * box.h) - pad)
        x1, y1 = min(gray.shape[1], box.x + box.w + pad), min(gray.shape[0], box.y + int(0.6 * box.h) + pad)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        moved = follow_points(before[y0:y1, x0:x1], gray[y0:y1, x0:x1], np.array([eyes.left, eyes.right]), (x0, y0), box.w)
        if moved is None:
            return None
        left, right = moved.astype(float).tolist()
        return EyePair(tuple(left), tuple(right))


def follow_points(before: np.ndarray, after: np.ndarray, points: np.ndarray, origin: tuple[int, int], face_width: int) -> np.ndarray | None:
    """(N, 2) frame points moved from `before` into `after` by optical flow. Both are the same
    region of two grayscale frames, its top-left corner at `origin` (x, y) in frame pixels; they
    are scaled so the face is about `FACE_PX` wide (the same cost at any resolution). None when a
    point is lost or fails the forward-backward round trip."""
    scale = min(1.0, FACE_PX / max(face_width, 1))
    if scale < 1:
        before, after = (cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR) for image in (before, after))
    start = ((np.asarray(points, np.float64) - origin) * scale).astype(np.float32).reshape(-1, 1, 2)
    moved, found, _ = lucas_kanade(before, after, start)
    back, returned, _ = lucas_kanade(after, before, moved)
    round_trip = np.linalg.norm((back - start).reshape(-1, 2), axis=1)
    if not (found.all() and returned.all() and (round_trip <= MAX_ROUND_TRIP_PX).all()):
        return None
    return moved.reshape(-1, 2).astype(np.float64) / scale + origin


def lucas_kanade(before: np.ndarray, after: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`points` of `before` moved into `after` by pyramidal Lucas-Kanade: (moved, found, error).
    The second array only receives the result (no initial-flow flag)."""
    moved, found, error = cv2.calcOpticalFlowPyrLK(
        before, after, points, points.copy(), winSize=FLOW_WINDOW, maxLevel=FLOW_LEVELS, criteria=FLOW_CRITERIA
    )
    return moved, found, error

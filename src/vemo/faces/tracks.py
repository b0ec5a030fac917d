"""Every face of a video, linked across frames into tracks (`vemo predict --all-faces`).

Each analysed frame gets a full detection (Haar or MTCNN); detections are matched to the live tracks by
box overlap (IoU) with the Hungarian assignment of SciPy, so two people crossing keep their
identities as long as their boxes overlap their own previous box more than each other's. A
track survives `max_missed` frames without a match (a blink of the detector), then ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vemo.faces.detect import FaceBox, FaceDetector


def iou(a: FaceBox, b: FaceBox) -> float:
    """Intersection over union of two boxes (0 when apart)."""
    width = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    height = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / float(a.area + b.area - inter)


@dataclass
class _Track:
    id: int
    last: FaceBox
    missed: int = 0
    frames: list[int] = field(default_factory=list)


class MultiFaceTracker:
    """Call once per analysed frame, in order; returns (track id, box) for each face found.

    Track ids start at 0 and are never reused within a video.
    """

    def __init__(self, detector: FaceDetector, min_iou: float = 0.3, max_missed: int = 5) -> None:
        self.detector = detector
        self.min_iou = min_iou
        self.max_missed = max_missed
        self._live: list[_Track] = []
        self._next_id = 0

    def __call__(self, gray: np.ndarray, image: np.ndarray | None = None) -> list[tuple[int, FaceBox]]:
        """(track id, box) of each face of the frame (`image`: the colour frame, for detectors that need it)."""
        boxes = self.detector.find(image, gray)
        matched: dict[int, FaceBox] = {}
        unmatched_boxes = set(range(len(boxes)))
        if self._live and boxes:
            from scipy.optimize import linear_sum_assignment  # only --all-faces needs SciPy: keep it off the start-up path

            cost = np.array([[1.0 - iou(track.last, box) for box in boxes] for track in self._live])
            for t, b in zip(*linear_sum_assignment(cost)):
                if 1.0 - cost[t, b] >= self.min_iou:
                    matched[t] = boxes[b]
                    unmatched_boxes.discard(b)
        found: list[tuple[int, FaceBox]] = []
        survivors = []
        for index, track in enumerate(self._live):
            if index in matched:
                track.last, track.missed = matched[index], 0
                found.append((track.id, track.last))
            else:
                track.missed += 1
            if track.missed <= self.max_missed:
                survivors.append(track)
        for b in sorted(unmatched_boxes):
            track = _Track(self._next_id, boxes[b])
            self._next_id += 1
            survivors.append(track)
            found.append((track.id, track.last))
        self._live = survivors
        return sorted(found)

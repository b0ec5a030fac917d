"""Linking faces across frames into tracks (`--all-faces`)."""

from __future__ import annotations

import numpy as np

from vemo.faces.detect import FaceBox
from vemo.faces.tracks import MultiFaceTracker, iou


class ScriptedDetector:
    """Returns the given boxes frame by frame, in a shuffled order (as a detector might)."""

    def __init__(self, frames: list[list[FaceBox]]) -> None:
        self.frames = iter(frames)

    def find(self, image: np.ndarray, gray: np.ndarray) -> list[FaceBox]:
        boxes = next(self.frames)
        return boxes[::-1]


def test_iou():
    assert iou(FaceBox(0, 0, 10, 10), FaceBox(0, 0, 10, 10)) == 1.0
    assert iou(FaceBox(0, 0, 10, 10), FaceBox(20, 0, 10, 10)) == 0.0
    assert iou(FaceBox(0, 0, 10, 10), FaceBox(5, 0, 10, 10)) == 50 / 150


def test_two_moving_faces_keep_their_ids_through_a_missed_frame():
    left = [FaceBox(10 + 3 * t, 50, 60, 60) for t in range(8)]
    right = [FaceBox(200 - 3 * t, 40, 80, 80) for t in range(8)]
    frames = [[left[t], right[t]] for t in range(8)]
    frames[4] = [right[4]]  # the detector misses the left face once
    tracker = MultiFaceTracker(ScriptedDetector(frames), max_missed=2)
    ids = [dict((box, track) for track, box in tracker(np.zeros((1, 1), np.uint8))) for _ in range(8)]
    left_ids = {ids[t][left[t]] for t in range(8) if t != 4}
    right_ids = {ids[t][right[t]] for t in range(8)}
    assert len(left_ids) == 1 and len(right_ids) == 1 and left_ids != right_ids


def test_a_track_that_stays_lost_ends_and_a_new_face_gets_a_new_id():
    a, b = FaceBox(0, 0, 50, 50), FaceBox(300, 300, 50, 50)
    tracker = MultiFaceTracker(ScriptedDetector([[a], [], [], [], [a], [b]]), max_missed=2)
    results = [tracker(np.zeros((1, 1), np.uint8)) for _ in range(6)]
    assert results[0] == [(0, a)] and results[1:4] == [[], [], []]
    assert results[4] == [(1, a)]  # lost for 3 frames > max_missed: a new track
    assert results[5] == [(2, b)]

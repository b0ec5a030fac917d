"""One run of consecutive frames -> its `Part`: each frame's faces cut by the face pipeline and
classified, in arrays. Prediction's threads and worker processes each run it."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from vemo.faces.detect import LANDMARKS
from vemo.faces.pipeline import Face, FacePipeline
from vemo.io.video import Frame
from vemo.models.inputs import crop_to_array
from vemo.prediction.predictor import Predictor

FACE_FIELDS = ("position", "track", "x", "y", "w", "h", *(f"{p}_{a}" for p in LANDMARKS for a in "xy"))


@dataclass
class Part:
    """What a run of consecutive frames gave, in arrays, so a long video costs under 200 bytes
    a frame: (index, time) per frame, FACE_FIELDS per face (position within the part; NaN
    landmarks without MTCNN), each face's probabilities, and the wall-clock moment its first
    frame was analysed (the benchmarks' steady state starts there, `vemo -v` logs it)."""

    frames: np.ndarray  # (F, 2) float64
    faces: np.ndarray  # (N, len(FACE_FIELDS)) float64
    probabilities: np.ndarray  # (N, classes)
    started: float = 0.0  # time.time()


def face_row(position: int, face: Face) -> tuple:
    """A face's FACE_FIELDS: the position of its frame, track, box, landmarks (NaN without MTCNN)."""
    box = face.box
    points = np.ravel(box.landmarks) if box.landmarks is not None else np.full(2 * len(LANDMARKS), np.nan)
    return (position, face.track, box.x, box.y, box.w, box.h, *points)


def classify_run(pipeline: FacePipeline, frames: Iterable[Frame], predictor: Predictor, batch_size: int) -> Part:
    """The frames, faces and probabilities of a run of consecutive frames. Crops are handed to
    the predictor as they accumulate (on a GPU they queue for its one consumer while this
    thread detects on) and collected, in order, at the end of the run."""
    spec = predictor.preprocess.spec
    rows: list[tuple[int, float]] = []
    faces: list[tuple] = []
    crops: list[np.ndarray] = []
    pending: list[Future] = []
    started = 0.0
    for frame, found in pipeline.run(frames):
        started = started or time.time()
        for face in found:
            crops.append(crop_to_array(face.crop, spec))
            faces.append(face_row(len(rows), face))
        rows.append((frame.index, round(frame.time_s, 4)))
        if len(crops) >= batch_size:
            pending.append(predictor.submit(np.stack(crops), batch_size))
            crops = []
    if crops:
        pending.append(predictor.submit(np.stack(crops), batch_size))
    probabilities = [future.result() for future in pending]
    return Part(
        np.array(rows, np.float64).reshape(-1, 2),
        np.array(faces, np.float64).reshape(-1, len(FACE_FIELDS)),
        np.concatenate(probabilities) if probabilities else np.zeros((0, len(predictor.classes))),
        started,
    )

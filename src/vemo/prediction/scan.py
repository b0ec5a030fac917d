"""One decoding pass over a video or image: every analysed frame, each face, its probabilities.

The video is decoded once, in the calling thread; runs of consecutive frames go to a pool of
threads that find, crop and classify their faces through the face pipeline with the model's
crop recipe. OpenCV and torch release the GIL, so the threads use the cores.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from vemo.faces.detect import FaceBox
from vemo.faces.pipeline import FacePipeline
from vemo.faces.recipe import CropRecipe
from vemo.io.media import open_media
from vemo.io.video import Frame
from vemo.models.inputs import crop_to_array
from vemo.prediction.predictor import Predictor
from vemo.weights import face_pipeline

RUN_FRAMES = 20  # frames per unit of work for the threads: a multiple of the tracker's re-detection period (10)

Part = tuple[list[tuple[int, float]], list[tuple[int, int, FaceBox]], list[np.ndarray]]


@dataclass
class Scan:
    """What one decoding pass found: the analysed frames, each face, and its probabilities."""

    frames: list[tuple[int, float]]  # (frame index, time in s)
    faces: list[tuple[int, int, FaceBox]]  # (position in frames, track id, box)
    probabilities: np.ndarray  # (len(faces), classes)
    fps: float
    kind: str


def _report_frame(which: str) -> None:
    """With VEMO_REPORT_FRAMES set, say on stderr when the first (once per process) and the last
    frame of an input were analysed (wall clock): benchmarks/startup.py and predict.py time
    start-up and steady state with it."""
    global _FIRST_FRAME_REPORTED
    if os.environ.get("VEMO_REPORT_FRAMES") and not (which == "first" and _FIRST_FRAME_REPORTED):
        _FIRST_FRAME_REPORTED = _FIRST_FRAME_REPORTED or which == "first"
        print(f"vemo: {which} frame analysed at {time.time():.3f}", file=sys.stderr, flush=True)


_FIRST_FRAME_REPORTED = False


def classify_run(pipeline: FacePipeline, frames: Iterable[Frame], predictor: Predictor, batch_size: int) -> Part:
    """(index, time) per frame, (position, track, box) per face, and the faces' probabilities
    for a run of consecutive frames (which starts with a full detection)."""
    spec = predictor.preprocess.spec
    rows, faces, crops, probabilities = [], [], [], []
    for frame, found in pipeline.run(frames):
        if not rows:
            _report_frame("first")
        for face in found:
            crops.append(crop_to_array(face.crop, spec))
            faces.append((len(rows), face.track, face.box))
        rows.append((frame.index, round(frame.time_s, 4)))
        if len(crops) >= batch_size:
            probabilities.append(predictor.probabilities(np.stack(crops), batch_size))
            crops = []
    if crops:
        probabilities.append(predictor.probabilities(np.stack(crops), batch_size))
    return rows, faces, probabilities


_THREAD_STATE = threading.local()
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _thread_pipeline(recipe: CropRecipe, device: torch.device, gray: bool) -> FacePipeline:
    """This thread's pipeline for `recipe`, made once: the pool's threads live on, so the
    detectors are loaded once per thread, not once per video."""
    pipelines = getattr(_THREAD_STATE, "pipelines", None)
    if pipelines is None:
        pipelines = _THREAD_STATE.pipelines = {}
    key = (recipe, str(device), gray)
    if key not in pipelines:
        pipelines[key] = face_pipeline(recipe, "largest", device, gray)
    return pipelines[key]


def _pool(workers: int) -> ThreadPoolExecutor:
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vemo-predict")
    return _POOLS[workers]


def frame_runs(frames: Iterable[Frame], length: int) -> Iterator[list[Frame]]:
    """Consecutive frames in lists of `length`."""
    run: list[Frame] = []
    for frame in frames:
        run.append(frame)
        if len(run) == length:
            yield run
            run = []
    if run:
        yield run


def _threaded_parts(frames: Iterable[Frame], predictor: Predictor, recipe: CropRecipe, workers: int,
                    batch_size: int) -> list[Part]:
    # one core per thread: OpenCV's and torch's own thread pools would fight the workers
    previous = cv2.getNumThreads(), torch.get_num_threads()
    gray = predictor.preprocess.color == "gray"
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    try:
        pool = _pool(workers)
        pending: deque = deque()
        parts = []
        for run in frame_runs(frames, RUN_FRAMES):
            pending.append(pool.submit(
                lambda f: classify_run(_thread_pipeline(recipe, predictor.device, gray), f, predictor, batch_size), run))
            if len(pending) > 2 * workers:  # bounded: decoded frames never pile up in memory
                parts.append(pending.popleft().result())
        return parts + [future.result() for future in pending]
    finally:
        cv2.setNumThreads(previous[0])
        torch.set_num_threads(previous[1])


def scan(path: Path | str, predictor: Predictor, recipe: CropRecipe, every: int, all_faces: bool, workers: int,
         batch_size: int) -> Scan:
    """Decode once and classify every face. `all_faces` keeps one pipeline over the whole input,
    so tracks are never cut; the single-face runs are the same with one thread or many, so the
    thread count never changes a result."""
    media = open_media(path)
    frames = media.frames(every=every)
    gray = predictor.preprocess.color == "gray"  # grayscale crops: a third of the warping
    if all_faces or not media.is_video:
        pipeline = face_pipeline(recipe, "tracks" if all_faces else "largest", predictor.device, gray)
        parts = [classify_run(pipeline, frames, predictor, batch_size)]
    elif workers <= 1:
        pipeline = face_pipeline(recipe, "largest", predictor.device, gray)
        parts = [classify_run(pipeline, run, predictor, batch_size) for run in frame_runs(frames, RUN_FRAMES)]
    else:
        parts = _threaded_parts(frames, predictor, recipe, workers, batch_size)
    rows, faces, probabilities = [], [], []
    for part_rows, part_faces, part_probabilities in parts:
        faces += [(position + len(rows), track, box) for position, track, box in part_faces]
        rows += part_rows
        probabilities += part_probabilities
    _report_frame("last")
    stacked = np.concatenate(probabilities) if probabilities else np.zeros((0, len(predictor.classes)))
    return Scan(rows, faces, stacked, media.fps, media.kind)

"""One decoding pass over a video or image: every analysed frame, each face, its probabilities.

The video is decoded once, in the calling thread; runs of consecutive frames go to a pool of
threads that find, crop and classify their faces through the face pipeline with the model's
crop recipe (`vemo.prediction.runs`). OpenCV and torch release the GIL, so the threads use the
cores; a long video whose model and detector ONNX Runtime runs goes to worker processes instead
(`vemo.prediction.workers`), which do not share one interpreter lock.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vemo.engine import thread_pool
from vemo.faces.pipeline import FacePipeline
from vemo.faces.recipe import CropRecipe
from vemo.io.media import MediaSource, open_media
from vemo.io.video import Frame
from vemo.prediction.predictor import Predictor
from vemo.prediction.runs import FACE_FIELDS, Part, classify_run
from vemo.prediction.workers import process_parts, use_processes
from vemo.weights import face_pipeline

log = logging.getLogger(__name__)

# Frames per unit of work for the threads. Each run starts with a full detection (its cost shared by
# the run's frames), and the decoded frames of the runs in flight are held in memory, so a run holds
# about RUN_BYTES of frames: 40 frames of 640x360, 20 of 1080p. A multiple of 10 frames (Haar's re-detection
# period; a recipe with a longer one gets one detection per run), and decided by the frame size alone, so the
# thread count never changes a result.
RUN_BYTES = 32 * 2**20
RUN_FRAMES = (20, 60)


@dataclass
class Scan:
    """What one decoding pass found: the analysed frames, each face, and its probabilities."""

    frames: np.ndarray  # (F, 2): frame index, time in s
    faces: np.ndarray  # (N, len(FACE_FIELDS)): position in frames, track, box, landmarks
    probabilities: np.ndarray  # (N, classes)
    fps: float
    kind: str
    smoothed: np.ndarray | None = None  # (N, classes), when smoothed as it streamed by (live); else centred later


FrameSink = Callable[[list[Frame], Part], None]  # gets each run's frames and results, in video order


def _log_frame_moment(which: str, moment: float) -> None:
    """The wall-clock moment a run of frames had its first frame analysed, or an input its last,
    at DEBUG (`vemo -v`): the benchmarks time start-up and steady state from these lines."""
    log.debug("%s frame analysed at %.3f", which, moment)


_THREAD_STATE = threading.local()


def _thread_pipeline(recipe: CropRecipe, device: str, gray: bool) -> FacePipeline:
    """This thread's pipeline for `recipe`, made once: the pool's threads live on, so the
    detectors are loaded once per thread, not once per video."""
    pipelines = getattr(_THREAD_STATE, "pipelines", None)
    if pipelines is None:
        pipelines = _THREAD_STATE.pipelines = {}
    key = (recipe, str(device), gray)
    if key not in pipelines:
        pipelines[key] = face_pipeline(recipe, "largest", device, gray)
    return pipelines[key]


def run_length(frame_bytes: int) -> int:
    """Frames per run for frames of `frame_bytes` (see RUN_BYTES)."""
    fitting = RUN_BYTES // max(frame_bytes, 1) // 10 * 10
    return int(min(max(fitting, RUN_FRAMES[0]), RUN_FRAMES[1]))


def frame_runs(frames: Iterable[Frame]) -> Iterator[list[Frame]]:
    """Consecutive frames in lists of `run_length` frames."""
    run: list[Frame] = []
    length = 0
    for frame in frames:
        length = length or run_length(frame.image.nbytes)
        run.append(frame)
        if len(run) == length:
            yield run
            run = []
    if run:
        yield run


@contextmanager
def one_thread_per_worker(recipe: CropRecipe | None = None) -> Iterator[None]:
    """OpenCV and torch on one thread each while our own threads share the cores: their own
    thread pools would fight the workers. (Torch only when something loaded it: a network run
    by ONNX Runtime has one thread of its own, and importing torch costs a second; a `recipe`
    whose detector is a network loads it now, before the workers do.)"""
    torch = importlib.import_module("torch") if recipe and recipe.detector == "mtcnn" else sys.modules.get("torch")
    previous = cv2.getNumThreads(), torch.get_num_threads() if torch else 0
    cv2.setNumThreads(1)
    if torch:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous[0])
        if torch:
            torch.set_num_threads(previous[1])


def _threaded_parts(
    frames: Iterable[Frame], predictor: Predictor, gray: bool, workers: int, batch_size: int
) -> Iterator[tuple[list[Frame], Part]]:
    recipe = predictor.crop_recipe
    with one_thread_per_worker(recipe):
        pool = thread_pool(workers, "vemo-predict")  # lasting threads: each loads its detectors once
        pending: deque = deque()
        for run in frame_runs(frames):
            pending.append(
                (run, pool.submit(lambda f: classify_run(_thread_pipeline(recipe, predictor.device, gray), f, predictor, batch_size), run))
            )
            # bounded, so decoded frames never pile up in memory; two runs waiting per worker keep the
            # decoder going while a worker ends a run (~5 % more frames/s than one, measured side by side)
            if len(pending) > 2 * workers:
                run, future = pending.popleft()
                yield run, future.result()
        while pending:
            run, future = pending.popleft()
            yield run, future.result()


def _parts(
    media: MediaSource, predictor: Predictor, every: int, all_faces: bool, workers: int, batch_size: int, keep_frames: bool
) -> Iterator[tuple[list[Frame], Part]]:
    """Each run of frames with its results, in video order. Every face (`all_faces`) keeps one
    pipeline over the whole input, so tracks are never cut; the single-face runs each start
    with a full detection, so one thread, many, or worker processes give the same result. Runs
    from worker processes come without their frames (their slots are decoded into again), so
    only where the caller does not `keep_frames`."""
    recipe = predictor.crop_recipe
    gray = predictor.preprocess.color == "gray"  # grayscale crops: a third of the warping
    if not (all_faces or keep_frames) and use_processes(media, predictor, every, workers):
        info = media.info
        in_processes = process_parts(media, predictor, every, gray, workers, batch_size, run_length(info.width * info.height * 3))
        if in_processes is not None:  # else no room in shared memory: threads
            yield from (([], part) for part in in_processes)
            return
    frames = media.frames(every=every)
    if all_faces or workers <= 1 or not media.is_video:
        # a new pipeline for tracks (never carried over from another input); this thread's own for the
        # largest face (each run starts afresh): files predicted side by side load their detectors once
        pipeline = (
            face_pipeline(recipe, "tracks", predictor.device, gray) if all_faces else _thread_pipeline(recipe, predictor.device, gray)
        )
        for run in frame_runs(frames):
            yield run, classify_run(pipeline, run, predictor, batch_size)  # "tracks" mode never resets its tracks
    else:
        yield from _threaded_parts(frames, predictor, gray, workers, batch_size)


def scan(
    source: Path | str | MediaSource,
    predictor: Predictor,
    every: int,
    all_faces: bool,
    workers: int,
    batch_size: int,
    sink: FrameSink | None = None,
) -> Scan:
    """Decode once and classify every face; `sink` gets each run's decoded frames and results
    as they come (`vemo predict --annotate` draws the video there, without decoding it again)."""
    media = source if isinstance(source, MediaSource) else open_media(source)
    frames, faces, probabilities, count = [], [], [], 0
    for run, part in _parts(media, predictor, every, all_faces, workers, batch_size, keep_frames=sink is not None):
        if part.started:
            _log_frame_moment("first", part.started)
        if sink is not None:
            sink(run, part)
        shifted = part.faces.copy()
        shifted[:, 0] += count
        count += len(part.frames)
        frames.append(part.frames)
        faces.append(shifted)
        probabilities.append(part.probabilities)
    _log_frame_moment("last", time.time())
    return Scan(
        np.concatenate(frames) if frames else np.zeros((0, 2)),
        np.concatenate(faces) if faces else np.zeros((0, len(FACE_FIELDS))),
        np.concatenate(probabilities) if probabilities else np.zeros((0, len(predictor.classes))),
        media.fps,
        media.kind,
    )

"""Runs of a long video's frames classified in worker processes, the frames handed over in
shared memory.

Threads of one process take turns with its interpreter lock and hand it over tens of times a
frame. On this project's 2-core machines, predicting the looped single_face.mp4 with the decoding
thread and two worker threads cost 1.7-1.8 ms of CPU a frame, where one thread does the same work
in 1.38 ms. So here the video is decoded in this process straight into a ring of frame slots in
shared memory, and each worker process, started once per video (~0.25 s, mostly imports, while
the decoding fills the ring), is handed runs of slots and returns each run's `Part`: the same
frames, faces and probabilities as the threads (tested), 11-15 % more frames a second in steady
state (measured side by side as whole `vemo predict` processes, docs/extract.md).

Only where a worker runs nothing but ONNX Runtime and OpenCV (the pretrained model's default, an
exported file): a torch network would be imported and copied into every process, and a GPU is
shared through one queue of this process (`Predictor.submit`).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import shutil
import sys
import sysconfig
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import shared_memory
from pathlib import Path

import cv2
import numpy as np

from vemo.io.media import MediaSource
from vemo.io.video import Frame
from vemo.prediction.onnx.file import OnnxNetwork
from vemo.prediction.predictor import Predictor
from vemo.prediction.runs import Part, classify_run
from vemo.weights import face_pipeline

log = logging.getLogger(__name__)

# Analysed frames from which processes repay their start (~0.25 s more to the first frame than
# threads): whole `vemo predict` processes on the looped single_face.mp4, 2 cores, medians of 4
# alternating runs, processes against threads: 2,016 frames 2.52 s against 2.41 s, 4,032 frames
# 4.07 s against 4.30 s. Shorter videos go to threads.
PROCESS_MIN_FRAMES = 3000
RUNS_PER_WORKER = 2  # runs in flight per worker, besides the one being decoded


def use_processes(media: MediaSource, predictor: Predictor, every: int, workers: int) -> bool:
    """Whether a video's single-face prediction goes to worker processes (see the module's docstring)."""
    return (
        workers > 1
        and media.is_video
        and not predictor.on_gpu
        and isinstance(predictor.network, OnnxNetwork)
        and predictor.crop_recipe.detector != "mtcnn"  # MTCNN's networks are torch's
        and media.info.frame_count // every >= PROCESS_MIN_FRAMES
        and spawning_runs_no_script()
    )


def spawning_runs_no_script() -> bool:
    """Whether worker processes can start without running the caller's own script again: a
    spawned process imports the parent's main module. Harmless for `python -m vemo` (a package's
    `__main__` is skipped), the `vemo` command (its body waits for `__name__ == "__main__"`) and
    interactive sessions; a script of the user's own may lack that guard, and gets threads."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        return spec.name.endswith("__main__")
    path = getattr(main, "__file__", None)
    return path is None or Path(path).resolve().parent == Path(sysconfig.get_path("scripts")).resolve()


def process_parts(
    media: MediaSource, predictor: Predictor, every: int, gray: bool, workers: int, batch_size: int, run_frames: int
) -> Iterator[Part] | None:
    """Each run's `Part`, in video order, from worker processes; None when shared memory has no
    room for the ring (a container's /dev/shm is 64 MB by default: the caller uses threads)."""
    shape = (media.info.height, media.info.width, 3)
    slots = (RUNS_PER_WORKER * workers + 1) * run_frames
    ring = _Ring.create(slots, shape)
    if ring is None:
        log.info("%s: no room in shared memory for %d frames in flight; threads predict it", media.path, slots)
        return None
    log.debug("%s: %d worker processes, %d frame slots in shared memory", media.path, workers, len(ring.slots))
    return _parts(ring, media, predictor, every, gray, workers, batch_size, run_frames)


class _Ring:
    """Frame slots of the video's size in shared memory, as this process sees them."""

    def __init__(self, memory: shared_memory.SharedMemory, shape: tuple[int, ...]) -> None:
        self.memory = memory
        self.slots = np.ndarray(shape, np.uint8, buffer=memory.buf)  # (slots, height, width, 3)

    @staticmethod
    def create(count: int, shape: tuple[int, int, int]) -> _Ring | None:
        size = count * int(np.prod(shape))
        try:
            if sys.platform == "linux" and shutil.disk_usage("/dev/shm").free < 2 * size:
                return None
            return _Ring(shared_memory.SharedMemory(create=True, size=size), (count, *shape))
        except OSError:  # no /dev/shm at all, or the memory refused
            return None

    @staticmethod
    def attach(name: str, shape: tuple[int, ...]) -> _Ring:
        """The ring a worker process reads; the process that made it unlinks it."""
        memory = shared_memory.SharedMemory(name=name)
        return _Ring(memory, shape)

    def close(self) -> None:
        """Drops this process' view (none of its slots may be in use), then the mapping."""
        del self.slots
        try:
            self.memory.close()
        except BufferError:  # a view still held (by an exception's traceback): the mapping goes with it
            pass


# A run handed to a worker: per frame its slot in the ring, or its pixels where the frame is not of
# the ring's size (a video whose size changes midway), its index and its time.
Task = tuple[list[int | np.ndarray], list[int], list[float]]


def _parts(
    ring: _Ring, media: MediaSource, predictor: Predictor, every: int, gray: bool, workers: int, batch_size: int, run_frames: int
) -> Iterator[Part]:
    free = deque(range(len(ring.slots)))
    pending: deque[tuple[Task, Future]] = deque()
    frames = media.frames(every=every, into=lambda: ring.slots[free[0]])
    context = multiprocessing.get_context("spawn")  # never fork a process whose threads may hold locks
    setup = (predictor, gray, ring.memory.name, ring.slots.shape)
    try:
        with ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=setup) as pool:
            while task := _next_task(frames, ring, free, run_frames):
                pending.append((task, pool.submit(_classify, task, batch_size)))
                while len(free) < run_frames and pending:  # the ring is full: the oldest runs give their slots back first
                    yield _collect(pending, free)
            while pending:
                yield _collect(pending, free)
    finally:
        frames.close()  # its last frame is a view of the ring, which cannot close while one exists
        del frames
        ring.close()
        ring.memory.unlink()


def _next_task(frames: Iterator[Frame], ring: _Ring, free: deque[int], length: int) -> Task | None:
    """The next `length` frames, decoded into the free slots; None at the end of the video."""
    task: Task = ([], [], [])
    for frame in frames:
        if frame.image.shape == ring.slots.shape[1:]:
            slot = free.popleft()
            if not np.may_share_memory(frame.image, ring.slots[slot]):  # OpenCV decoded it elsewhere
                ring.slots[slot] = frame.image
            task[0].append(slot)
        else:
            task[0].append(frame.image)
        task[1].append(frame.index)
        task[2].append(frame.time_s)
        if len(task[1]) == length:
            break
    return task if task[1] else None


def _collect(pending: deque[tuple[Task, Future]], free: deque[int]) -> Part:
    task, future = pending.popleft()
    part = future.result()
    free.extend(slot for slot in task[0] if isinstance(slot, int))
    return part


_WORKER: dict = {}  # this worker process's ring, predictor and pipeline (`_start_worker`)


def _start_worker(predictor: Predictor, gray: bool, ring_name: str, shape: tuple[int, ...]) -> None:
    cv2.setNumThreads(1)  # the other workers have the other cores
    ring = _Ring.attach(ring_name, shape)
    atexit.register(ring.close)
    _WORKER.update(ring=ring, predictor=predictor, pipeline=face_pipeline(predictor.crop_recipe, "largest", predictor.device, gray))


def _classify(task: Task, batch_size: int) -> Part:
    slots = _WORKER["ring"].slots
    frames = [Frame(index, time_s, slots[where] if isinstance(where, int) else where) for where, index, time_s in zip(*task)]
    return classify_run(_WORKER["pipeline"], frames, _WORKER["predictor"], batch_size)

"""Frames of a video (or an image, as a one-frame source), decoded once, in order."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vemo.errors import VideoOpenError

# FFmpeg's decoding threads for vemo's own passes over a video. vemo's workers (prediction's
# threads, extraction's processes) keep every core busy, so a second decoding thread only adds its
# hand-over: on this project's 2-core machines single_face.mp4 (640x360) decodes at ~3,740
# frames/s on one thread against ~3,330 on OpenCV's default (one per core; benchmarks/detectors.py
# prints both), and whole `vemo predict` ran 7 % faster on it, 15 % at 1080p (measured side by side).
DECODE_THREADS = 1


FrameBuffer = Callable[[], np.ndarray]


@dataclass(frozen=True)
class Frame:
    """One decoded frame: `image` is (H, W, 3) uint8 BGR."""

    index: int
    time_s: float
    image: np.ndarray


def iter_video_frames(
    path: Path | str, fps: float, *, every: int = 1, start: int = 0, stop: int | None = None, into: FrameBuffer | None = None
) -> Generator[Frame, None, None]:
    """Yield every `every`-th frame of a video in [start, stop), counted from frame 0.

    `into`: gives the array each frame is decoded into (prediction's worker processes read frames
    from shared memory); a frame of another size than that array's comes in a new one.

    Skipped frames are grabbed but not converted, which costs far less than reading them.
    Frames before `start` are grabbed too, never seeked over: OpenCV's frame seek is not exact
    in every container (in a variable-frame-rate .mov it landed 2 to 9 frames early), and a
    frame index must always name the same picture.

    A frame's time is the container's presentation time, not `index / fps`: in that .mov the
    two differ by up to a third of a second. `fps` is the fallback where a container has none.

    Raises:
        VideoOpenError: the file cannot be opened.
    """
    capture = cv2.VideoCapture(str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, DECODE_THREADS])
    if not capture.isOpened():
        raise VideoOpenError(f"cannot open video: {path}")
    try:
        first = start + (-start) % every
        for _ in range(first):
            if not capture.grab():
                return
        index = first
        while stop is None or index < stop:
            if (index - first) % every == 0:
                ok, image = capture.read(into()) if into is not None else capture.read()
                if not ok:
                    break
                yield Frame(index, presentation_time(capture, index, fps), image)
            elif not capture.grab():
                break
            index += 1
    finally:
        capture.release()


def presentation_time(capture: cv2.VideoCapture, index: int, fps: float) -> float:
    """Seconds of the frame just read, from the container, or `index / fps` where it has none."""
    milliseconds = capture.get(cv2.CAP_PROP_POS_MSEC)
    if np.isfinite(milliseconds) and milliseconds >= 0 and (milliseconds > 0 or index == 0):
        return round(milliseconds / 1000.0, 6)
    return index / fps


def read_image_frame(path: Path | str) -> Frame:
    """An image file as frame 0 at time 0.

    Raises:
        VideoOpenError: it cannot be decoded.
    """
    try:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error:  # over OpenCV's pixel limit, or a decoder's own failure
        image = None
    if image is None:
        raise VideoOpenError(f"cannot decode image: {path}")
    return Frame(0, 0.0, image)

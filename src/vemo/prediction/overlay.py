"""The annotated video, drawn while the video is scanned: no second decoding pass.

Each run of frames comes from the scan with its faces and probabilities; a frame is drawn
once `window` later frames are known, so its boxes and labels carry the same smoothed
probabilities as the frames table (`vemo.prediction.smoothing.smoothed_at`). The bars show the
largest face of the frame (the only one, without `--all-faces`).
"""

from __future__ import annotations

from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vemo.errors import OutputError
from vemo.io.files import atomic_path
from vemo.io.video import Frame
from vemo.prediction.runs import Part
from vemo.prediction.smoothing import smoothed_at

COLOURS = ["#8c564b", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#d62728", "#17becf", "#bcbd22", "#7f7f7f"]


@dataclass
class _Analysed:
    """One analysed frame: its image until drawn, and per face (track, box, probabilities)."""

    image: np.ndarray | None
    faces: list[tuple[int, tuple[int, int, int, int], np.ndarray]]


class AnnotatedVideoWriter:
    """A scan sink (`vemo.prediction.scan.FrameSink`) writing OUT/<name>.annotated.mp4.

    Use as a context manager: the file appears complete, under its final name, only when the
    block ends without an error.
    """

    def __init__(self, path: Path, fps: float, classes: list[str], window: int, label_tracks: bool) -> None:
        self.path, self.fps, self.classes, self.window, self.label_tracks = path, fps, classes, window, label_tracks
        self._waiting: deque[_Analysed] = deque()  # received, not yet drawn
        self._drawn: deque[_Analysed] = deque(maxlen=window)  # the last drawn, for the smoothing window
        self._writer: cv2.VideoWriter | None = None
        self._stack = ExitStack()
        self._written = 0

    def __enter__(self) -> AnnotatedVideoWriter:
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        self._stack.callback(self._release)  # runs first: the file is complete and checked before it is renamed
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:  # the scan failed: release the writer and remove the temporary file
            self._stack.__exit__(kind, value, traceback)
            return
        with self._stack:  # the last frames, then release and rename (or remove, if drawing fails)
            while self._waiting:
                self._draw_next()

    def _release(self) -> None:
        """Close the video and check it: OpenCV's writer fails silently (a full disk leaves a
        file without its index), so a video that does not open with every frame is an error
        naming the file, and never reaches its final name."""
        if self._writer is None:
            return
        self._writer.release()
        capture = cv2.VideoCapture(str(self._tmp))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        capture.release()
        if frames != self._written:
            raise OutputError(
                f"cannot write {self.path}: the video came out incomplete ({frames} of {self._written} frames readable; is the disk full?)"
            )

    def __call__(self, frames: list[Frame], part: Part) -> None:
        for position, frame in enumerate(frames):
            rows = np.flatnonzero(part.faces[:, 0] == position)
            faces = [(int(part.faces[r, 1]), _box(part.faces[r, 2:6]), part.probabilities[r]) for r in rows]
            self._waiting.append(_Analysed(frame.image, faces))
        while len(self._waiting) > self.window:
            self._draw_next()

    def _draw_next(self) -> None:
        context = [*self._drawn, *self._waiting]
        position = len(self._drawn)
        entry = self._waiting.popleft()
        assert entry.image is not None  # dropped only once drawn
        image = entry.image.copy()
        if self._writer is None:
            self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, (image.shape[1], image.shape[0]))
        if not entry.faces:
            draw_no_face(image)
        largest = None
        for track, box, _ in entry.faces:
            probabilities = smoothed_at(self._track_series(context, track), position, self.window)
            draw_face(image, box, track, probabilities, self.classes, self.label_tracks)
            if largest is None or box[2] * box[3] > largest[0]:
                largest = (box[2] * box[3], probabilities)
        if largest is not None:
            draw_bars(image, largest[1], self.classes)
        self._writer.write(image)
        self._written += 1
        entry.image = None  # drawn: only its probabilities stay, for the next frames' windows
        self._drawn.append(entry)

    def _track_series(self, context: list[_Analysed], track: int) -> np.ndarray:
        series = np.full((len(context), len(self.classes)), np.nan)
        for i, entry in enumerate(context):
            for face_track, _, probabilities in entry.faces:
                if face_track == track:
                    series[i] = probabilities
        return series


def _scale(image: np.ndarray) -> float:
    return max(0.4, image.shape[1] / 900)


def _bgr(index: int) -> tuple[int, int, int]:
    colour = COLOURS[index % len(COLOURS)]
    return int(colour[5:7], 16), int(colour[3:5], 16), int(colour[1:3], 16)  # hex RGB -> BGR


def _box(values: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in values)
    return x, y, w, h


def draw_no_face(image: np.ndarray) -> None:
    scale = _scale(image)
    cv2.putText(image, "no face", (10, int(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 255), 1, cv2.LINE_AA)


def draw_face(
    image: np.ndarray, box: tuple[int, int, int, int], track: int, probabilities: np.ndarray, classes: list[str], label_track: bool
) -> None:
    """The face's box and its most likely emotion, in that emotion's colour."""
    best = int(np.nanargmax(probabilities))
    colour = _bgr(best)
    x, y, w, h = box
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, 2)
    prefix = f"#{track} " if label_track else ""
    cv2.putText(
        image,
        f"{prefix}{classes[best]} {probabilities[best]:.2f}",
        (x, max(12, y - 6)),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.55 * _scale(image),
        colour,
        1,
        cv2.LINE_AA,
    )


def draw_bars(image: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> None:
    """One bar per class in the top-left corner, on a darkened panel so the labels read on any background."""
    scale, width = _scale(image), image.shape[1]
    bar_width, line = int(width * 0.22), int(16 * scale)
    panel = image[0 : 10 + len(classes) * line, 0 : 12 + bar_width + int(80 * scale)]
    panel[:] = (panel * 0.35).astype(np.uint8)
    for i, (name, p) in enumerate(zip(classes, probabilities)):
        top = 6 + i * line
        cv2.rectangle(image, (6, top), (6 + bar_width, top + line - 4), (40, 40, 40), -1)
        cv2.rectangle(image, (6, top), (6 + int(bar_width * p), top + line - 4), _bgr(i), -1)
        cv2.putText(image, name, (10 + bar_width, top + line - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * scale, (255, 255, 255), 1, cv2.LINE_AA)

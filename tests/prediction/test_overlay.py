"""The annotated video drawn during the scan: one frame out per frame in, each face boxed in the
colour of its smoothed most likely emotion, and no file at all when the scan fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vemo.io.video import Frame, iter_video_frames
from vemo.prediction.overlay import COLOURS, AnnotatedVideoWriter
from vemo.prediction.runs import FACE_FIELDS, Part
from vemo.prediction.smoothing import smooth_probabilities

CLASSES = ["disgust", "happiness", "sadness", "surprise"]
BOX = (70, 60, 40, 40)


def _runs(probabilities: np.ndarray, run: int) -> list[tuple[list[Frame], Part]]:
    """Runs of black frames with one face each, whose probabilities are given (NaN row: no face)."""
    runs = []
    for start in range(0, len(probabilities), run):
        chunk = probabilities[start : start + run]
        frames = [Frame(start + i, (start + i) / 10, np.zeros((128, 128, 3), np.uint8)) for i in range(len(chunk))]
        rows = [i for i in range(len(chunk)) if not np.isnan(chunk[i]).any()]
        faces = np.full((len(rows), len(FACE_FIELDS)), np.nan)
        for k, i in enumerate(rows):
            faces[k, :6] = (i, 0, *BOX)
        runs.append((frames, Part(np.array([[f.index, f.time_s] for f in frames]), faces, chunk[rows])))
    return runs


def _nearest_class(pixel: np.ndarray) -> int:
    colours = np.array([[int(c[k : k + 2], 16) for k in (5, 3, 1)] for c in COLOURS[: len(CLASSES)]])  # BGR
    return int(np.argmin(np.linalg.norm(colours - pixel.astype(float), axis=1)))


def test_each_frame_is_boxed_in_the_colour_of_its_smoothed_label(tmp_path: Path):
    rng = np.random.default_rng(0)
    probabilities = np.repeat(np.eye(4), 12, axis=0) * 0.7 + rng.dirichlet(np.ones(4), size=48) * 0.3
    probabilities[[5, 20, 21]] = np.nan
    window = 5
    path = tmp_path / "clip.annotated.mp4"
    with AnnotatedVideoWriter(path, 10.0, CLASSES, window, label_tracks=False) as sink:
        for frames, part in _runs(probabilities, run=7):
            sink(frames, part)
    expected = np.nanargmax(np.nan_to_num(smooth_probabilities(probabilities, window), nan=-1), axis=1)
    drawn = [frame.image for frame in iter_video_frames(path, 10.0)]
    assert len(drawn) == len(probabilities)
    x, y, w, _ = BOX
    for i, image in enumerate(drawn):
        edge = image[y, x + 5 : x + w - 5].mean(axis=0)  # the box's top line
        if np.isnan(probabilities[i]).any():
            assert edge.max() < 60, i  # no box on a frame without a face
        else:
            assert _nearest_class(edge) == expected[i], i


def test_a_failed_scan_leaves_no_file(tmp_path: Path):
    path = tmp_path / "clip.annotated.mp4"
    with pytest.raises(RuntimeError), AnnotatedVideoWriter(path, 10.0, CLASSES, 3, label_tracks=False) as sink:
        for frames, part in _runs(np.full((10, 4), 0.25), run=4):
            sink(frames, part)
        raise RuntimeError("the decoder broke")
    assert list(tmp_path.iterdir()) == []

"""A colour frame's grayscale converted by parts: the crops and regions are those of the whole
converted frame, wherever the crop lies (inside, across an edge, outside the frame)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vemo.faces.align import warp_crop
from vemo.faces.gray import FrameGray

RNG = np.random.default_rng(0)
FRAME = cv2.GaussianBlur(RNG.integers(0, 256, (540, 960, 3), np.uint8), (3, 3), 0)  # a face is a small part of it
WHOLE = cv2.cvtColor(FRAME, cv2.COLOR_BGR2GRAY)


@settings(max_examples=300, deadline=None)
@given(
    scale=st.floats(0.2, 3.0),
    angle=st.floats(-np.pi, np.pi),
    centre=st.tuples(st.floats(-200, 1160), st.floats(-200, 740)),
    size=st.sampled_from([28, 64, 192, 227]),
)
def test_a_crop_from_parts_is_the_crop_of_the_whole_converted_frame(scale: float, angle: float, centre: tuple, size: int):
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = np.hstack([rotation, (size / 2 - rotation @ np.array(centre))[:, None]])
    assert np.array_equal(FrameGray(FRAME).crop(matrix, size), warp_crop(WHOLE, matrix, size))


def test_parts_are_the_whole_frames_pixels_and_each_is_converted_at_most_once(monkeypatch: pytest.MonkeyPatch):
    converted: list[tuple[int, ...]] = []
    convert = cv2.cvtColor
    monkeypatch.setattr(cv2, "cvtColor", lambda image, code: converted.append(image.shape) or convert(image, code))
    gray = FrameGray(FRAME)
    assert np.array_equal(gray.part(100, 200, 200, 320), WHOLE[200:320, 100:200])
    assert np.array_equal(gray.part(95, 190, 205, 330), WHOLE[190:330, 95:205])  # within the margin: nothing more converted
    assert np.array_equal(gray.part(150, 300, 260, 360), WHOLE[300:360, 150:260])  # past it: the rectangle holding both
    assert np.array_equal(gray.part(0, 0, 800, 500), WHOLE[:500, :800])  # most of the frame: the whole frame
    assert np.array_equal(gray.part(5, 5, 9, 9), WHOLE[5:9, 5:9])
    assert converted == [(144, 120, 3), (206, 204, 3), FRAME.shape]  # each with its margin


def test_a_real_face_crop_from_parts(shared_media: Path):
    frame = cv2.imread(str(shared_media / "multi_face.jpg"))
    matrix = np.array([[0.8, 0.1, -100.0], [-0.1, 0.8, -40.0]])
    assert np.array_equal(FrameGray(frame).crop(matrix, 192), warp_crop(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), matrix, 192))

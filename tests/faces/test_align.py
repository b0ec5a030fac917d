"""The similarity transform puts the eyes exactly on their canonical places, without shear."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vemo.faces.align import BOX_EYES, CANONICAL_EYES, EyePair, _best_pair, box_transform, similarity_from_eyes
from vemo.faces.detect import FaceBox

coordinate = st.floats(min_value=0, max_value=2000, allow_nan=False)


@given(
    coordinate, coordinate, st.floats(min_value=5, max_value=500), st.floats(min_value=-0.6, max_value=0.6), st.sampled_from([28, 64, 227])
)
def test_eyes_land_on_canonical_positions(x, y, distance, angle, size):
    left = (x, y)
    right = (x + distance * np.cos(angle), y + distance * np.sin(angle))
    matrix = similarity_from_eyes(EyePair(left, right), size)
    mapped = np.array([left + (1,), right + (1,)]) @ matrix.T
    np.testing.assert_allclose(mapped, CANONICAL_EYES * size, atol=1e-6)
    linear = matrix[:, :2]
    np.testing.assert_allclose(linear.T @ linear, np.eye(2) * np.linalg.det(linear), rtol=1e-9, atol=1e-9)


def test_box_crop_uses_the_usual_eye_positions_of_a_box():
    box = FaceBox(100, 50, 80, 80)
    matrix = box_transform(box, 227)
    eyes = BOX_EYES * 80 + [100, 50]
    np.testing.assert_allclose(np.c_[eyes, np.ones(2)] @ matrix.T, CANONICAL_EYES * 227, atol=1e-6)


def test_pairing_rejects_implausible_eyes():
    box = FaceBox(0, 0, 100, 100)
    assert _best_pair([(30, 40, 20), (33, 42, 20)], box) is None  # too close: one eye twice
    assert _best_pair([(30, 40, 20), (70, 80, 20)], box) is None  # tilted 45 degrees
    pair = _best_pair([(70, 41, 20), (30, 40, 20), (50, 75, 18)], box)
    assert pair is not None and pair.left == (30, 40) and pair.right == (70, 41)

"""Smoothing frame by frame, as the annotated video is drawn, equals smoothing the whole track."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vemo.prediction.smoothing import smooth_probabilities, smoothed_at


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 60), window=st.integers(1, 16), seed=st.integers(0, 2**16), gaps=st.floats(0, 0.6))
def test_streamed_smoothing_equals_whole_series(length: int, window: int, seed: int, gaps: float):
    rng = np.random.default_rng(seed)
    series = rng.dirichlet(np.ones(4), size=length)
    series[rng.random(length) < gaps] = np.nan  # frames without the face
    whole = smooth_probabilities(series, window)
    for position in range(length):
        np.testing.assert_allclose(smoothed_at(series, position, window), whole[position], atol=1e-12)

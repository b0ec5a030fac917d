"""Probabilities smoothed over time: over a whole track, or frame by frame as a video streams by.

Both give the same numbers, so the annotated video drawn during the scan shows exactly the
smoothed probabilities of the frames table written after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def smooth_probabilities(probabilities: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over `window` analysed frames; frames without a face stay NaN
    and do not count in their neighbours' averages."""
    if window <= 1:
        return probabilities
    frame = pd.DataFrame(probabilities)
    smoothed = frame.rolling(window, center=True, min_periods=1).mean().to_numpy(copy=True)
    smoothed[np.isnan(probabilities).any(axis=1)] = np.nan
    return smoothed


def smoothed_at(probabilities: np.ndarray, position: int, window: int) -> np.ndarray:
    """Row `position` of `smooth_probabilities(probabilities, window)`, from the rows within
    `window` of it only: what a streaming reader can compute once `window` later rows are known
    (or the series has ended)."""
    start = max(0, position - window)
    near = probabilities[start : position + window + 1]
    return smooth_probabilities(near, window)[position - start]


class TrailingMean:
    """The causal version, for live streams: the mean of the probabilities of the last `seconds`
    (this frame's included), by capture time, since a live frame rate is not fixed and the future
    is not known. Frames without a face are not added and do not count."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._times: list[float] = []
        self._rows: list[np.ndarray] = []

    def add(self, time_s: float, probabilities: np.ndarray) -> np.ndarray:
        """Add a frame's probabilities; returns the mean over the window that ends with it."""
        self._times.append(time_s)
        self._rows.append(probabilities)
        mean = self.mean(time_s)
        assert mean is not None  # the frame just added lies in its own window
        return mean

    def __len__(self) -> int:
        """Frames in the window as of the last `add` or `mean`."""
        return len(self._rows)

    def mean(self, now_s: float) -> np.ndarray | None:
        """The mean over (now - seconds, now], or None when no frame falls in it."""
        keep = next((i for i, t in enumerate(self._times) if t > now_s - self.seconds - 1e-9), len(self._times))
        del self._times[:keep], self._rows[:keep]
        return np.mean(self._rows, axis=0) if self._rows else None

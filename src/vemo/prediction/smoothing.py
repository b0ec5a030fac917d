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

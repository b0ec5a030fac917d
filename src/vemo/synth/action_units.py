"""FACS action units of the four emotions and their time course in a clip.

Mapping (Ekman & Friesen's prototypes, as used by EMFACS):

| emotion   | action units                                              |
|-----------|-----------------------------------------------------------|
| happiness | AU6 cheek raiser + AU12 lip corner puller                 |
| sadness   | AU1 inner brow raiser + AU4 brow lowerer + AU15 lip corner depressor |
| surprise  | AU1 + AU2 outer brow raiser + AU5 upper lid raiser + AU26 jaw drop |
| disgust   | AU9 nose wrinkler + AU10 upper lip raiser (+ AU4 in some clips) |

AU45 (blink) happens in every clip at random times, independent of the emotion.
"""

from __future__ import annotations

import numpy as np

ACTION_UNITS: tuple[str, ...] = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU9", "AU10", "AU12", "AU15", "AU26", "AU45")

EMOTIONS: tuple[str, ...] = ("disgust", "happiness", "sadness", "surprise")

EMOTION_ACTION_UNITS: dict[str, tuple[str, ...]] = {
    "happiness": ("AU6", "AU12"),
    "sadness": ("AU1", "AU4", "AU15"),
    "surprise": ("AU1", "AU2", "AU5", "AU26"),
    "disgust": ("AU9", "AU10"),
}

OPTIONAL_ACTION_UNITS: dict[str, tuple[str, ...]] = {"disgust": ("AU4",)}


def clip_action_unit_peaks(emotion: str, intensity: float, rng: np.random.Generator) -> dict[str, float]:
    """Peak intensity (0..1) of each action unit at the apex of one clip.

    Each unit of the emotion gets the clip intensity times a small per-unit jitter, so
    that two clips of one emotion never look exactly alike; optional units appear in
    half of the clips.
    """
    peaks = {unit: 0.0 for unit in ACTION_UNITS}
    for unit in EMOTION_ACTION_UNITS[emotion]:
        peaks[unit] = float(np.clip(intensity * rng.uniform(0.8, 1.15), 0.0, 1.0))
    for unit in OPTIONAL_ACTION_UNITS.get(emotion, ()):
        if rng.random() < 0.5:
            peaks[unit] = float(np.clip(intensity * rng.uniform(0.4, 0.8), 0.0, 1.0))
    return peaks


def expression_envelope(n_frames: int, onset: int, apex: int, offset: int) -> np.ndarray:
    """Strength of the expression (0..1) per frame: neutral, onset, apex, offset, neutral.

    Smooth (cosine) rise from `onset` to `apex`, a short hold, and a smooth decay that
    reaches neutral at `offset`. Returns an (n_frames,) float array.
    """
    t = np.arange(n_frames, dtype=np.float64)
    envelope = np.zeros(n_frames)
    rise = (t >= onset) & (t <= apex)
    envelope[rise] = 0.5 - 0.5 * np.cos(np.pi * (t[rise] - onset) / max(apex - onset, 1))
    hold_end = apex + max(1, (offset - apex) // 4)
    envelope[(t > apex) & (t <= hold_end)] = 1.0
    fall = (t > hold_end) & (t < offset)
    envelope[fall] = 0.5 + 0.5 * np.cos(np.pi * (t[fall] - hold_end) / max(offset - hold_end, 1))
    return envelope


def blink_track(n_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """AU45 per frame: blinks of ~0.15 s every 2-6 s, at random times."""
    track = np.zeros(n_frames)
    t = rng.uniform(0.3, 3.0) * fps
    half = max(1, int(round(0.075 * fps)))
    while t < n_frames:
        centre = int(t)
        for k in range(-half, half + 1):
            if 0 <= centre + k < n_frames:
                track[centre + k] = max(track[centre + k], 1.0 - abs(k) / (half + 1))
        t += rng.uniform(2.0, 6.0) * fps
    return track

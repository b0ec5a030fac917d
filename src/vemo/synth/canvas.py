"""The face canvas and its drawing primitives: OpenCV draws in fixed point (`SHIFT` bits), so
sub-pixel positions of face parts stay smooth as action units move them a fraction of a pixel."""

from __future__ import annotations

import numpy as np

CANVAS_W = 220
CANVAS_H = 290
FACE_CX = 110.0
FACE_CY = 120.0
SHIFT = 4
ONE = 1 << SHIFT


def bgr(rgb: tuple[float, float, float] | np.ndarray) -> tuple[float, float, float]:
    return (float(rgb[2]), float(rgb[1]), float(rgb[0]))


def pt(x: float, y: float) -> tuple[int, int]:
    return (int(round(x * ONE)), int(round(y * ONE)))


def curve(p0: tuple[float, float], control: tuple[float, float], p1: tuple[float, float], n: int = 12) -> np.ndarray:
    """Quadratic Bezier through p0 and p1, as fixed-point polyline points (n, 2) int32."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    pts = (1 - t) ** 2 * np.array(p0) + 2 * (1 - t) * t * np.array(control) + t**2 * np.array(p1)
    return np.round(pts * ONE).astype(np.int32)

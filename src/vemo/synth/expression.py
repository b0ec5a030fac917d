"""The moving parts of a face, drawn per frame: brows, eyes, nose wrinkles, mouth, folds.

Each follows the FACS action units of the frame (see `vemo.synth.action_units`); the static
parts (skin, hair, lighting) come from `vemo.synth.face.build_static_face`, once per clip.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from vemo.synth.canvas import FACE_CX, ONE, SHIFT, bgr, curve, pt
from vemo.synth.face import FaceGeometry, StaticFace, yaw_shift
from vemo.synth.identity import SubjectSpec


def draw_face(static: StaticFace, aus: dict[str, float], yaw_deg: float) -> np.ndarray:
    """The lit face on the canvas for one frame.

    Args:
        static: the clip's static face.
        aus: action-unit intensities 0..1 of this frame (missing units count as 0).
        yaw_deg: head yaw in degrees; shifts the face parts that stick out.

    Returns:
        (CANVAS_H, CANVAS_W, 3) float32 BGR in 0..255 (unclipped); use `static.alpha` to composite.
    """
    s, g = static.subject, static.geometry
    au = {k: float(v) for k, v in aus.items()}
    u = lambda name: au.get(name, 0.0)  # noqa: E731
    img = static.albedo.copy()
    skin = np.array(bgr(s.skin_rgb))
    eye_shift, nose_shift, mouth_shift = (yaw_shift(g, yaw_deg, d) for d in (0.6, 1.0, 0.75))
    _draw_brows(img, s, g, u, eye_shift)
    _draw_eyes(img, s, g, u, skin, eye_shift)
    nx, ny = _draw_nose(img, g, u, skin, nose_shift)
    mx, half_w, corner_y = _draw_mouth(img, s, g, u, skin, mouth_shift)
    _draw_folds(img, g, u, skin, (nx, ny), (mx, half_w, corner_y))
    if s.glasses:
        _draw_glasses(img, g, eye_shift)

    return img.astype(np.float32) * static.shading + static.highlight * (static.alpha[..., None] > 0.5)


def _draw_brows(img: np.ndarray, s: SubjectSpec, g: FaceGeometry, u: Callable[[str], float], eye_shift: float) -> None:
    a = g.a
    aa = cv2.LINE_AA
    # brows: inner end up with AU1, outer end up with AU2, down and together with AU4 (and AU9)
    brow_colour = tuple(np.array(bgr(s.hair_rgb)) * 0.6 + 8)
    lower = 0.09 * a * u("AU4") + 0.05 * a * u("AU9")
    thickness = max(2, int(round(0.085 * a * s.brow_thickness)))
    for side in (-1, 1):
        inner = (FACE_CX + eye_shift + side * (0.15 * a - 0.045 * a * u("AU4")), g.brow_y + lower - 0.13 * a * u("AU1") + 0.02 * a)
        outer = (FACE_CX + eye_shift + side * 0.64 * a, g.brow_y + 0.04 * a + 0.5 * lower - 0.12 * a * u("AU2") + 0.04 * a * u("AU1"))
        peak = (FACE_CX + eye_shift + side * 0.42 * a, g.brow_y - 0.05 * a + 0.7 * lower - 0.09 * a * max(u("AU1"), u("AU2")))
        cv2.polylines(img, [curve(inner, peak, outer)], False, brow_colour, thickness, aa, SHIFT)


def _draw_eyes(img: np.ndarray, s: SubjectSpec, g: FaceGeometry, u: Callable[[str], float], skin: np.ndarray, eye_shift: float) -> None:
    a = g.a
    aa = cv2.LINE_AA
    # eyes: wider with AU5, narrowed by AU6, AU4 and AU9, closed by a blink (AU45)
    openness = np.clip(1.0 + 0.7 * u("AU5") - 0.45 * u("AU6") - 0.25 * u("AU4") - 0.25 * u("AU9") - 1.0 * u("AU45"), 0.06, 1.8)
    ew, eh = 0.17 * a * s.eye_size, 0.075 * a * s.eye_size
    lash = (25.0, 22.0, 28.0)
    for side in (-1, 1):
        ex, ey = FACE_CX + side * g.eye_dx + eye_shift, g.eye_y
        h = eh * openness
        cv2.ellipse(img, pt(ex, ey), pt(ew, h), 0, 0, 360, (225, 228, 232), -1, aa, SHIFT)
        iris_r = min(0.075 * a * s.eye_size, h * 1.1)
        if h > 1.0:
            cv2.circle(img, pt(ex + eye_shift * 0.3, ey), int(iris_r * ONE), bgr(s.iris_rgb), -1, aa, SHIFT)
            cv2.circle(img, pt(ex + eye_shift * 0.3, ey), int(iris_r * 0.45 * ONE), (15, 12, 12), -1, aa, SHIFT)
        cv2.ellipse(img, pt(ex, ey), pt(ew, h), 0, 180, 360, lash, max(2, int(0.035 * a)), aa, SHIFT)
        cv2.ellipse(img, pt(ex, ey), pt(ew, h), 0, 0, 180, tuple(skin * 0.6), 1, aa, SHIFT)
        if u("AU6") > 0.05:  # raised cheek: lower-lid bulge and crow's feet
            fold = tuple(skin * (1 - 0.35 * u("AU6")))
            cv2.ellipse(img, pt(ex, ey + h + 0.04 * a), pt(ew * 0.8, 0.05 * a), 0, 10, 170, fold, 1, aa, SHIFT)
            for k in (-1, 0, 1):
                start = (ex + side * (ew + 0.04 * a), ey + k * 0.05 * a)
                end = (ex + side * (ew + 0.13 * a), ey + k * 0.09 * a)
                cv2.line(img, pt(*start), pt(*end), fold, 1, aa, SHIFT)


def _draw_nose(img: np.ndarray, g: FaceGeometry, u: Callable[[str], float], skin: np.ndarray, nose_shift: float) -> tuple[float, float]:
    a, b = g.a, g.b
    aa = cv2.LINE_AA
    # nose: nostrils, wrinkles with AU9
    nx, ny = FACE_CX + nose_shift, g.nose_y - 0.05 * a * u("AU9") - 0.02 * a * u("AU10")
    nostril = tuple(skin * 0.35)
    for side in (-1, 1):
        cv2.ellipse(
            img,
            pt(nx + side * 0.09 * a * (1 + 0.2 * u("AU9")), ny + 0.03 * b),
            pt(0.05 * a, 0.025 * a),
            side * 20,
            0,
            360,
            nostril,
            -1,
            aa,
            SHIFT,
        )
        cv2.ellipse(
            img,
            pt(nx + side * 0.14 * a, ny),
            pt(0.06 * a, 0.08 * a),
            0,
            -60 if side > 0 else 60,
            90 if side > 0 else 270,
            tuple(skin * 0.7),
            1,
            aa,
            SHIFT,
        )
    if u("AU9") > 0.05:
        wrinkle = tuple(skin * (1 - 0.45 * u("AU9")))
        for k in range(3):
            y = g.eye_y - 0.04 * b + k * 0.055 * b
            cv2.line(img, pt(nx - 0.09 * a, y), pt(nx + 0.09 * a, y - 0.01 * a), wrinkle, 1, aa, SHIFT)
    return nx, ny


def _draw_mouth(
    img: np.ndarray, s: SubjectSpec, g: FaceGeometry, u: Callable[[str], float], skin: np.ndarray, mouth_shift: float
) -> tuple[float, float, float]:
    a, b = g.a, g.b
    aa = cv2.LINE_AA
    # mouth
    smile, frown, jaw, lift = u("AU12"), u("AU15"), u("AU26"), u("AU10")
    mx, my = FACE_CX + mouth_shift, g.mouth_y + 0.05 * b * jaw
    half_w = 0.27 * a * s.mouth_width * (1 + 0.22 * smile - 0.08 * jaw + 0.05 * lift)
    corner_y = my - 0.13 * a * smile + 0.12 * a * frown - 0.02 * a * lift
    opening = 0.5 * a * jaw + 0.07 * a * lift + 0.06 * a * max(0.0, smile - 0.4)
    mid_y = my + 0.05 * a * smile - 0.03 * a * frown
    lip_t = 0.07 * a * s.lip_thickness
    left, right = (mx - half_w, corner_y), (mx + half_w, corner_y)
    upper_inner = curve(left, (mx, mid_y - 0.6 * opening - 0.04 * a * lift), right)
    lower_inner = curve(right, (mx, mid_y + 1.2 * opening), left)
    upper_outer = curve(left, (mx, mid_y - 0.6 * opening - 2.2 * lip_t - 0.06 * a * lift), right)
    lower_outer = curve(right, (mx, mid_y + 1.2 * opening + 2.6 * lip_t), left)
    lip_colour = tuple(skin * 0.68 + np.array([20.0, 18.0, 55.0]) * (1 - 0.5 * float(np.mean(s.skin_rgb)) / 255))
    cv2.fillPoly(img, [np.vstack([upper_outer, lower_outer])], lip_colour, aa, SHIFT)
    if opening > 0.03 * a:
        cv2.fillPoly(img, [np.vstack([upper_inner, lower_inner])], (30, 22, 40), aa, SHIFT)
        teeth_h = min(0.45 * opening, 0.09 * a)
        teeth = curve(
            (left[0] + 0.15 * half_w, corner_y + 0.2 * teeth_h),
            (mx, mid_y - 0.6 * opening + 2 * teeth_h),
            (right[0] - 0.15 * half_w, corner_y + 0.2 * teeth_h),
        )
        cv2.fillPoly(img, [np.vstack([upper_inner[2:-2], teeth[::-1]])], (215, 222, 228), aa, SHIFT)
    else:
        cv2.polylines(img, [upper_inner], False, tuple(skin * 0.3), 2, aa, SHIFT)
    return mx, half_w, corner_y


def _draw_folds(
    img: np.ndarray,
    g: FaceGeometry,
    u: Callable[[str], float],
    skin: np.ndarray,
    nose: tuple[float, float],
    mouth: tuple[float, float, float],
) -> None:
    a, b = g.a, g.b
    aa = cv2.LINE_AA
    nx, ny = nose
    mx, half_w, corner_y = mouth
    smile, frown, lift = u("AU12"), u("AU15"), u("AU10")
    # folds: nasolabial (deeper with AU12, AU10, AU9), depressor lines with AU15
    fold_depth = 0.12 + 0.45 * max(smile, lift, u("AU9"))
    for side in (-1, 1):
        start = (nx + side * 0.17 * a, ny + 0.01 * b)
        end = (mx + side * (half_w + 0.08 * a), corner_y + 0.1 * a)
        control = (nx + side * 0.3 * a, (start[1] + end[1]) / 2)
        cv2.polylines(img, [curve(start, control, end)], False, tuple(skin * (1 - fold_depth)), 1, aa, SHIFT)
        if frown > 0.05:
            cv2.line(
                img,
                pt(mx + side * half_w, corner_y + 0.02 * a),
                pt(mx + side * (half_w + 0.03 * a), corner_y + 0.16 * a),
                tuple(skin * (1 - 0.4 * frown)),
                1,
                aa,
                SHIFT,
            )


def _draw_glasses(img: np.ndarray, g: FaceGeometry, eye_shift: float) -> None:
    a, b = g.a, g.b
    aa = cv2.LINE_AA
    frame_colour = (30.0, 30.0, 35.0)
    for side in (-1, 1):
        ex = FACE_CX + side * g.eye_dx + eye_shift
        cv2.ellipse(img, pt(ex, g.eye_y + 0.02 * b), pt(0.27 * a, 0.19 * a), 0, 0, 360, frame_colour, 2, aa, SHIFT)
    cv2.line(
        img,
        pt(FACE_CX + eye_shift - g.eye_dx + 0.27 * a, g.eye_y),
        pt(FACE_CX + eye_shift + g.eye_dx - 0.27 * a, g.eye_y),
        frame_colour,
        2,
        aa,
        SHIFT,
    )

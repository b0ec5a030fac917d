"""Draws one face on a fixed canvas: identity, lighting and action units.

The canvas is upright and centred; the scene module rotates, scales and moves it into the
frame. Static parts (skin, hair, ears, neck, beard, lighting and shadows) are built once per
subject and clip; only the moving parts (brows, eyes, nose wrinkles, mouth) are drawn per
frame. The Haar cascade keys on the contrast of eye sockets, brows, nose bridge and cheeks,
so socket shadows and highlights are scaled to the skin: dark skin gets the same relative
contrast as light skin, as a key light and specular sheen give real dark skin.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vemo.synth.identity import SubjectSpec

CANVAS_W = 220
CANVAS_H = 290
FACE_CX = 110.0
FACE_CY = 120.0
_SHIFT = 4
_ONE = 1 << _SHIFT


def _bgr(rgb: tuple[float, float, float] | np.ndarray) -> tuple[float, float, float]:
    return (float(rgb[2]), float(rgb[1]), float(rgb[0]))


def _pt(x: float, y: float) -> tuple[int, int]:
    return (int(round(x * _ONE)), int(round(y * _ONE)))


def _curve(p0: tuple[float, float], control: tuple[float, float], p1: tuple[float, float], n: int = 12) -> np.ndarray:
    """Quadratic Bezier through p0 and p1, as fixed-point polyline points (n, 2) int32."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    pts = (1 - t) ** 2 * np.array(p0) + 2 * (1 - t) * t * np.array(control) + t**2 * np.array(p1)
    return np.round(pts * _ONE).astype(np.int32)


@dataclass(frozen=True)
class FaceGeometry:
    """Canvas positions (px) of a subject's face parts at rest."""

    a: float  # half face width
    b: float  # half face height
    eye_y: float
    eye_dx: float
    brow_y: float
    nose_y: float
    mouth_y: float


def face_geometry(subject: SubjectSpec) -> FaceGeometry:
    """Rest positions of a subject's face parts on the canvas."""
    a = 56.0 * subject.face_width
    b = 74.0 * subject.face_height
    return FaceGeometry(
        a=a, b=b,
        eye_y=FACE_CY - 0.02 * b,
        eye_dx=0.40 * a * subject.eye_spacing,
        brow_y=FACE_CY - 0.22 * b * subject.brow_height,
        nose_y=FACE_CY + 0.33 * b * subject.nose_length,
        mouth_y=FACE_CY + 0.60 * b,
    )


def head_outline(g: FaceGeometry, jaw: float, n: int = 72) -> np.ndarray:
    """Head contour as fixed-point polygon points: an ellipse whose lower half narrows to the jaw."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    lower = np.clip(np.sin(t), 0, 1)
    x = FACE_CX + g.a * np.cos(t) * (1 - (1 - jaw) * 0.6 * lower**2)
    y = FACE_CY + g.b * np.sin(t)
    return np.round(np.stack([x, y], axis=1) * _ONE).astype(np.int32)


def _yaw_shift(geometry: FaceGeometry, yaw_deg: float, depth: float) -> float:
    """Horizontal shift of a face part that sticks out by `depth` when the head turns."""
    return float(np.sin(np.radians(yaw_deg)) * geometry.a * 0.55 * depth)


def canvas_eye_centres(subject: SubjectSpec, yaw_deg: float = 0.0) -> np.ndarray:
    """Eye centres on the canvas, image-left first: (2, 2) float [[x, y], [x, y]]."""
    g = face_geometry(subject)
    shift = _yaw_shift(g, yaw_deg, 0.6)
    return np.array([[FACE_CX - g.eye_dx + shift, g.eye_y], [FACE_CX + g.eye_dx + shift, g.eye_y]])


@dataclass(frozen=True)
class StaticFace:
    """The parts of a face that do not move within a clip."""

    subject: SubjectSpec
    geometry: FaceGeometry
    albedo: np.ndarray  # (CANVAS_H, CANVAS_W, 3) uint8 BGR
    alpha: np.ndarray  # (CANVAS_H, CANVAS_W) float32 0..1
    shading: np.ndarray  # (CANVAS_H, CANVAS_W, 1) float32 multiplier
    highlight: np.ndarray  # (CANVAS_H, CANVAS_W, 1) float32, added in 0..255 units


def _gaussian(xx: np.ndarray, yy: np.ndarray, x: float, y: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((xx - x) / sx) ** 2 + ((yy - y) / sy) ** 2))


def build_static_face(subject: SubjectSpec, key_light: tuple[float, float], rng: np.random.Generator) -> StaticFace:
    """Skin, hair, ears, neck, clothes, beard, and the clip's lighting on the canvas.

    Args:
        subject: who to draw.
        key_light: (x, y) direction of the key light in the image plane (y < 0: from above).
        rng: stream for skin and beard texture.
    """
    g = face_geometry(subject)
    a, b = g.a, g.b
    skin = np.array(_bgr(subject.skin_rgb))
    hair = np.array(_bgr(subject.hair_rgb))
    albedo = np.zeros((CANVAS_H, CANVAS_W, 3), np.uint8)
    mask = np.zeros((CANVAS_H, CANVAS_W), np.uint8)
    aa = cv2.LINE_AA

    def fill_ellipse(centre, axes, colour, start=0, end=360):
        cv2.ellipse(albedo, _pt(*centre), _pt(*axes), 0, start, end, colour, -1, aa, _SHIFT)
        cv2.ellipse(mask, _pt(*centre), _pt(*axes), 0, start, end, 255, -1, aa, _SHIFT)

    if subject.hair_style in ("long", "bob"):
        bottom = FACE_CY + (1.25 * b if subject.hair_style == "long" else 0.55 * b)
        pts = np.array([_pt(FACE_CX - 1.18 * a, FACE_CY - 0.2 * b), _pt(FACE_CX - 1.22 * a, bottom),
                        _pt(FACE_CX + 1.22 * a, bottom), _pt(FACE_CX + 1.18 * a, FACE_CY - 0.2 * b)], np.int32)
        cv2.fillPoly(albedo, [pts], tuple(hair), aa, _SHIFT)
        cv2.fillPoly(mask, [pts], 255, aa, _SHIFT)
        fill_ellipse((FACE_CX, FACE_CY - 0.2 * b), (1.18 * a, 0.9 * b), tuple(hair))
    # neck and shoulders
    neck = np.array([_pt(FACE_CX - 0.42 * a, FACE_CY + 0.5 * b), _pt(FACE_CX - 0.46 * a, FACE_CY + 1.5 * b),
                     _pt(FACE_CX + 0.46 * a, FACE_CY + 1.5 * b), _pt(FACE_CX + 0.42 * a, FACE_CY + 0.5 * b)], np.int32)
    cv2.fillPoly(albedo, [neck], tuple(skin * 0.95), aa, _SHIFT)
    cv2.fillPoly(mask, [neck], 255, aa, _SHIFT)
    fill_ellipse((FACE_CX, FACE_CY + 2.0 * b), (1.9 * a, 0.62 * b), _bgr(subject.clothes_rgb))
    # ears, then the head
    for side in (-1, 1):
        fill_ellipse((FACE_CX + side * 0.97 * a, g.eye_y + 0.08 * b), (0.13 * a, 0.24 * a), tuple(skin * 0.93))
    head = head_outline(g, subject.jaw)
    cv2.fillPoly(albedo, [head], tuple(skin), aa, _SHIFT)
    cv2.fillPoly(mask, [head], 255, aa, _SHIFT)
    # beard: darker, textured lower face
    if subject.beard:
        head_mask = np.zeros_like(mask)
        cv2.fillPoly(head_mask, [head], 255, aa, _SHIFT)
        rows = np.arange(CANVAS_H, dtype=np.float32)[:, None]
        top = np.clip((rows - (FACE_CY + 0.3 * b)) / (0.12 * b), 0, 1)
        density = (head_mask.astype(np.float32) / 255.0) * top
        density *= rng.uniform(0.55, 0.85, size=density.shape).astype(np.float32)
        beard_colour = skin * 0.35 + hair * 0.65
        albedo[:] = np.clip(albedo * (1 - density[..., None]) + beard_colour * density[..., None], 0, 255).astype(np.uint8)
    # hair cap
    if subject.hair_style != "bald":
        depth = {"crop": 0.54, "short": 0.6, "bob": 0.62, "long": 0.62, "bun": 0.6}[subject.hair_style]
        hairline = FACE_CY - 0.5 * b
        cv2.ellipse(albedo, _pt(FACE_CX, hairline), _pt(1.05 * a, depth * b), 0, 180, 360, tuple(hair), -1, aa, _SHIFT)
        cv2.ellipse(mask, _pt(FACE_CX, hairline), _pt(1.05 * a, depth * b), 0, 180, 360, 255, -1, aa, _SHIFT)
        for side in (-1, 1):  # temples
            tri = np.array([_pt(FACE_CX + side * 1.04 * a, hairline), _pt(FACE_CX + side * 0.72 * a, hairline),
                            _pt(FACE_CX + side * 0.98 * a, g.eye_y - 0.1 * b)], np.int32)
            cv2.fillPoly(albedo, [tri], tuple(hair), aa, _SHIFT)
        if subject.hair_style == "bun":
            fill_ellipse((FACE_CX, FACE_CY - 1.12 * b), (0.38 * a, 0.3 * a), tuple(hair))
    # fine skin texture
    texture = rng.normal(0.0, 3.0, size=albedo.shape[:2]).astype(np.float32)
    albedo = np.clip(albedo.astype(np.float32) + texture[..., None], 0, 255).astype(np.uint8)

    shading, highlight = _lighting(subject, g, key_light)
    alpha = mask.astype(np.float32) / 255.0
    fade = np.ones((CANVAS_H, CANVAS_W), np.float32)  # shoulders fade out at the canvas edges
    edge = np.minimum(np.arange(CANVAS_W)[None, :], CANVAS_W - 1 - np.arange(CANVAS_W)[None, :])
    fade *= np.clip(edge / 24.0, 0, 1)
    fade = np.maximum(fade, (np.arange(CANVAS_H)[:, None] < FACE_CY + 1.2 * b).astype(np.float32))
    fade *= np.clip((CANVAS_H - 1 - np.arange(CANVAS_H)[:, None]) / 16.0, 0, 1)
    return StaticFace(subject, g, albedo, alpha * fade, shading, highlight)


def _lighting(subject: SubjectSpec, g: FaceGeometry, key_light: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Shading (multiplier) and specular highlights (additive) of the face under the key light."""
    a, b = g.a, g.b
    yy, xx = np.mgrid[0:CANVAS_H, 0:CANVAS_W].astype(np.float32)
    nx = (xx - FACE_CX) / (1.15 * a)
    ny = (yy - FACE_CY) / (1.15 * b)
    nz = np.sqrt(np.clip(1.0 - nx**2 - ny**2, 0.02, 1.0))
    light = np.array([key_light[0], key_light[1], 0.85])
    light /= np.linalg.norm(light)
    diffuse = np.clip((nx * light[0] + ny * light[1] + nz * light[2]) / np.sqrt(nx**2 + ny**2 + nz**2), 0, 1)
    shading = 0.5 + 0.6 * diffuse
    darkness = 1.0 - float(np.mean(subject.skin_rgb)) / 255.0  # 0 light .. ~0.8 dark
    socket = 0.48 + 0.12 * darkness
    for side in (-1, 1):
        ex = FACE_CX + side * g.eye_dx
        shading *= 1.0 - socket * _gaussian(xx, yy, ex, g.eye_y - 0.03 * b, 0.24 * a, 0.13 * b)
        side_dark = 0.32 if side * key_light[0] < 0 else 0.14  # nose side away from the light
        shading *= 1.0 - side_dark * _gaussian(xx, yy, FACE_CX + side * 0.13 * a, (g.eye_y + g.nose_y) / 2, 0.05 * a, 0.16 * b)
    shading *= 1.0 - 0.35 * _gaussian(xx, yy, FACE_CX, g.nose_y + 0.07 * b, 0.14 * a, 0.035 * b)
    shading *= 1.0 - 0.25 * _gaussian(xx, yy, FACE_CX, g.mouth_y + 0.2 * b, 0.18 * a, 0.04 * b)
    under_chin = ((yy > FACE_CY + 0.9 * b) & (np.abs(xx - FACE_CX) < 0.6 * a)).astype(np.float32)
    under_chin *= np.clip(1 - (yy - (FACE_CY + 0.9 * b)) / (0.45 * b), 0, 1)
    shading *= 1.0 - 0.45 * cv2.GaussianBlur(under_chin, (0, 0), 3)
    sheen = 255.0 * (0.10 + 0.22 * darkness)
    lx = key_light[0] * 0.15 * a
    highlight = (
        0.9 * _gaussian(xx, yy, FACE_CX + lx, FACE_CY - 0.45 * b, 0.32 * a, 0.12 * b)
        + 1.0 * _gaussian(xx, yy, FACE_CX + lx * 0.3, (g.eye_y + g.nose_y) / 2 - 0.05 * b, 0.055 * a, 0.2 * b)
        + 0.8 * _gaussian(xx, yy, FACE_CX + lx * 0.3, g.nose_y - 0.02 * b, 0.07 * a, 0.05 * b)
        + 0.75 * _gaussian(xx, yy, FACE_CX - 0.45 * a + lx, FACE_CY + 0.18 * b, 0.16 * a, 0.09 * b)
        + 0.75 * _gaussian(xx, yy, FACE_CX + 0.45 * a + lx, FACE_CY + 0.18 * b, 0.16 * a, 0.09 * b)
        + 0.5 * _gaussian(xx, yy, FACE_CX, FACE_CY + 0.88 * b, 0.16 * a, 0.06 * b)
    )
    return shading[..., None].astype(np.float32), (sheen * highlight)[..., None].astype(np.float32)


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
    a, b = g.a, g.b
    au = {k: float(v) for k, v in aus.items()}
    u = lambda name: au.get(name, 0.0)  # noqa: E731
    img = static.albedo.copy()
    skin = np.array(_bgr(s.skin_rgb))
    aa = cv2.LINE_AA
    eye_shift, nose_shift, mouth_shift = (_yaw_shift(g, yaw_deg, d) for d in (0.6, 1.0, 0.75))

    # brows: inner end up with AU1, outer end up with AU2, down and together with AU4 (and AU9)
    brow_colour = tuple(np.array(_bgr(s.hair_rgb)) * 0.6 + 8)
    lower = 0.09 * a * u("AU4") + 0.05 * a * u("AU9")
    thickness = max(2, int(round(0.085 * a * s.brow_thickness)))
    for side in (-1, 1):
        inner = (FACE_CX + eye_shift + side * (0.15 * a - 0.045 * a * u("AU4")), g.brow_y + lower - 0.13 * a * u("AU1") + 0.02 * a)
        outer = (FACE_CX + eye_shift + side * 0.64 * a, g.brow_y + 0.04 * a + 0.5 * lower - 0.12 * a * u("AU2") + 0.04 * a * u("AU1"))
        peak = (FACE_CX + eye_shift + side * 0.42 * a, g.brow_y - 0.05 * a + 0.7 * lower - 0.09 * a * max(u("AU1"), u("AU2")))
        cv2.polylines(img, [_curve(inner, peak, outer)], False, brow_colour, thickness, aa, _SHIFT)

    # eyes: wider with AU5, narrowed by AU6, AU4 and AU9, closed by a blink (AU45)
    openness = np.clip(1.0 + 0.7 * u("AU5") - 0.45 * u("AU6") - 0.25 * u("AU4") - 0.25 * u("AU9") - 1.0 * u("AU45"), 0.06, 1.8)
    ew, eh = 0.17 * a * s.eye_size, 0.075 * a * s.eye_size
    lash = (25.0, 22.0, 28.0)
    for side in (-1, 1):
        ex, ey = FACE_CX + side * g.eye_dx + eye_shift, g.eye_y
        h = eh * openness
        cv2.ellipse(img, _pt(ex, ey), _pt(ew, h), 0, 0, 360, (225, 228, 232), -1, aa, _SHIFT)
        iris_r = min(0.075 * a * s.eye_size, h * 1.1)
        if h > 1.0:
            cv2.circle(img, _pt(ex + eye_shift * 0.3, ey), int(iris_r * _ONE), _bgr(s.iris_rgb), -1, aa, _SHIFT)
            cv2.circle(img, _pt(ex + eye_shift * 0.3, ey), int(iris_r * 0.45 * _ONE), (15, 12, 12), -1, aa, _SHIFT)
        cv2.ellipse(img, _pt(ex, ey), _pt(ew, h), 0, 180, 360, lash, max(2, int(0.035 * a)), aa, _SHIFT)
        cv2.ellipse(img, _pt(ex, ey), _pt(ew, h), 0, 0, 180, tuple(skin * 0.6), 1, aa, _SHIFT)
        if u("AU6") > 0.05:  # raised cheek: lower-lid bulge and crow's feet
            fold = tuple(skin * (1 - 0.35 * u("AU6")))
            cv2.ellipse(img, _pt(ex, ey + h + 0.04 * a), _pt(ew * 0.8, 0.05 * a), 0, 10, 170, fold, 1, aa, _SHIFT)
            for k in (-1, 0, 1):
                start = (ex + side * (ew + 0.04 * a), ey + k * 0.05 * a)
                end = (ex + side * (ew + 0.13 * a), ey + k * 0.09 * a)
                cv2.line(img, _pt(*start), _pt(*end), fold, 1, aa, _SHIFT)

    # nose: nostrils, wrinkles with AU9
    nx, ny = FACE_CX + nose_shift, g.nose_y - 0.05 * a * u("AU9") - 0.02 * a * u("AU10")
    nostril = tuple(skin * 0.35)
    for side in (-1, 1):
        cv2.ellipse(img, _pt(nx + side * 0.09 * a * (1 + 0.2 * u("AU9")), ny + 0.03 * b), _pt(0.05 * a, 0.025 * a), side * 20,
                    0, 360, nostril, -1, aa, _SHIFT)
        cv2.ellipse(img, _pt(nx + side * 0.14 * a, ny), _pt(0.06 * a, 0.08 * a), 0, -60 if side > 0 else 60,
                    90 if side > 0 else 270, tuple(skin * 0.7), 1, aa, _SHIFT)
    if u("AU9") > 0.05:
        wrinkle = tuple(skin * (1 - 0.45 * u("AU9")))
        for k in range(3):
            y = g.eye_y - 0.04 * b + k * 0.055 * b
            cv2.line(img, _pt(nx - 0.09 * a, y), _pt(nx + 0.09 * a, y - 0.01 * a), wrinkle, 1, aa, _SHIFT)

    # mouth
    smile, frown, jaw, lift = u("AU12"), u("AU15"), u("AU26"), u("AU10")
    mx, my = FACE_CX + mouth_shift, g.mouth_y + 0.05 * b * jaw
    half_w = 0.27 * a * s.mouth_width * (1 + 0.22 * smile - 0.08 * jaw + 0.05 * lift)
    corner_y = my - 0.13 * a * smile + 0.12 * a * frown - 0.02 * a * lift
    opening = 0.5 * a * jaw + 0.07 * a * lift + 0.06 * a * max(0.0, smile - 0.4)
    mid_y = my + 0.05 * a * smile - 0.03 * a * frown
    lip_t = 0.07 * a * s.lip_thickness
    left, right = (mx - half_w, corner_y), (mx + half_w, corner_y)
    upper_inner = _curve(left, (mx, mid_y - 0.6 * opening - 0.04 * a * lift), right)
    lower_inner = _curve(right, (mx, mid_y + 1.2 * opening), left)
    upper_outer = _curve(left, (mx, mid_y - 0.6 * opening - 2.2 * lip_t - 0.06 * a * lift), right)
    lower_outer = _curve(right, (mx, mid_y + 1.2 * opening + 2.6 * lip_t), left)
    lip_colour = tuple(skin * 0.68 + np.array([20.0, 18.0, 55.0]) * (1 - 0.5 * float(np.mean(s.skin_rgb)) / 255))
    cv2.fillPoly(img, [np.vstack([upper_outer, lower_outer])], lip_colour, aa, _SHIFT)
    if opening > 0.03 * a:
        cv2.fillPoly(img, [np.vstack([upper_inner, lower_inner])], (30, 22, 40), aa, _SHIFT)
        teeth_h = min(0.45 * opening, 0.09 * a)
        teeth = _curve((left[0] + 0.15 * half_w, corner_y + 0.2 * teeth_h), (mx, mid_y - 0.6 * opening + 2 * teeth_h),
                       (right[0] - 0.15 * half_w, corner_y + 0.2 * teeth_h))
        cv2.fillPoly(img, [np.vstack([upper_inner[2:-2], teeth[::-1]])], (215, 222, 228), aa, _SHIFT)
    else:
        cv2.polylines(img, [upper_inner], False, tuple(skin * 0.3), 2, aa, _SHIFT)
    # folds: nasolabial (deeper with AU12, AU10, AU9), depressor lines with AU15
    fold_depth = 0.12 + 0.45 * max(smile, lift, u("AU9"))
    for side in (-1, 1):
        start = (nx + side * 0.17 * a, ny + 0.01 * b)
        end = (mx + side * (half_w + 0.08 * a), corner_y + 0.1 * a)
        control = (nx + side * 0.3 * a, (start[1] + end[1]) / 2)
        cv2.polylines(img, [_curve(start, control, end)], False, tuple(skin * (1 - fold_depth)), 1, aa, _SHIFT)
        if frown > 0.05:
            cv2.line(img, _pt(mx + side * half_w, corner_y + 0.02 * a),
                     _pt(mx + side * (half_w + 0.03 * a), corner_y + 0.16 * a), tuple(skin * (1 - 0.4 * frown)), 1, aa, _SHIFT)
    if s.glasses:
        frame_colour = (30.0, 30.0, 35.0)
        for side in (-1, 1):
            ex = FACE_CX + side * g.eye_dx + eye_shift
            cv2.ellipse(img, _pt(ex, g.eye_y + 0.02 * b), _pt(0.27 * a, 0.19 * a), 0, 0, 360, frame_colour, 2, aa, _SHIFT)
        cv2.line(img, _pt(FACE_CX + eye_shift - g.eye_dx + 0.27 * a, g.eye_y), _pt(FACE_CX + eye_shift + g.eye_dx - 0.27 * a, g.eye_y),
                 frame_colour, 2, aa, _SHIFT)
    return img.astype(np.float32) * static.shading + static.highlight * (static.alpha[..., None] > 0.5)

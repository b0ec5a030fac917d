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

from vemo.synth.canvas import CANVAS_H, CANVAS_W, FACE_CX, FACE_CY, ONE, SHIFT, bgr, pt
from vemo.synth.identity import SubjectSpec


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
        a=a,
        b=b,
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
    return np.round(np.stack([x, y], axis=1) * ONE).astype(np.int32)


def yaw_shift(geometry: FaceGeometry, yaw_deg: float, depth: float) -> float:
    """Horizontal shift of a face part that sticks out by `depth` when the head turns."""
    return float(np.sin(np.radians(yaw_deg)) * geometry.a * 0.55 * depth)


def canvas_eye_centres(subject: SubjectSpec, yaw_deg: float = 0.0) -> np.ndarray:
    """Eye centres on the canvas, image-left first: (2, 2) float [[x, y], [x, y]]."""
    g = face_geometry(subject)
    shift = yaw_shift(g, yaw_deg, 0.6)
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
    b = g.b
    skin = np.array(bgr(subject.skin_rgb))
    hair = np.array(bgr(subject.hair_rgb))
    albedo = np.zeros((CANVAS_H, CANVAS_W, 3), np.uint8)
    mask = np.zeros((CANVAS_H, CANVAS_W), np.uint8)
    aa = cv2.LINE_AA
    fill = _Filler(albedo, mask)
    _draw_hair_behind(fill, subject, g, hair)
    _draw_neck_and_ears(fill, subject, g, skin)
    head = head_outline(g, subject.jaw)
    cv2.fillPoly(albedo, [head], tuple(skin), aa, SHIFT)
    cv2.fillPoly(mask, [head], 255, aa, SHIFT)
    if subject.beard:
        _add_beard(albedo, mask, head, g, skin, hair, rng)
    if subject.hair_style != "bald":
        _draw_hair_cap(fill, subject, g, hair)
    # fine skin texture
    texture = rng.normal(0.0, 3.0, size=albedo.shape[:2]).astype(np.float32)
    albedo = np.clip(albedo.astype(np.float32) + texture[..., None], 0, 255).astype(np.uint8)

    shading, highlight = _lighting(subject, g, key_light)
    alpha = mask.astype(np.float32) / 255.0
    return StaticFace(subject, g, albedo, alpha * _edge_fade(b), shading, highlight)


@dataclass
class _Filler:
    """Fills shapes into the albedo and the mask together."""

    albedo: np.ndarray
    mask: np.ndarray

    def ellipse(self, centre, axes, colour, start=0, end=360) -> None:
        cv2.ellipse(self.albedo, pt(*centre), pt(*axes), 0, start, end, colour, -1, cv2.LINE_AA, SHIFT)
        cv2.ellipse(self.mask, pt(*centre), pt(*axes), 0, start, end, 255, -1, cv2.LINE_AA, SHIFT)

    def polygon(self, points: np.ndarray, colour) -> None:
        cv2.fillPoly(self.albedo, [points], colour, cv2.LINE_AA, SHIFT)
        cv2.fillPoly(self.mask, [points], 255, cv2.LINE_AA, SHIFT)


def _draw_hair_behind(fill: _Filler, subject: SubjectSpec, g: FaceGeometry, hair: np.ndarray) -> None:
    """Long hair and bobs fall behind the head and neck."""
    a, b = g.a, g.b
    if subject.hair_style in ("long", "bob"):
        bottom = FACE_CY + (1.25 * b if subject.hair_style == "long" else 0.55 * b)
        pts = np.array(
            [
                pt(FACE_CX - 1.18 * a, FACE_CY - 0.2 * b),
                pt(FACE_CX - 1.22 * a, bottom),
                pt(FACE_CX + 1.22 * a, bottom),
                pt(FACE_CX + 1.18 * a, FACE_CY - 0.2 * b),
            ],
            np.int32,
        )
        fill.polygon(pts, tuple(hair))
        fill.ellipse((FACE_CX, FACE_CY - 0.2 * b), (1.18 * a, 0.9 * b), tuple(hair))


def _draw_neck_and_ears(fill: _Filler, subject: SubjectSpec, g: FaceGeometry, skin: np.ndarray) -> None:
    a, b = g.a, g.b
    neck = np.array(
        [
            pt(FACE_CX - 0.42 * a, FACE_CY + 0.5 * b),
            pt(FACE_CX - 0.46 * a, FACE_CY + 1.5 * b),
            pt(FACE_CX + 0.46 * a, FACE_CY + 1.5 * b),
            pt(FACE_CX + 0.42 * a, FACE_CY + 0.5 * b),
        ],
        np.int32,
    )
    fill.polygon(neck, tuple(skin * 0.95))
    fill.ellipse((FACE_CX, FACE_CY + 2.0 * b), (1.9 * a, 0.62 * b), bgr(subject.clothes_rgb))  # shoulders
    for side in (-1, 1):
        fill.ellipse((FACE_CX + side * 0.97 * a, g.eye_y + 0.08 * b), (0.13 * a, 0.24 * a), tuple(skin * 0.93))


def _add_beard(
    albedo: np.ndarray, mask: np.ndarray, head: np.ndarray, g: FaceGeometry, skin: np.ndarray, hair: np.ndarray, rng: np.random.Generator
) -> None:
    """A darker, textured lower face."""
    b = g.b
    head_mask = np.zeros_like(mask)
    cv2.fillPoly(head_mask, [head], 255, cv2.LINE_AA, SHIFT)
    rows = np.arange(CANVAS_H, dtype=np.float32)[:, None]
    top = np.clip((rows - (FACE_CY + 0.3 * b)) / (0.12 * b), 0, 1)
    density = (head_mask.astype(np.float32) / 255.0) * top
    density *= rng.uniform(0.55, 0.85, size=density.shape).astype(np.float32)
    beard_colour = skin * 0.35 + hair * 0.65
    albedo[:] = np.clip(albedo * (1 - density[..., None]) + beard_colour * density[..., None], 0, 255).astype(np.uint8)


def _draw_hair_cap(fill: _Filler, subject: SubjectSpec, g: FaceGeometry, hair: np.ndarray) -> None:
    a, b = g.a, g.b
    depth = {"crop": 0.54, "short": 0.6, "bob": 0.62, "long": 0.62, "bun": 0.6}[subject.hair_style]
    hairline = FACE_CY - 0.5 * b
    fill.ellipse((FACE_CX, hairline), (1.05 * a, depth * b), tuple(hair), 180, 360)
    for side in (-1, 1):  # temples (colour only: the head is in the mask already)
        tri = np.array(
            [
                pt(FACE_CX + side * 1.04 * a, hairline),
                pt(FACE_CX + side * 0.72 * a, hairline),
                pt(FACE_CX + side * 0.98 * a, g.eye_y - 0.1 * b),
            ],
            np.int32,
        )
        cv2.fillPoly(fill.albedo, [tri], tuple(hair), cv2.LINE_AA, SHIFT)
    if subject.hair_style == "bun":
        fill.ellipse((FACE_CX, FACE_CY - 1.12 * b), (0.38 * a, 0.3 * a), tuple(hair))


def _edge_fade(b: float) -> np.ndarray:
    """Shoulders fade out at the canvas edges."""
    fade = np.ones((CANVAS_H, CANVAS_W), np.float32)
    edge = np.minimum(np.arange(CANVAS_W)[None, :], CANVAS_W - 1 - np.arange(CANVAS_W)[None, :])
    fade *= np.clip(edge / 24.0, 0, 1)
    fade = np.maximum(fade, (np.arange(CANVAS_H)[:, None] < FACE_CY + 1.2 * b).astype(np.float32))
    fade *= np.clip((CANVAS_H - 1 - np.arange(CANVAS_H)[:, None]) / 16.0, 0, 1)
    return fade


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

"""Puts a face into a video frame: head motion, background, lighting, noise, blur, codec.

`clip_frame_table` gives the true geometry of every frame without drawing anything, so
`frames.csv` can be rebuilt for finished clips; `ClipRenderer` draws the pixels.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pandas as pd

from vemo.synth.action_units import ACTION_UNITS, blink_track, expression_envelope
from vemo.synth.canvas import FACE_CX, FACE_CY
from vemo.synth.expression import draw_face
from vemo.synth.face import build_static_face, canvas_eye_centres, face_geometry
from vemo.synth.identity import SubjectSpec
from vemo.synth.plan import ClipSpec

BOX_CENTRE_DOWN = 0.2  # the true face box is centred this many half-heights below the face centre
BOX_SIDE = 1.75  # and is this many half-widths wide


def _canvas_to_frame(roll_deg: float, face_px: float, centre: tuple[float, float], half_width: float) -> np.ndarray:
    """2x3 affine taking canvas pixels to frame pixels (rotation, uniform scale, translation)."""
    scale = face_px / (2.0 * half_width)
    matrix = cv2.getRotationMatrix2D((FACE_CX, FACE_CY), -roll_deg, scale)
    matrix[:, 2] += np.array(centre) - np.array([FACE_CX, FACE_CY])
    return matrix


def clip_frame_table(clip: ClipSpec) -> pd.DataFrame:
    """True state of every frame: motion, face box, eye centres, action units.

    Columns: clip_id, frame, face_present, absence, roll, yaw, face_x, face_y, face_w,
    face_h, left_eye_x, left_eye_y, right_eye_x, right_eye_y (image-left eye first), then
    one column per action unit. Box and eyes are in frame pixels; a frame without a
    visible face keeps its geometry but has face_present False.
    """
    n = clip.n_frames
    t = np.arange(n) / clip.fps
    period = clip.motion_period_s
    p = clip.motion_phase
    roll = clip.roll_base + clip.roll_swing * np.sin(2 * np.pi * t / period + p[0])
    yaw = clip.yaw_base + clip.yaw_swing * np.sin(2 * np.pi * t / (1.3 * period) + p[1])
    face_px = clip.face_px * (1 + clip.scale_swing * np.sin(2 * np.pi * t / (0.8 * period) + p[2]))
    cx = clip.centre[0] + clip.drift[0] * np.sin(2 * np.pi * t / (1.1 * period) + p[3])
    cy = clip.centre[1] + clip.drift[1] * np.sin(2 * np.pi * t / (0.9 * period) + p[0] + 1.0)
    envelope = expression_envelope(n, clip.onset, clip.apex, clip.offset)
    blinks = blink_track(n, clip.fps, np.random.default_rng([clip.seed, 4]))
    geometry = face_geometry(clip.subject)
    absence = np.array([""] * n, dtype=object)
    for stretch in clip.absences:
        absence[stretch.start : stretch.end] = stretch.kind
    rows = {"clip_id": clip.clip_id, "frame": np.arange(n), "face_present": absence == "", "absence": absence, "roll": roll, "yaw": yaw}
    eyes = np.zeros((n, 2, 2))
    box = np.zeros((n, 4))
    for i in range(n):
        matrix = _canvas_to_frame(roll[i], face_px[i], (cx[i], cy[i]), geometry.a)
        canvas_eyes = canvas_eye_centres(clip.subject, yaw[i])
        eyes[i] = canvas_eyes @ matrix[:, :2].T + matrix[:, 2]
        centre = matrix @ np.array([FACE_CX, FACE_CY + BOX_CENTRE_DOWN * geometry.b, 1.0])
        side = BOX_SIDE * geometry.a * face_px[i] / (2 * geometry.a)
        box[i] = (centre[0] - side / 2, centre[1] - side / 2, side, side)
    rows.update(
        face_x=box[:, 0],
        face_y=box[:, 1],
        face_w=box[:, 2],
        face_h=box[:, 3],
        left_eye_x=eyes[:, 0, 0],
        left_eye_y=eyes[:, 0, 1],
        right_eye_x=eyes[:, 1, 0],
        right_eye_y=eyes[:, 1, 1],
    )
    for unit in ACTION_UNITS:
        rows[unit] = blinks if unit == "AU45" else clip.au_peaks[unit] * envelope
    table = pd.DataFrame(rows)
    geometry_columns = [
        "roll",
        "yaw",
        "face_x",
        "face_y",
        "face_w",
        "face_h",
        "left_eye_x",
        "left_eye_y",
        "right_eye_x",
        "right_eye_y",
        *ACTION_UNITS,
    ]
    table[geometry_columns] = table[geometry_columns].round(3)
    table["_face_px"] = face_px
    table["_cx"], table["_cy"] = cx, cy
    return table


def background(clip: ClipSpec) -> np.ndarray:
    """The clip's background, (H, W, 3) float32 BGR 0..255; independent of the emotion."""
    rng = np.random.default_rng(clip.background_seed)
    h, w = clip.height, clip.width
    base = rng.uniform(40, 220, size=3)
    if clip.background_style == "gradient":
        other = rng.uniform(40, 220, size=3)
        ramp = np.linspace(0, 1, h if rng.random() < 0.5 else w, dtype=np.float32)
        ramp = ramp[:, None, None] if ramp.size == h else ramp[None, :, None]
        image = base * (1 - ramp) + other * ramp
        image = np.broadcast_to(image, (h, w, 3)).copy()
    elif clip.background_style == "noise":
        coarse = rng.normal(0, 30, size=(6, 8, 3)).astype(np.float32)
        image = base + cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    else:  # "room": a wall with a door, a shelf and a picture
        image = np.broadcast_to(base.astype(np.float32), (h, w, 3)).copy()
        for _ in range(int(rng.integers(2, 5))):
            x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
            x1, y1 = x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(20, h // 2))
            cv2.rectangle(image, (x0, y0), (x1, y1), tuple(float(v) for v in rng.uniform(30, 230, size=3)), -1)
    fine = rng.normal(0, 4, size=(h, w, 1)).astype(np.float32)
    return np.clip(image + fine, 0, 255).astype(np.float32)


class ClipRenderer:
    """Draws the frames of one clip, deterministically, in order."""

    def __init__(self, clip: ClipSpec) -> None:
        self.clip = clip
        self.table = clip_frame_table(clip)
        self._static = build_static_face(clip.subject, clip.key_light, np.random.default_rng([clip.seed, 5]))
        self._background = background(clip)
        if clip.second_face is not None:
            self._add_second_face(clip.second_face)
        h, w = clip.height, clip.width
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        gx, gy = clip.light_gradient
        self._light = (clip.light_level * (1 + gx * (2 * xx / w - 1) + gy * (2 * yy / h - 1)))[..., None]
        occluder_rng = np.random.default_rng([clip.seed, 6])
        self._occluder_colour = tuple(float(v) for v in occluder_rng.uniform(30, 230, size=3))

    def _add_second_face(self, second: SubjectSpec) -> None:
        clip = self.clip
        static = build_static_face(second, (0.3, -0.5), np.random.default_rng([clip.seed, 7]))
        x, y, width = clip.second_face_at
        matrix = _canvas_to_frame(0.0, width, (x, y), static.geometry.a)
        self._composite(self._background, draw_face(static, {}, 0.0), static.alpha, matrix)

    def _composite(self, target: np.ndarray, face: np.ndarray, alpha: np.ndarray, matrix: np.ndarray) -> None:
        size = (self.clip.width, self.clip.height)
        warped = cv2.warpAffine(face, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        weight = cv2.warpAffine(alpha, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        target *= 1 - weight
        target += warped * weight

    def frames(self) -> Iterator[np.ndarray]:
        """Yield each frame as (H, W, 3) uint8 BGR."""
        for i in range(self.clip.n_frames):
            yield self.render(i)

    def render(self, i: int) -> np.ndarray:
        """Frame `i` as (H, W, 3) uint8 BGR."""
        clip, row = self.clip, self.table.iloc[i]
        frame = self._background.copy()
        if row["absence"] != "away":
            aus = {unit: row[unit] for unit in self.clip.au_peaks}
            aus["AU45"] = row["AU45"]
            face = draw_face(self._static, aus, row["yaw"])
            matrix = _canvas_to_frame(row["roll"], row["_face_px"], (row["_cx"], row["_cy"]), self._static.geometry.a)
            self._composite(frame, face, self._static.alpha, matrix)
        if row["absence"] == "occluded":
            x, y, w, h = row["face_x"], row["face_y"], row["face_w"], row["face_h"]
            cv2.ellipse(
                frame, (int(x + w / 2), int(y + h / 2)), (int(w * 0.75), int(h * 0.8)), 0, 0, 360, self._occluder_colour, -1, cv2.LINE_AA
            )
        frame *= self._light
        if clip.blur_sigma > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), clip.blur_sigma)
        noise = np.random.default_rng([clip.seed, 8, i]).normal(0, clip.noise_sigma, size=frame.shape[:2])
        frame += noise[..., None].astype(np.float32)
        image = np.clip(frame, 0, 255).astype(np.uint8)
        if clip.jpeg_quality > 0:
            ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, clip.jpeg_quality])
            image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        return image

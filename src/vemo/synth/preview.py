"""A contact sheet of subjects x emotions at apex, for a person to look at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vemo.io.files import write_image_atomic
from vemo.synth.action_units import EMOTIONS
from vemo.synth.plan import CorpusPlan
from vemo.synth.scene import ClipRenderer

CELL = 112
MAX_SUBJECTS = 16


def contact_sheet(plan: CorpusPlan, path: Path | str) -> np.ndarray:
    """Write (and return) a grid: one row per subject (first 16), one column per emotion.

    Each cell is the apex frame of the subject's first clip of that emotion, cropped around
    the face; a grey cell means the subject has no clip of that emotion.
    """
    header = np.full((28, CELL * len(EMOTIONS) + 64, 3), 255, np.uint8)
    for j, emotion in enumerate(EMOTIONS):
        cv2.putText(header, emotion, (64 + j * CELL + 6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    rows = [header]
    for subject in plan.subjects[:MAX_SUBJECTS]:
        row = [np.full((CELL, 64, 3), 255, np.uint8)]
        cv2.putText(row[0], subject.subject_id, (4, CELL // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(
            row[0], f"{subject.sex} s{subject.skin_group}", (4, CELL // 2 + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (80, 80, 80), 1, cv2.LINE_AA
        )
        for emotion in EMOTIONS:
            clip = next((c for c in plan.clips if c.subject is subject and c.emotion == emotion), None)
            row.append(_apex_cell(clip) if clip else np.full((CELL, CELL, 3), 200, np.uint8))
        rows.append(np.hstack(row))
    sheet = np.vstack(rows)
    write_image_atomic(path, sheet)
    return sheet


def _apex_cell(clip) -> np.ndarray:
    renderer = ClipRenderer(clip)
    visible = renderer.table.index[renderer.table["face_present"]].to_numpy()
    index = int(visible[np.argmin(np.abs(visible - clip.apex))]) if visible.size else clip.apex
    frame = renderer.render(index)
    row = renderer.table.iloc[index]
    side = row.face_w * 1.5
    x0 = int(np.clip(row.face_x + row.face_w / 2 - side / 2, 0, max(0, clip.width - side)))
    y0 = int(np.clip(row.face_y + row.face_h / 2 - side / 2, 0, max(0, clip.height - side)))
    crop = frame[y0 : y0 + int(side), x0 : x0 + int(side)]
    return cv2.resize(crop, (CELL, CELL), interpolation=cv2.INTER_AREA)

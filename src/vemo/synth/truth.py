"""How well a workspace's crops match what a synthetic corpus knows: the true eye positions.

A crop is good when the subject's true eyes land where the crop recipe puts them; the distance
(in crop pixels) of the worse eye from its canonical place measures the alignment, whichever
detector and alignment made the crop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vemo.faces.align import CANONICAL_EYES, EyePair, box_transform, crop_matrix
from vemo.faces.detect import LANDMARKS, FaceBox
from vemo.faces.recipe import CropRecipe
from vemo.io.workspace import read_crop_recipe


def crop_transform(row, size: int, five_points: bool = True) -> np.ndarray:
    """The 2x3 frame-to-crop matrix a faces.csv row's crop was made with (`five_points`: the
    workspace's crop recipe fitted its crops to all five landmarks, as MTCNN's does)."""
    if not row.aligned:
        return box_transform(FaceBox(row.x, row.y, row.w, row.h), size)
    landmarks = None
    if not np.isnan(getattr(row, "nose_x", np.nan)):  # five landmarks (the CNN detectors)
        landmarks = tuple((getattr(row, f"{part}_x"), getattr(row, f"{part}_y")) for part in LANDMARKS)
    eyes = EyePair((row.left_eye_x, row.left_eye_y), (row.right_eye_x, row.right_eye_y))
    return crop_matrix(FaceBox(row.x, row.y, row.w, row.h, landmarks), eyes, size, five_points)


def eye_errors(workspace: Path, corpus: Path, size: int = 227) -> pd.DataFrame:
    """Per crop of a face that is really there: the worse true eye's distance (crop pixels) from
    its canonical place, whether the crop was aligned, and the head's roll."""
    faces = pd.read_csv(workspace / "faces.csv")
    truth = pd.read_csv(corpus / "frames.csv")
    rows = faces.merge(truth, left_on=["source_id", "frame"], right_on=["clip_id", "frame"], suffixes=("", "_true"))
    rows = rows[rows["face_present"]]
    recorded = read_crop_recipe(workspace)
    five_points = CropRecipe.from_json(recorded).five_points if recorded else False
    errors = []
    for row in rows.itertuples():
        true_eyes = np.array([[row.left_eye_x_true, row.left_eye_y_true, 1], [row.right_eye_x_true, row.right_eye_y_true, 1]])
        errors.append(np.linalg.norm(true_eyes @ crop_transform(row, size, five_points).T - CANONICAL_EYES * size, axis=1).max())
    return pd.DataFrame({"error": errors, "aligned": rows["aligned"].to_numpy(), "roll": rows["roll"].abs().to_numpy()})

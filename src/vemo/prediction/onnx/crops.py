"""Real face crops to prove an export on: a workspace's stored crops, or the faces the model's
own crop recipe finds in photos and videos, in the model's input shape."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from vemo.errors import VemoError
from vemo.io.media import find_inputs, open_media
from vemo.io.workspace import FACES, read_faces
from vemo.models.inputs import crop_to_array
from vemo.prediction.predictor import Predictor
from vemo.weights import face_pipeline

MAX_CROPS = 512  # half calibrates an int8 file, half checks it: a few hundred where the inputs have them
FRAMES_PER_VIDEO = 512  # spread over the whole video


def check_crops(predictor: Predictor, sources: Iterable[Path], limit: int = MAX_CROPS) -> tuple[np.ndarray, list[str]]:
    """Up to `limit` uint8 (N, C, H, W) crops from workspaces, photos, videos or folders of them,
    spread evenly over each source; and a line per source that gave none (and why)."""
    crops: list[np.ndarray] = []
    problems: list[str] = []
    for source in sources:
        try:
            found = _workspace_crops(predictor, source) if (source / FACES).is_file() else _media_crops(predictor, source)
        except (VemoError, OSError) as error:
            problems.append(f"{source}: {error}")
            continue
        if not found:
            problems.append(f"{source}: no face found")
        crops += found
    step = max(1, len(crops) // limit)
    kept = crops[::step][:limit]
    shape = (3 if predictor.preprocess.color == "rgb" else 1, predictor.preprocess.size, predictor.preprocess.size)
    return (np.stack(kept) if kept else np.zeros((0, *shape), np.uint8)), problems


def _workspace_crops(predictor: Predictor, workspace: Path) -> list[np.ndarray]:
    paths = read_faces(workspace)["crop_path"].astype(str).tolist()
    step = max(1, len(paths) // MAX_CROPS)
    images = (cv2.imread(str(workspace / path)) for path in paths[::step])
    return [crop_to_array(image, predictor.preprocess.spec) for image in images if image is not None]


def _media_crops(predictor: Predictor, source: Path) -> list[np.ndarray]:
    candidates, unmatched = find_inputs([str(source)])
    if unmatched:
        raise VemoError("no such file or folder")
    crops = []
    for path in candidates:
        media = open_media(path)
        every = max(1, media.info.frame_count // FRAMES_PER_VIDEO) if media.is_video else 1
        pipeline = face_pipeline(predictor.crop_recipe)
        crops += [
            crop_to_array(face.crop, predictor.preprocess.spec) for _, faces in pipeline.run(media.frames(every=every)) for face in faces
        ]
    return crops

"""One model scored on labelled data: every decision it makes, at frame level and clip level.

Media go through the model's own crop recipe and `vemo predict`'s face pipeline
(`predict_media`): an image gives one decision per face, labelled with the image's label; a
clip gives one decision per analysed frame with its main face (inside `start`..`end` when the
data says so) and one for the clip, as `vemo predict` aggregates (the mean of the smoothed
probabilities). A workspace's crops are classified as they are, one decision per crop, and one
per source clip (the mean of its crops' probabilities). Inputs without a face are counted and
listed, never silently dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from vemo.engine import thread_pool
from vemo.errors import VemoError
from vemo.faces.recipe import CropRecipe
from vemo.io.media import open_media
from vemo.models.inputs import crop_to_array
from vemo.prediction import PredictConfig, Predictor, load_predictor
from vemo.prediction.media import predict_loaded
from vemo.prediction.predictor import choose_classes
from vemo.prediction.scan import one_thread_per_worker
from vemo.scoring.classes import ClassMatch, match_classes
from vemo.scoring.data import LabelledCrops, LabelledMedia

log = logging.getLogger(__name__)
DECISION_COLUMNS = ["item", "source", "true", "predicted", "confidence", "subject", "frame", "time_s", "x", "y", "w", "h"]


@dataclass(frozen=True)
class ModelDecisions:
    """What one model decided on the data: `frames` (a row per face decision), `clips` (a row per
    clip; empty for images and crops without a source), the classes, and what could not be scored."""

    model: str
    corpus: dict
    crop_recipe: dict
    classes: ClassMatch
    frames: pd.DataFrame
    clips: pd.DataFrame
    no_face: list[str]
    failed: list[tuple[str, str]]
    left_out: int  # items whose label the model does not predict


def score_model(
    model: str, data: list[LabelledMedia] | LabelledCrops, mapping: dict[str, str], config: PredictConfig, progress: bool = False
) -> ModelDecisions:
    """Raises CheckpointError, ConfigError, WeightsError: an unusable model or class match."""
    predictor = load_predictor(model, **config.loading())
    labels = set(data.labels) if isinstance(data, LabelledCrops) else {item.label for item in data}
    match = match_classes(predictor.model_classes, labels, mapping)
    predictor = dataclasses.replace(predictor, classes=choose_classes(predictor.model_classes, ",".join(match.shared), False))
    if isinstance(data, LabelledCrops):
        frames, clips, left_out = _score_crops(predictor, data, match)
        no_face: list[str] = []
        failed: list[tuple[str, str]] = []
    else:
        frames, clips, no_face, failed, left_out = _score_media(predictor, data, match, config, progress)
    return ModelDecisions(
        predictor.description, predictor.corpus, predictor.crop_recipe.to_json(), match, frames, clips, no_face, failed, left_out
    )


@dataclass(frozen=True)
class _Outcome:
    """One input scored: its frame rows and clip row, or that it had no face, or why it failed."""

    frames: pd.DataFrame | None = None
    clip: pd.DataFrame | None = None
    no_face: str = ""
    failure: tuple[str, str] | None = None


def _score_media(
    predictor: Predictor, items: list[LabelledMedia], match: ClassMatch, config: PredictConfig, progress: bool
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[tuple[str, str]], int]:
    """Every input with a label the model predicts, side by side on the cores (one thread each,
    as `vemo predict` runs short inputs), in the data's order."""
    kept = [(number, item) for number, item in enumerate(items) if item.label in match.mapping]
    one_each = dataclasses.replace(config, workers=1)
    with one_thread_per_worker(predictor.crop_recipe):
        pool = thread_pool(os.cpu_count() or 1, "vemo-score")
        futures = [pool.submit(_score_one, predictor, number, item, match.mapping[item.label], one_each) for number, item in kept]
        outcomes = [future.result() for future in tqdm(futures, desc="scoring", unit="input", disable=not progress)]
    frames = [o.frames for o in outcomes if o.frames is not None]
    clips = [o.clip for o in outcomes if o.clip is not None]
    no_face = [o.no_face for o in outcomes if o.no_face]
    failed = [o.failure for o in outcomes if o.failure is not None]
    return _table(frames), _table(clips), no_face, failed, len(items) - len(kept)


def _score_one(predictor: Predictor, number: int, item: LabelledMedia, true: str, config: PredictConfig) -> _Outcome:
    try:
        media = open_media(item.path)
        verdict, table = predict_loaded(media, predictor, dataclasses.replace(config, all_faces=not media.is_video))
    except (VemoError, OSError) as error:
        return _Outcome(failure=(str(item.path), str(error)))
    decided = _in_window(table, item) if media.is_video else table
    decided = decided[decided["face_found"].astype(bool)]
    if media.is_video:  # the clip's main face: the one its verdict is about
        decided = decided[decided["track"] == verdict.track]
    if not len(decided):
        return _Outcome(no_face=str(item.path))
    clip = _clip_row(decided, number, item, true, predictor.classes) if media.is_video else None
    return _Outcome(_frame_rows(decided, number, item, true, predictor.classes), clip)


def _in_window(table: pd.DataFrame, item: LabelledMedia) -> pd.DataFrame:
    start = item.start if item.start is not None else -np.inf
    end = item.end if item.end is not None else np.inf
    return table[(table["time_s"] >= start) & (table["time_s"] <= end)]


def _frame_rows(decided: pd.DataFrame, number: int, item: LabelledMedia, true: str, classes: tuple[str, ...]) -> pd.DataFrame:
    probabilities = decided[list(classes)].to_numpy(dtype=float)
    rows = pd.DataFrame(
        {
            "item": number,
            "source": str(item.path),
            "true": true,
            "predicted": np.array(classes, dtype=object)[probabilities.argmax(axis=1)],
            "confidence": probabilities.max(axis=1).round(4),
            "subject": item.subject,
            "frame": decided["frame"].to_numpy(),
            "time_s": decided["time_s"].to_numpy(),
        }
    )
    for name in ("x", "y", "w", "h"):
        rows[name] = decided[name].to_numpy()
    return rows


def _clip_row(decided: pd.DataFrame, number: int, item: LabelledMedia, true: str, classes: tuple[str, ...]) -> pd.DataFrame:
    """The clip's decision as `vemo predict` aggregates: the mean of the smoothed probabilities."""
    mean = decided[[f"{c}_smoothed" for c in classes]].to_numpy(dtype=float).mean(axis=0)
    best = int(mean.argmax())
    row = {"item": number, "source": str(item.path), "true": true, "predicted": classes[best], "confidence": round(float(mean[best]), 4)}
    return pd.DataFrame([{**row, "subject": item.subject, "frames": len(decided)}])


def _score_crops(predictor: Predictor, data: LabelledCrops, match: ClassMatch) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The workspace's crops through the network as they are (they were cut already)."""
    if data.crop_recipe and CropRecipe.from_json(data.crop_recipe).to_json() != predictor.crop_recipe.to_json():
        log.warning(
            "%s was cut with another crop recipe than %s expects: its crops are scored as they are", data.workspace, predictor.description
        )
    table = data.table[data.table["label"].isin(list(match.mapping))].reset_index(drop=True)
    spec = predictor.preprocess.spec
    probabilities = []
    for start in range(0, len(table), 256):
        crops = []
        for path in table["crop_path"].iloc[start : start + 256]:
            image = cv2.imread(str(data.workspace / path))
            if image is None:
                raise VemoError(f"{data.workspace / path}: a labelled crop that cannot be read")
            crops.append(crop_to_array(image, spec))
        probabilities.append(predictor.probabilities(np.stack(crops)))
    scores = np.concatenate(probabilities) if probabilities else np.zeros((0, len(predictor.classes)))
    classes = np.array(predictor.classes, dtype=object)
    frames = pd.DataFrame(
        {
            "item": np.arange(len(table)),
            "source": [str(data.workspace / path) for path in table["crop_path"]],
            "true": table["label"].map(match.mapping),
            "predicted": classes[scores.argmax(axis=1)] if len(scores) else [],
            "confidence": scores.max(axis=1).round(4) if len(scores) else [],
            "subject": table["subject"],
            "clip": table["source_id"].astype(str),
        }
    )
    clips = []
    for clip, rows in frames.groupby("clip", sort=True):
        mean = scores[rows.index].mean(axis=0)
        clips.append(
            {
                "source": clip,
                "true": rows["true"].mode().iloc[0],
                "predicted": classes[int(mean.argmax())],
                "confidence": round(float(mean.max()), 4),
                "subject": rows["subject"].iloc[0],
                "frames": len(rows),
            }
        )
    return frames, pd.DataFrame(clips), int(len(data.table) - len(table))


def _table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=DECISION_COLUMNS)

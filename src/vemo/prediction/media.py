"""Stage 5 of the paper: the emotion of a new video, with a probability per frame.

The video is decoded once; each frame goes through the face pipeline of `vemo extract` with the
crop recipe the model was trained on (detector, alignment, crop size), and the crop through the
same resize and input spec as the model's training, so the model sees the kind of face it
was trained on. Crops go through the model in
batches. Per track (the largest face by default; every face with `all_faces`), the per-frame
probabilities are smoothed over time (a centred moving average over the frames with a face),
the track's label is the mean of the smoothed probabilities over those frames, and segments
are the runs of one most likely emotion. The video's label is that of its main track: the one
seen in the most frames.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vemo.faces.detect import LANDMARKS
from vemo.io.media import MediaSource, open_media
from vemo.prediction.config import PredictConfig
from vemo.prediction.loader import predictor_for
from vemo.prediction.overlay import AnnotatedVideoWriter
from vemo.prediction.predictor import Predictor
from vemo.prediction.reference import DEFAULT_MODEL
from vemo.prediction.scan import Scan, scan
from vemo.prediction.smoothing import smooth_probabilities

log = logging.getLogger(__name__)

AGGREGATION = (
    "mean over the frames with a face of the softmax probabilities (restricted to the reported classes "
    "and renormalised), after a centred moving average over {smooth} s"
)


@dataclass(frozen=True)
class VideoPrediction:
    """The verdict on one input (its main track), with one summary per track."""

    source: str
    label: str | None
    probabilities: dict[str, float]
    frames: int
    face_frames: int
    aggregation: str
    model: str
    corpus_of_model: dict
    face_share: float = 0.0
    smooth_seconds: float = 0.0
    segments: tuple[dict, ...] = ()
    track: int = 0
    tracks: tuple[dict, ...] = ()
    crop_recipe: dict = field(default_factory=dict)
    device: str = ""  # where the network ran
    device_reason: str = ""  # why there (`--device auto` chooses by the work)
    runtime: str = ""  # what ran the network: "torch" or "onnxruntime"
    config: dict = field(default_factory=dict)  # the PredictConfig it was made with (`outcome_json`)


def find_segments(times: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> list[dict]:
    """Runs of consecutive frames with a face and the same most likely emotion."""
    segments: list[dict] = []
    current: dict | None = None
    for time_s, p in zip(times, probabilities):
        label = None if np.isnan(p).any() else classes[int(np.argmax(p))]
        if current is not None and label is not None and label == current["emotion"]:
            current["end_s"] = float(time_s)
            current["_p"].append(float(p[classes.index(label)]))
            continue
        if current is not None:
            segments.append(current)
        current = (
            None
            if label is None
            else {"start_s": float(time_s), "end_s": float(time_s), "emotion": label, "_p": [float(p[classes.index(label)])]}
        )
    if current is not None:
        segments.append(current)
    return [
        {
            "start_s": round(s["start_s"], 3),
            "end_s": round(s["end_s"], 3),
            "emotion": s["emotion"],
            "mean_probability": round(float(np.mean(s["_p"])), 4),
        }
        for s in segments
    ]


def _window(smooth: float, analysed_fps: float) -> int:
    """The smoothing window in analysed frames."""
    return max(1, int(round(smooth * analysed_fps)))


def _track_table(result: Scan, track: int, classes: list[str], window: int) -> pd.DataFrame:
    """One row per analysed frame for one track, aligned with video time."""
    count = len(result.frames)
    mine = result.faces[:, 1] == track
    positions = result.faces[mine, 0].astype(np.int64)
    found = np.zeros(count, bool)
    found[positions] = True
    boxes = np.full((count, 4), np.nan)
    boxes[positions] = result.faces[mine, 2:6]
    per_frame = np.full((count, len(classes)), np.nan)
    per_frame[positions] = result.probabilities[mine]
    if result.smoothed is None:
        smoothed = smooth_probabilities(per_frame, window)
    else:  # smoothed as the frames came (live): kept as shown
        smoothed = np.full((count, len(classes)), np.nan)
        smoothed[positions] = result.smoothed[mine]
    columns: dict[str, object] = {
        "track": np.full(count, track),
        "frame": result.frames[:, 0].astype(np.int64),
        "time_s": result.frames[:, 1],
        "face_found": found,
    }
    columns.update({name: boxes[:, i] for i, name in enumerate(("x", "y", "w", "h"))})
    if not np.isnan(result.faces[:, 6:]).all():  # MTCNN's five points, as in faces.csv
        landmarks = np.full((count, 2 * len(LANDMARKS)), np.nan)
        landmarks[positions] = result.faces[mine, 6:]
        names = [f"{part}_{axis}" for part in LANDMARKS for axis in "xy"]
        columns.update({name: landmarks[:, i].round(2) for i, name in enumerate(names)})
    columns.update({name: per_frame[:, i].round(5) for i, name in enumerate(classes)})
    labels = np.full(count, "", dtype=object)
    if found.any():
        labels[found] = np.array(classes, dtype=object)[per_frame[found].argmax(axis=1)]
    columns["label"] = labels
    columns.update({f"{name}_smoothed": smoothed[:, i].round(5) for i, name in enumerate(classes)})
    return pd.DataFrame(columns)


def _track_summary(table: pd.DataFrame, classes: list[str]) -> dict:
    found = table["face_found"].to_numpy()
    smoothed = table[[f"{c}_smoothed" for c in classes]].to_numpy(dtype=float)
    mean = smoothed[found].mean(axis=0) if found.any() else np.full(len(classes), np.nan)
    faces = table[found]
    return {
        "track": int(table["track"].iloc[0]),
        "label": classes[int(np.argmax(mean))] if found.any() else None,
        "probabilities": {c: round(float(v), 5) for c, v in zip(classes, mean)},
        "face_frames": int(found.sum()),
        "face_share": round(float(found.mean()) if len(found) else 0.0, 4),
        "first_s": float(faces["time_s"].min()) if len(faces) else None,
        "last_s": float(faces["time_s"].max()) if len(faces) else None,
        "segments": find_segments(table["time_s"].to_numpy(), smoothed, classes),
    }


def predict_media(
    path: Path | str | MediaSource,
    model: str | Path | Predictor = DEFAULT_MODEL,
    config: PredictConfig | None = None,
    *,
    annotated_video: Path | None = None,
    **options: Any,
) -> tuple[VideoPrediction, pd.DataFrame]:
    """Per-frame probabilities and the overall label of one video or image, in memory (the
    library's `vemo.predict_media`; `vemo.predict` writes a folder as `vemo predict` does).

    Args:
        path: a video or image file, or one already opened (`vemo.io.media.open_media`).
        model: a run folder, "pretrained:NAME", FILE.onnx, or a loaded `Predictor` (by default the
            pretrained FER2013 model, as `vemo predict`).
        config: how to predict (`PredictConfig`; its `annotate` and `engine` are the folder's).
        annotated_video: for a video, also draw the boxes, smoothed labels and bars into this
            file, during the one decoding pass.
        options: fields of `PredictConfig` replacing the config's (`every=2`, `all_faces=True`).

    Returns:
        (the verdict, one row per analysed frame and track: track, frame, time_s, face_found,
        x, y, w, h, one probability column per class, label, and smoothed probabilities).
        Frames without a face keep their rows with NaNs, so the table follows video time.

    Raises:
        VideoOpenError: unreadable input.
        CheckpointError, ConfigError, WeightsError: an unusable model or config.
    """
    config = PredictConfig.with_options(config, options)
    predictor = predictor_for(model, config)
    return predict_loaded(path, predictor, config, annotated_video=annotated_video)


def predict_loaded(
    path: Path | str | MediaSource, predictor: Predictor, config: PredictConfig, *, annotated_video: Path | None = None
) -> tuple[VideoPrediction, pd.DataFrame]:
    """`predict_media` with the predictor `config` asked for already loaded (a folder loads it once)."""
    names = list(predictor.classes)
    media = path if isinstance(path, MediaSource) else open_media(path)
    window = _window(config.smooth, media.fps / config.every if media.is_video else 1.0)
    workers = config.workers or os.cpu_count() or 1
    settings = (config.every, config.all_faces, workers, config.batch_size)
    if annotated_video is not None and media.is_video:
        with AnnotatedVideoWriter(Path(annotated_video), media.fps / config.every, names, window, config.all_faces) as sink:
            found = scan(media, predictor, *settings, sink)
    else:
        found = scan(media, predictor, *settings)
    return summarise_scan(found, predictor, str(media.path), config.smooth, window, config=config)


def summarise_scan(
    found: Scan,
    predictor: Predictor,
    source: str,
    smooth: float,
    window: int,
    aggregation: str = AGGREGATION,
    config: PredictConfig | None = None,
) -> tuple[VideoPrediction, pd.DataFrame]:
    """The verdict and frames table of what a scan found (see `predict_media`); `window`: the
    centred smoothing window in analysed frames, for scans not smoothed as they streamed."""
    names = list(predictor.classes)
    track_ids = sorted({int(track) for track in found.faces[:, 1]}) or [0]
    tables = [_track_table(found, track, names, window) for track in track_ids]
    summaries = [_track_summary(table, names) for table in tables]
    main = max(summaries, key=lambda s: (s["face_frames"], -s["track"]))
    verdict = VideoPrediction(
        source=source,
        label=main["label"],
        probabilities=main["probabilities"],
        frames=len(found.frames),
        face_frames=main["face_frames"],
        aggregation=aggregation.format(smooth=smooth),
        model=predictor.description,
        corpus_of_model=predictor.corpus,
        face_share=main["face_share"],
        smooth_seconds=smooth,
        segments=tuple(main["segments"]),
        track=main["track"],
        tracks=tuple(summaries),
        crop_recipe=predictor.crop_recipe.to_json(),
        device=str(predictor.device),
        device_reason=predictor.device_reason,
        runtime=predictor.runtime,
        config=config.outcome_json() if config is not None else {},
    )
    if not len(found.faces):
        log.warning("no face found in %s", source)
    return verdict, tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)

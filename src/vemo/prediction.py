"""Stage 5 of the paper: the emotion of a new video, with a probability per frame.

The video is decoded once; each frame goes through the same detection, eye alignment and crop
as `vemo extract`, and the crop through the same resize and input recipe as training, so the
model sees the kind of face it was trained on. The video's label is the mean, over the frames
with a face, of the per-frame probabilities after temporal smoothing; segments are the runs of
one most likely emotion.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch

from vemo.checkpoint import load_run
from vemo.data.dataset import crop_to_array
from vemo.errors import VemoError
from vemo.extraction import ExtractConfig
from vemo.faces.align import EyeLocator, box_transform, similarity_from_eyes, warp_crop
from vemo.faces.detect import FaceTracker, HaarFaceDetector
from vemo.io.files import write_csv_atomic, write_json_atomic
from vemo.io.media import probe_media
from vemo.io.video import iter_video_frames, read_image_frame
from vemo.preprocess import Preprocess
from vemo.training import resolve_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoPrediction:
    """The verdict on one input."""

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


def smooth_probabilities(probabilities: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over `window` analysed frames; frames without a face stay NaN
    and do not count in their neighbours' averages."""
    if window <= 1:
        return probabilities
    frame = pd.DataFrame(probabilities)
    smoothed = frame.rolling(window, center=True, min_periods=1).mean().to_numpy(copy=True)
    smoothed[np.isnan(probabilities).any(axis=1)] = np.nan
    return smoothed


def find_segments(times: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> list[dict]:
    """Runs of consecutive frames with a face and the same most likely emotion."""
    segments: list[dict] = []
    current: dict | None = None
    for time_s, p in zip(times, probabilities):
        label = None if np.isnan(p).any() else classes[int(np.argmax(p))]
        if current is not None and label == current["emotion"]:
            current["end_s"] = float(time_s)
            current["_p"].append(float(p[classes.index(label)]))
            continue
        if current is not None:
            segments.append(current)
        current = None if label is None else {"start_s": float(time_s), "end_s": float(time_s), "emotion": label,
                                              "_p": [float(p[classes.index(label)])]}
    if current is not None:
        segments.append(current)
    return [{"start_s": round(s["start_s"], 3), "end_s": round(s["end_s"], 3), "emotion": s["emotion"],
             "mean_probability": round(float(np.mean(s["_p"])), 4)} for s in segments]


def predict_media(path: Path | str, run_dir: Path | str, *, every: int = 1, device: str = "auto",
                  batch_size: int = 64, smooth: float = 0.5) -> tuple[VideoPrediction, pd.DataFrame]:
    """Per-frame probabilities and the overall label of a video or image.

    Per-frame probabilities are smoothed over `smooth` seconds (centred moving average over the
    frames with a face); the label is the mean of the smoothed probabilities over those frames,
    and segments are the runs of one most likely emotion.

    Returns:
        (the verdict, one row per analysed frame: frame, time_s, face_found, x, y, w, h, one
        probability column per class, label). Frames without a face keep a row with NaNs.

    Raises:
        VideoOpenError: unreadable input.
        CheckpointError: unusable run folder.
    """
    torch_device = resolve_device(device)
    model, config = load_run(run_dir, torch_device)
    preprocess = Preprocess.from_json(config["input"])
    classes = config["classes"]
    info = probe_media(path)
    extract_config = ExtractConfig()
    tracker = FaceTracker(HaarFaceDetector(extract_config.detector))
    eyes = EyeLocator()
    frames = [read_image_frame(path)] if info.kind == "image" else iter_video_frames(path, info.fps, every=every)
    rows, crops = [], []
    for frame in frames:
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        boxes = tracker(gray)
        row = {"frame": frame.index, "time_s": round(frame.time_s, 4), "face_found": bool(boxes)}
        if boxes:
            box = boxes[0]
            pair = eyes.locate(gray, box)
            size = extract_config.crop_size
            matrix = similarity_from_eyes(pair, size) if pair else box_transform(box, size)
            crops.append(crop_to_array(warp_crop(frame.image, matrix, size), preprocess.spec))
            row.update(x=box.x, y=box.y, w=box.w, h=box.h)
        rows.append(row)
    table = pd.DataFrame(rows, columns=["frame", "time_s", "face_found", "x", "y", "w", "h"])
    probabilities = np.full((len(table), len(classes)), np.nan)
    if crops:
        images = torch.from_numpy(np.stack(crops))
        with torch.no_grad():
            outputs = [torch.softmax(model(preprocess(images[i : i + batch_size]).to(torch_device)).float(), 1).cpu()
                       for i in range(0, len(images), batch_size)]
        probabilities[table["face_found"].to_numpy()] = torch.cat(outputs).numpy()
    for i, name in enumerate(classes):
        table[name] = probabilities[:, i].round(5)
    found = table["face_found"].to_numpy()
    table["label"] = [classes[int(np.argmax(p))] if ok else "" for p, ok in zip(probabilities, found)]
    analysed_fps = (info.fps / every) if info.kind == "video" else 1.0
    smoothed = smooth_probabilities(probabilities, max(1, int(round(smooth * analysed_fps))))
    for i, name in enumerate(classes):
        table[f"{name}_smoothed"] = smoothed[:, i].round(5)
    mean = smoothed[found].mean(axis=0) if found.any() else np.full(len(classes), np.nan)
    verdict = VideoPrediction(
        source=str(path), label=classes[int(np.argmax(mean))] if found.any() else None,
        probabilities={c: round(float(v), 5) for c, v in zip(classes, mean)}, frames=len(table),
        face_frames=int(found.sum()),
        aggregation=f"mean over frames with a face of the softmax probabilities smoothed over {smooth} s",
        model=str(run_dir), corpus_of_model=config.get("corpus", {}),
        face_share=round(float(found.mean()) if len(found) else 0.0, 4), smooth_seconds=smooth,
        segments=tuple(find_segments(table["time_s"].to_numpy(), smoothed, classes)),
    )
    if not found.any():
        log.warning("no face found in %s", path)
    return verdict, table


def predict_to_folder(inputs: list[Path], run_dir: Path, out: Path, *, every: int = 1, device: str = "auto",
                      smooth: float = 0.5, annotate: bool = False) -> tuple[list[VideoPrediction], list[tuple[str, str]]]:
    """Predict several inputs; write OUT/<name>.frames.csv and OUT/<name>.json for each, and with
    `annotate` OUT/<name>.timeline.png and (videos) OUT/<name>.annotated.mp4.

    Returns the verdicts and the (path, reason) of inputs that failed; one bad input never
    stops the others.
    """
    verdicts, failures = [], []
    for path in inputs:
        try:
            verdict, table = predict_media(path, run_dir, every=every, device=device, smooth=smooth)
        except VemoError as error:
            failures.append((str(path), str(error)))
            continue
        stem = Path(path).stem
        write_csv_atomic(out / f"{stem}.frames.csv", table)
        write_json_atomic(out / f"{stem}.json", asdict(verdict))
        if annotate:
            from vemo.annotate import plot_timeline, write_annotated_video

            classes = list(verdict.probabilities)
            plot_timeline(table, classes, list(verdict.segments), out / f"{stem}.timeline.png",
                          title=f"{Path(path).name}: {verdict.label}")
            info = probe_media(path)
            if info.kind == "video":
                write_annotated_video(Path(path), info.fps, table, classes, out / f"{stem}.annotated.mp4")
        verdicts.append(verdict)
    return verdicts, failures

"""Stage 5 of the paper: the emotion of a new video, with a probability per frame.

The video is decoded once; each frame goes through the same detection, eye alignment and crop
as `vemo extract`, and the crop through the same resize and input recipe as the model's
training, so the model sees the kind of face it was trained on. Crops go through the model in
batches. Per track (the largest face by default; every face with `all_faces`), the per-frame
probabilities are smoothed over time (a centred moving average over the frames with a face),
the track's label is the mean of the smoothed probabilities over those frames, and segments
are the runs of one most likely emotion. The video's label is that of its main track: the one
seen in the most frames.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch

from vemo.data.dataset import crop_to_array
from vemo.errors import VemoError
from vemo.extraction import ExtractConfig
from vemo.faces.align import EyeLocator, aligned_crop
from vemo.faces.detect import FaceBox, FaceTracker, HaarFaceDetector
from vemo.faces.tracks import MultiFaceTracker
from vemo.io.files import write_csv_atomic, write_json_atomic
from vemo.io.media import probe_media
from vemo.io.video import iter_video_frames, read_image_frame
from vemo.predictor import Predictor, load_predictor
from vemo.training import resolve_device

log = logging.getLogger(__name__)

RUN_FRAMES = 20  # frames per unit of work for the threads: a multiple of the tracker's re-detection period (10)

AGGREGATION = ("mean over the frames with a face of the softmax probabilities (restricted to the reported classes "
               "and renormalised), after a centred moving average over {smooth} s")


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


@dataclass
class _Scan:
    """What one decoding pass found: the analysed frames, each face, and its probabilities."""

    frames: list[tuple[int, float]]  # (frame index, time in s)
    faces: list[tuple[int, int, FaceBox]]  # (position in frames, track id, box)
    probabilities: np.ndarray  # (len(faces), classes)
    fps: float
    kind: str


class _FaceReader:
    """Detection, eye alignment and the model's resize for a run of consecutive frames: the
    same code path as `vemo extract`. One per thread (OpenCV cascades are not shared)."""

    def __init__(self, all_faces: bool = False) -> None:
        self.config = ExtractConfig()
        detector = HaarFaceDetector(self.config.detector)
        self.single = FaceTracker(detector)
        self.multi = MultiFaceTracker(detector) if all_faces else None
        self.eyes = EyeLocator()

    def run(self, frames: list, predictor: Predictor, batch_size: int) -> tuple[
            list[tuple[int, float]], list[tuple[int, int, FaceBox]], list[np.ndarray]]:
        """(index, time) per frame, (position, track, box) per face, and the faces' probabilities.
        Each run starts with a full detection, as each range of `vemo extract` does."""
        self.single.reset()
        size = self.config.crop_size
        spec = predictor.preprocess.spec
        rows, faces, crops, probabilities = [], [], [], []
        for frame in frames:
            gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
            found = self.multi(gray) if self.multi else [(0, box) for box in self.single(gray)]
            for track, box in found:
                crop, _ = aligned_crop(frame.image, gray, box, self.eyes, size)
                crops.append(crop_to_array(crop, spec))
                faces.append((len(rows), track, box))
            rows.append((frame.index, round(frame.time_s, 4)))
            if len(crops) >= batch_size:
                probabilities.append(predictor.probabilities(np.stack(crops), batch_size))
                crops = []
        if crops:
            probabilities.append(predictor.probabilities(np.stack(crops), batch_size))
        return rows, faces, probabilities


_THREAD_STATE = threading.local()
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _thread_reader() -> _FaceReader:
    """This thread's reader, made once: the pool's threads live on, so the cascades are loaded
    once per thread, not once per video."""
    if not hasattr(_THREAD_STATE, "reader"):
        _THREAD_STATE.reader = _FaceReader()
    return _THREAD_STATE.reader


def _pool(workers: int) -> ThreadPoolExecutor:
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vemo-predict")
    return _POOLS[workers]


def _frame_runs(frames, length: int):
    """Consecutive frames in lists of `length`."""
    run = []
    for frame in frames:
        run.append(frame)
        if len(run) == length:
            yield run
            run = []
    if run:
        yield run


def _scan(path: Path | str, predictor: Predictor, every: int, all_faces: bool, workers: int, batch_size: int) -> _Scan:
    """Decode once (in this thread), and hand runs of consecutive frames to `workers` threads
    that detect, crop and classify them; OpenCV and torch release the GIL, so the threads use
    the cores. `all_faces` keeps one thread, so tracks are never cut."""
    info = probe_media(path)
    source = [read_image_frame(path)] if info.kind == "image" else iter_video_frames(path, info.fps, every=every)
    if all_faces or info.kind == "image":
        parts = [_FaceReader(all_faces).run(list(source), predictor, batch_size)]
    elif workers <= 1:  # the same runs as with threads, so the thread count never changes a result
        reader = _FaceReader()
        parts = [reader.run(run, predictor, batch_size) for run in _frame_runs(source, RUN_FRAMES)]
    else:
        # one core per thread: OpenCV's and torch's own thread pools would fight the workers
        previous = cv2.getNumThreads(), torch.get_num_threads()
        cv2.setNumThreads(1)
        torch.set_num_threads(1)
        try:
            pool = _pool(workers)
            pending: deque = deque()
            parts = []
            for run in _frame_runs(source, RUN_FRAMES):
                pending.append(pool.submit(lambda frames: _thread_reader().run(frames, predictor, batch_size), run))
                if len(pending) > 2 * workers:  # bounded: decoded frames never pile up in memory
                    parts.append(pending.popleft().result())
            parts += [future.result() for future in pending]
        finally:
            cv2.setNumThreads(previous[0])
            torch.set_num_threads(previous[1])
    frames, faces, probabilities = [], [], []
    for part_frames, part_faces, part_probabilities in parts:
        faces += [(position + len(frames), track, box) for position, track, box in part_faces]
        frames += part_frames
        probabilities += part_probabilities
    stacked = np.concatenate(probabilities) if probabilities else np.zeros((0, len(predictor.classes)))
    return _Scan(frames, faces, stacked, info.fps, info.kind)


def _track_table(scan: _Scan, track: int, classes: list[str], smooth: float, every: int) -> pd.DataFrame:
    """One row per analysed frame for one track, aligned with video time."""
    count = len(scan.frames)
    found = np.zeros(count, bool)
    boxes = np.full((count, 4), np.nan)
    per_frame = np.full((count, len(classes)), np.nan)
    for (position, face_track, box), p in zip(scan.faces, scan.probabilities):
        if face_track == track:
            found[position] = True
            boxes[position] = (box.x, box.y, box.w, box.h)
            per_frame[position] = p
    analysed_fps = scan.fps / every if scan.kind == "video" else 1.0
    smoothed = smooth_probabilities(per_frame, max(1, int(round(smooth * analysed_fps))))
    columns: dict[str, object] = {"track": np.full(count, track), "frame": [f for f, _ in scan.frames],
                                  "time_s": [t for _, t in scan.frames], "face_found": found}
    columns.update({name: boxes[:, i] for i, name in enumerate(("x", "y", "w", "h"))})
    columns.update({name: per_frame[:, i].round(5) for i, name in enumerate(classes)})
    best = per_frame[found].argmax(axis=1) if found.any() else np.zeros(0, int)
    labels = np.full(count, "", dtype=object)
    labels[found] = [classes[i] for i in best]
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


def predict_media(path: Path | str, model: str | Path | Predictor, *, every: int = 1, device: str = "auto",
                  smooth: float = 0.5, classes: str | None = None, all_faces: bool = False,
                  batch_size: int = 64, workers: int | None = None) -> tuple[VideoPrediction, pd.DataFrame]:
    """Per-frame probabilities and the overall label of a video or image.

    Args:
        model: a run folder, "pretrained:NAME", or a loaded `Predictor`.
        classes: which classes to report (see `vemo.predictor.choose_classes`).
        all_faces: every face, in tracks; otherwise the largest face of each frame.
        workers: threads detecting and classifying runs of frames (default: all cores).

    Returns:
        (the verdict, one row per analysed frame and track: track, frame, time_s, face_found,
        x, y, w, h, one probability column per class, label, and smoothed probabilities).
        Frames without a face keep their rows with NaNs, so the table follows video time.

    Raises:
        VideoOpenError: unreadable input.
        CheckpointError, ConfigError, WeightsError: an unusable model.
    """
    predictor = model if isinstance(model, Predictor) else load_predictor(model, resolve_device(device), classes)
    names = list(predictor.classes)
    scan = _scan(path, predictor, every, all_faces, workers or os.cpu_count() or 1, batch_size)
    track_ids = sorted({track for _, track, _ in scan.faces}) or [0]
    tables = [_track_table(scan, track, names, smooth, every) for track in track_ids]
    summaries = [_track_summary(table, names) for table in tables]
    main = max(summaries, key=lambda s: (s["face_frames"], -s["track"]))
    verdict = VideoPrediction(
        source=str(path), label=main["label"], probabilities=main["probabilities"], frames=len(scan.frames),
        face_frames=main["face_frames"], aggregation=AGGREGATION.format(smooth=smooth), model=predictor.description,
        corpus_of_model=predictor.corpus, face_share=main["face_share"], smooth_seconds=smooth,
        segments=tuple(main["segments"]), track=main["track"], tracks=tuple(summaries),
    )
    if not scan.faces:
        log.warning("no face found in %s", path)
    return verdict, pd.concat(tables, ignore_index=True)


def predict_to_folder(inputs: list[Path], model: str | Path, out: Path, *, every: int = 1, device: str = "auto",
                      smooth: float = 0.5, annotate: bool = False, classes: str | None = None,
                      all_faces: bool = False) -> tuple[list[VideoPrediction], list[tuple[str, str]]]:
    """Predict several inputs; write OUT/<name>.frames.csv and OUT/<name>.json for each, and with
    `annotate` a timeline PNG per track and OUT/<name>.annotated.mp4 (videos) or .annotated.png (images).

    Returns the verdicts and the (path, reason) of inputs that failed; one bad input never
    stops the others.

    Raises:
        CheckpointError, ConfigError, WeightsError: an unusable model (before any input is read).
    """
    predictor = load_predictor(model, resolve_device(device), classes)
    verdicts, failures = [], []
    for path in inputs:
        try:
            verdict, table = predict_media(path, predictor, every=every, smooth=smooth, all_faces=all_faces)
        except VemoError as error:
            failures.append((str(path), str(error)))
            continue
        stem = Path(path).stem
        write_csv_atomic(out / f"{stem}.frames.csv", table)
        write_json_atomic(out / f"{stem}.json", asdict(verdict))
        if annotate:
            _annotate(Path(path), verdict, table, out / stem)
        verdicts.append(verdict)
    return verdicts, failures


def _annotate(path: Path, verdict: VideoPrediction, table: pd.DataFrame, stem: Path) -> None:
    from vemo.annotate import plot_timeline, write_annotated_image, write_annotated_video

    classes = list(verdict.probabilities)
    for summary in verdict.tracks:
        track_table = table[table["track"] == summary["track"]]
        suffix = "" if len(verdict.tracks) == 1 else f".track{summary['track']}"
        plot_timeline(track_table, classes, summary["segments"], Path(f"{stem}{suffix}.timeline.png"),
                      title=f"{path.name}{' track ' + str(summary['track']) if suffix else ''}: {summary['label']}")
    info = probe_media(path)
    if info.kind == "video":
        write_annotated_video(path, info.fps, table, classes, Path(f"{stem}.annotated.mp4"), main_track=verdict.track)
    else:
        write_annotated_image(path, table, classes, Path(f"{stem}.annotated.png"), main_track=verdict.track)

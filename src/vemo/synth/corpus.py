"""Renders a planned corpus to disk: videos, tables, preview, and a detection check.

Each clip is rendered by one worker process and written under a temporary name, then
renamed; a clip counts as finished only when its video and its state file both exist, so
re-running into the same folder skips finished clips and redoes interrupted ones.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from vemo import __version__
from vemo.engine import default_workers, pending, run_units
from vemo.errors import OutputError, WeightsError
from vemo.faces.detect import DetectorSettings, load_cascade
from vemo.faces.mtcnn_detector import MTCNNFaceDetector
from vemo.faces.recipe import CropRecipe
from vemo.io.files import atomic_path, clean_partial_files, ensure_writable_dir, write_csv_atomic, write_json_atomic
from vemo.synth.action_units import EMOTION_ACTION_UNITS, EMOTIONS
from vemo.synth.plan import ClipSpec, CorpusPlan
from vemo.synth.preview import contact_sheet
from vemo.synth.scene import ClipRenderer, clip_frame_table
from vemo.weights import load_mtcnn, prepare_detector

log = logging.getLogger(__name__)

SYNTHETIC_STATEMENT = (
    "This corpus is synthetic: drawn faces rendered by vemo.synth, not recordings of people. "
    "No figure measured on it is a real-world result."
)
DETECTION_EVERY = 8  # the render-time detection check looks at every 8th frame with a face
MTCNN_CHECK = (
    "vemo's MTCNN (facenet-pytorch weights), thresholds 0.6/0.7/0.7, min size 30, full frames, on "
    "the same frames as Haar's check; found = a detection centred in the true box with a width "
    "within 0.5x-2x"
)
STATE_DIR = ".synth-state"


@dataclass(frozen=True)
class CorpusResult:
    """What `generate_corpus` made."""

    out: Path
    clips_rendered: int
    clips_skipped: int
    frames: int
    seconds: float
    detection_rate: float  # Haar's, on every DETECTION_EVERY-th frame with a face
    mtcnn_detection_rate: float | None = None  # MTCNN's on the same frames; None when not measured


def _haar() -> cv2.CascadeClassifier:
    return load_cascade("haarcascade_frontalface_default.xml")


def face_found(detections: Sequence[Sequence[float]] | np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """True when one detection is centred inside the true box and of a similar size."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    return any(abs(dx + dw / 2 - cx) < w / 2 and abs(dy + dh / 2 - cy) < h / 2 and 0.5 < dw / w < 2.0 for dx, dy, dw, dh in detections)


def _mtcnn_check() -> MTCNNFaceDetector:
    """MTCNN as the render-time check runs it: full frames, the same minimum face as Haar's check."""
    return MTCNNFaceDetector(load_mtcnn(), DetectorSettings(min_size=30, detect_width=0))


def render_clip(clip: ClipSpec, out: Path, check_mtcnn: bool = False) -> dict:
    """Render one clip to `out/videos/<clip_id>.mp4` and return its detection tallies (Haar's,
    and MTCNN's with `check_mtcnn`)."""
    cv2.setNumThreads(1)
    if multiprocessing.parent_process() is not None:  # a worker process: one core each, for torch too
        torch.set_num_threads(1)
    renderer = ClipRenderer(clip)
    cascade = _haar()
    mtcnn = _mtcnn_check() if check_mtcnn else None
    final = out / "videos" / f"{clip.clip_id}.mp4"
    checked = found = found_mtcnn = 0
    with atomic_path(final) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), clip.fps, (clip.width, clip.height))
        if not writer.isOpened():
            raise OutputError(f"cannot open a video writer for {final}")
        table = renderer.table
        face_rows = np.flatnonzero(table["face_present"].to_numpy())
        check = set(face_rows[::DETECTION_EVERY].tolist())
        for i, frame in enumerate(renderer.frames()):
            writer.write(frame)
            if i in check:
                row = table.iloc[i]
                gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                detections = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
                checked += 1
                truth = (row.face_x, row.face_y, row.face_w, row.face_h)
                found += face_found(detections, truth)
                if mtcnn is not None:
                    found_mtcnn += face_found([(b.x, b.y, b.w, b.h) for b in mtcnn.find(frame)], truth)
        writer.release()
    state = {"clip_id": clip.clip_id, "checked": checked, "found": found, "frames": clip.n_frames}
    if mtcnn is not None:
        state["found_mtcnn"] = found_mtcnn
    write_json_atomic(out / STATE_DIR / f"{clip.clip_id}.json", state)
    return state


def _is_finished(clip: ClipSpec, out: Path) -> bool:
    return (out / "videos" / f"{clip.clip_id}.mp4").exists() and (out / STATE_DIR / f"{clip.clip_id}.json").exists()


def clips_table(plan: CorpusPlan) -> pd.DataFrame:
    """One row per clip: the labels and timing every later stage reads."""
    return pd.DataFrame(
        [
            {
                "clip_id": c.clip_id,
                "file": f"videos/{c.clip_id}.mp4",
                "subject": c.subject.subject_id,
                "sex": c.subject.sex,
                "skin_group": c.subject.skin_group,
                "emotion": c.emotion,
                "n_frames": c.n_frames,
                "fps": c.fps,
                "onset": c.onset,
                "apex": c.apex,
                "offset": c.offset,
                "intensity": round(c.intensity, 3),
            }
            for c in plan.clips
        ]
    )


def generate_corpus(plan: CorpusPlan, out: Path | str, *, workers: int | None = None, progress: bool = False) -> CorpusResult:
    """Render `plan` into `out`: videos/, clips.csv, frames.csv, corpus.json, preview.png.

    Args:
        plan: from `plan_corpus`.
        out: output folder (created; finished clips in it are kept).
        workers: processes to render with (default: all cores).
        progress: show a progress bar on stderr.

    Raises:
        OutputError: `out` cannot be written.
    """
    out = ensure_writable_dir(out)
    (out / "videos").mkdir(exist_ok=True)
    (out / STATE_DIR).mkdir(exist_ok=True)
    for folder in (out / "videos", out / STATE_DIR):
        clean_partial_files(folder)
    workers = default_workers(workers)
    mtcnn_absent = _mtcnn_unavailable()
    todo, skipped = pending(plan.clips, partial(_is_finished, out=out))
    if skipped:
        log.info("%d of %d clips already rendered in %s; skipping them", skipped, len(plan.clips), out)
    started = time.perf_counter()
    bar = tqdm(total=len(todo), desc="rendering clips", unit="clip", disable=not progress)
    for _ in run_units(partial(render_clip, out=out, check_mtcnn=mtcnn_absent is None), todo, workers=workers):
        bar.update()
    bar.close()
    seconds = time.perf_counter() - started

    clips = clips_table(plan)
    frames = pd.concat([clip_frame_table(c) for c in plan.clips], ignore_index=True)
    frames = frames.drop(columns=[c for c in frames.columns if c.startswith("_")])
    write_csv_atomic(out / "clips.csv", clips)
    write_csv_atomic(out / "frames.csv", frames)
    states = {c.clip_id: json.loads((out / STATE_DIR / f"{c.clip_id}.json").read_text()) for c in plan.clips}
    detection = _detection_by_group(plan, states, "found")
    mtcnn = _detection_by_group(plan, states, "found_mtcnn")
    metadata = _corpus_metadata(plan, clips, frames, detection, seconds, len(todo), workers)
    metadata["mtcnn_detection"] = (
        {"how": MTCNN_CHECK, "by_group": mtcnn}
        if mtcnn
        else {"how": MTCNN_CHECK, "not_measured": mtcnn_absent or "clips rendered before MTCNN was checked"}
    )
    write_json_atomic(out / "corpus.json", metadata)
    contact_sheet(plan, out / "preview.png")
    return CorpusResult(
        out, len(todo), skipped, int(len(frames)), seconds, detection["overall"]["rate"], mtcnn["overall"]["rate"] if mtcnn else None
    )


def _mtcnn_unavailable() -> str | None:
    """None when MTCNN's weights are at hand (fetched now if needed), else why not."""
    try:
        prepare_detector(CropRecipe(detector="mtcnn"))
    except WeightsError as error:
        log.warning("MTCNN detection rates not measured: %s", error)
        return str(error)
    return None


def _detection_by_group(plan: CorpusPlan, states: dict[str, dict], tally_of: str) -> dict:
    """{group: found, checked, rate} for one detector's tally; {} when a clip lacks it."""
    if any(tally_of not in states[clip.clip_id] for clip in plan.clips):
        return {}
    groups: dict[str, list[int]] = {}
    for clip in plan.clips:
        state = states[clip.clip_id]
        for key in ("overall", f"skin_group_{clip.subject.skin_group}", f"sex_{clip.subject.sex}"):
            tally = groups.setdefault(key, [0, 0])
            tally[0] += state[tally_of]
            tally[1] += state["checked"]
    return {k: {"found": f, "checked": n, "rate": round(f / n, 4) if n else None} for k, (f, n) in sorted(groups.items())}


def _corpus_metadata(plan, clips, frames, detection, seconds, rendered, workers) -> dict:
    return {
        "synthetic": True,
        "statement": SYNTHETIC_STATEMENT,
        "generator": "vemo.synth",
        "generator_version": __version__,
        "parameters": {
            "preset": plan.preset,
            "seed": plan.seed,
            "fps": plan.fps,
            "width": plan.width,
            "height": plan.height,
            "subjects": len(plan.subjects),
            "clips": len(plan.clips),
            "class_balance": plan.class_balance,
        },
        "counts": {
            "clips": len(clips),
            "clips_per_emotion": {e: int((clips["emotion"] == e).sum()) for e in EMOTIONS},
            "subjects_by_sex": {s: int(n) for s, n in pd.Series([x.sex for x in plan.subjects]).value_counts().items()},
            "subjects_by_skin_group": {
                int(g): int(n) for g, n in pd.Series([x.skin_group for x in plan.subjects]).value_counts().sort_index().items()
            },
            "frames": int(len(frames)),
            "frames_with_face": int(frames["face_present"].sum()),
        },
        "action_units": {e: list(u) for e, u in EMOTION_ACTION_UNITS.items()},
        "haar_detection": {
            "how": (
                f"OpenCV haarcascade_frontalface_default, scale 1.1, 5 neighbours, min size 30, on every "
                f"{DETECTION_EVERY}th rendered frame with a face; found = a detection centred in the true box "
                "with a width within 0.5x-2x"
            ),
            "by_group": detection,
        },
        "render": {
            "seconds": round(seconds, 2),
            "clips_rendered": rendered,
            "workers": workers,
            "machine": platform.machine(),
            "opencv": cv2.__version__,
        },
        "subjects": [asdict(s) for s in plan.subjects],
    }

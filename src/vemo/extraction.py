"""Stage 1 of the paper: inputs -> frames -> Haar faces -> aligned crops, into a workspace.

The workspace gets `faces/<source_id>/<frame:06d>.png`, `faces.csv` (one row per crop),
`sources.csv` (one row per input), `extract.json` (parameters, versions, totals, speed), and,
when the inputs came from `vemo synth`, `clips.csv` with their labels and subjects.

Work is split into tasks (an image, or a range of a video's frames) that run in parallel
processes. A source is finished when its marker file exists; markers record the content hash
and the extraction parameters, so a re-run skips finished sources and a killed run redoes
only unfinished ones. Crops and tables are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from vemo import __version__
from vemo.errors import ConfigError, VemoError
from vemo.faces.align import EyeLocator, aligned_crop
from vemo.faces.detect import DetectorConfig, FaceTracker, HaarFaceDetector
from vemo.io.files import clean_partial_files, ensure_writable_dir, write_csv_atomic, write_image_atomic, write_json_atomic
from vemo.io.media import MediaInfo, content_hash, find_inputs, probe_media
from vemo.io.video import iter_video_frames, read_image_frame

log = logging.getLogger(__name__)

STATE_DIR = ".extract-state"
FACE_COLUMNS = ["source_id", "source_path", "frame", "time_s", "face_index", "x", "y", "w", "h",
                "left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y", "aligned", "crop_path"]
SOURCE_COLUMNS = ["source_id", "path", "sha256", "kind", "fps", "frames_read", "frames_with_face",
                  "frames_without_face", "faces", "status", "reason", "seconds"]
PNG_FAST = [cv2.IMWRITE_PNG_COMPRESSION, 1]
MAX_RANGES_PER_VIDEO = 4  # ranges of one video extracted in parallel


@dataclass(frozen=True)
class ExtractConfig:
    """How faces are extracted. `every` keeps every n-th frame; `target_fps` overrides it."""

    every: int = 1
    target_fps: float | None = None
    crop_size: int = 227
    align: bool = True
    all_faces: bool = False
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    chunk_frames: int = 120

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ConfigError(f"--every must be at least 1, not {self.every}")
        if self.target_fps is not None and self.target_fps <= 0:
            raise ConfigError(f"--fps must be positive, not {self.target_fps}")
        if self.crop_size < 16:
            raise ConfigError(f"--size must be at least 16, not {self.crop_size}")
        if self.detector.scale_factor <= 1.0:
            raise ConfigError(f"--scale-factor must be above 1, not {self.detector.scale_factor}")
        if self.detector.min_neighbors < 0 or self.detector.min_size < 1:
            raise ConfigError("--min-neighbors must be >= 0 and --min-size >= 1")

    def fingerprint(self) -> str:
        """Hash of everything that changes the crops (not of speed-only settings)."""
        settings = asdict(self)
        settings.pop("chunk_frames")
        for speed_only in ("detect_width", "track", "redetect_every"):
            settings["detector"].pop(speed_only)
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def step_for(self, fps: float) -> int:
        """Frame step for a video at `fps`."""
        return max(1, int(round(fps / self.target_fps))) if self.target_fps else self.every


@dataclass(frozen=True)
class ExtractResult:
    """What one `extract` call did."""

    workspace: Path
    sources_done: int
    sources_skipped: int
    failures: list[tuple[str, str]]
    no_face: list[str]
    frames_read: int
    faces: int
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return self.frames_read / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class _Task:
    source_id: str
    path: str
    kind: str
    fps: float
    step: int
    start: int
    stop: int | None


def _run_task(task: _Task, config: ExtractConfig, workspace: str) -> dict:
    """Detect, align, crop and write the faces of one task; returns its rows and counts."""
    cv2.setNumThreads(1)
    started = time.perf_counter()
    detector = HaarFaceDetector(config.detector)
    tracker = FaceTracker(detector)
    eyes = EyeLocator() if config.align else None
    size = config.crop_size
    out_dir = Path(workspace) / "faces" / task.source_id
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = (
        [read_image_frame(task.path)] if task.kind == "image"
        else iter_video_frames(task.path, task.fps, every=task.step, start=task.start, stop=task.stop)
    )
    rows: list[dict] = []
    read = with_face = 0
    for frame in frames:
        read += 1
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        boxes = detector.detect(gray) if config.all_faces else tracker(gray)
        with_face += bool(boxes)
        for k, box in enumerate(boxes):
            crop, pair = aligned_crop(frame.image, gray, box, eyes, size)
            name = f"{frame.index:06d}.png" if k == 0 else f"{frame.index:06d}_{k}.png"
            write_image_atomic(out_dir / name, crop, PNG_FAST)
            rows.append({
                "source_id": task.source_id, "source_path": task.path, "frame": frame.index,
                "time_s": round(frame.time_s, 4), "face_index": k, "x": box.x, "y": box.y, "w": box.w, "h": box.h,
                "left_eye_x": pair.left[0] if pair else np.nan, "left_eye_y": pair.left[1] if pair else np.nan,
                "right_eye_x": pair.right[0] if pair else np.nan, "right_eye_y": pair.right[1] if pair else np.nan,
                "aligned": pair is not None, "crop_path": f"faces/{task.source_id}/{name}",
            })
    return {"task": task, "rows": rows, "read": read, "with_face": with_face, "seconds": time.perf_counter() - started}


def _plan_tasks(source_id: str, info: MediaInfo, config: ExtractConfig) -> list[_Task]:
    if info.kind == "image":
        return [_Task(source_id, str(info.path), "image", 0.0, 1, 0, None)]
    step = config.step_for(info.fps)
    # frames before a range are grabbed, not seeked over (see iter_video_frames): a few large
    # ranges per video keep that cost near one extra decoding pass
    chunk = max(config.chunk_frames, -(-info.frame_count // MAX_RANGES_PER_VIDEO), step)
    chunk -= chunk % step  # chunk starts stay on the sampling grid
    starts = list(range(0, max(info.frame_count, 1), chunk))
    return [
        _Task(source_id, str(info.path), "video", info.fps, step, start, starts[i + 1] if i + 1 < len(starts) else None)
        for i, start in enumerate(starts)
    ]


def _source_id(path: Path, digest: str, taken: dict[str, str]) -> str:
    """A readable, unique id: the file stem, plus a hash suffix when another file has it."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem) or "source"
    key = str(path.resolve())
    if taken.get(stem, key) == key:
        return stem
    return f"{stem}-{digest[:8]}"


def extract(
    inputs: Sequence[str | Path],
    workspace: Path | str,
    config: ExtractConfig = ExtractConfig(),
    *,
    workers: int | None = None,
    progress: bool = False,
) -> ExtractResult:
    """Extract aligned face crops from videos and images into a workspace.

    Args:
        inputs: files, folders (searched recursively) and glob patterns.
        workspace: folder to create or extend.
        config: extraction parameters.
        workers: processes (default: all cores).
        progress: show a progress bar on stderr.

    Returns:
        What was done; failed inputs are listed, not raised, so one bad file never stops a batch.

    Raises:
        OutputError: the workspace cannot be written.
    """
    started = time.perf_counter()
    workspace = ensure_writable_dir(workspace)
    state = workspace / STATE_DIR
    state.mkdir(exist_ok=True)
    for folder in (workspace, state):  # temp files of a killed run
        clean_partial_files(folder)
    fingerprint = config.fingerprint()
    candidates, unmatched = find_inputs(inputs)
    failures: list[tuple[str, str]] = [(name, "no such file or folder") for name in unmatched]
    taken = {m["source_id"]: m["key"] for m in _markers(state)}
    tasks: list[_Task] = []
    pending: dict[str, dict] = {}
    skipped = 0
    for path in candidates:
        try:
            info = probe_media(path)
            digest = content_hash(path)
        except (VemoError, OSError) as error:
            failures.append((str(path), str(error)))
            log.info("%s", error)
            continue
        source_id = _source_id(path, digest, taken)
        taken[source_id] = str(path.resolve())
        marker = state / f"{source_id}.json"
        if marker.exists():
            done = json.loads(marker.read_text())
            if done["sha256"] == digest and done["fingerprint"] == fingerprint:
                skipped += 1
                continue
            marker.unlink()
        shutil.rmtree(workspace / "faces" / source_id, ignore_errors=True)
        source_tasks = _plan_tasks(source_id, info, config)
        tasks += source_tasks
        pending[source_id] = {"info": info, "sha256": digest, "key": str(path.resolve()), "parts": len(source_tasks),
                              "results": [], "error": None, "reported": 0}
    if skipped:
        log.info("%d source(s) already extracted with these parameters; skipping them", skipped)

    frames_read = faces = 0
    total = sum((t.stop if t.stop is not None else pending[t.source_id]["info"].frame_count) - t.start for t in tasks)
    bar = tqdm(total=total, desc="extracting faces", unit="frame", disable=not progress)
    for task, result, error in _execute(tasks, config, workspace, workers):
        source = pending[task.source_id]
        bar.update((task.stop if task.stop is not None else source["info"].frame_count) - task.start)
        if error is not None:
            source["error"] = source["error"] or error
        else:
            source["results"].append(result)
        source["reported"] += 1
        if source["reported"] == source["parts"]:
            read, found = _finish_source(task.source_id, source, workspace, fingerprint, failures)
            frames_read += read
            faces += found
    bar.close()

    markers = _markers(state)
    _write_tables(workspace, markers, failures)
    _carry_clips(workspace, markers)
    no_face = [m["path"] for m in markers if m["status"] == "no_face"]
    seconds = time.perf_counter() - started
    result = ExtractResult(workspace, len(pending) - sum(1 for s in pending.values() if s["error"]), skipped,
                           failures, no_face, frames_read, faces, seconds)
    write_json_atomic(workspace / "extract.json", _metadata(config, result, markers, workers))
    return result


def _execute(tasks: list[_Task], config: ExtractConfig, workspace: Path, workers: int | None):
    """Run tasks, yielding (task, result, error message) as they finish."""
    workers = max(1, workers or os.cpu_count() or 1)
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            yield task, *_guarded(task, config, workspace)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_guarded, task, config, str(workspace)): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], *future.result()


def _guarded(task: _Task, config: ExtractConfig, workspace: Path | str) -> tuple[dict | None, str | None]:
    """`_run_task`, with expected failures (bad media, decoder errors) turned into a message."""
    try:
        return _run_task(task, config, str(workspace)), None
    except VemoError as error:
        return None, str(error)
    except cv2.error as error:
        return None, f"OpenCV failed on {task.path}: {error.msg.strip()}"


def _finish_source(source_id: str, source: dict, workspace: Path, fingerprint: str,
                   failures: list[tuple[str, str]]) -> tuple[int, int]:
    info: MediaInfo = source["info"]
    if source["error"] is not None:
        failures.append((str(info.path), source["error"]))
        log.info("%s", source["error"])
        return 0, 0
    rows = [row for result in sorted(source["results"], key=lambda r: r["task"].start) for row in result["rows"]]
    read = sum(r["read"] for r in source["results"])
    with_face = sum(r["with_face"] for r in source["results"])
    table = pd.DataFrame(rows, columns=FACE_COLUMNS)
    write_csv_atomic(workspace / STATE_DIR / f"{source_id}.faces.csv", table)
    status = "ok" if with_face else "no_face"
    if not with_face:
        log.info("no face found in %s (%d frames read)", info.path, read)
    marker = {
        "source_id": source_id, "path": str(info.path), "key": source["key"], "sha256": source["sha256"],
        "fingerprint": fingerprint, "kind": info.kind, "fps": round(info.fps, 4), "frames_read": read,
        "frames_with_face": with_face, "frames_without_face": read - with_face, "faces": len(table),
        "status": status, "reason": "" if with_face else "no face found",
        "seconds": round(sum(r["seconds"] for r in source["results"]), 3),
    }
    write_json_atomic(workspace / STATE_DIR / f"{source_id}.json", marker)
    return read, len(table)


def _markers(state: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(state.glob("*.json"))]


def _write_tables(workspace: Path, markers: list[dict], failures: list[tuple[str, str]]) -> None:
    parts = [pd.read_csv(workspace / STATE_DIR / f"{m['source_id']}.faces.csv") for m in markers]
    parts = [p for p in parts if len(p)]
    faces = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FACE_COLUMNS)
    write_csv_atomic(workspace / "faces.csv", faces.sort_values(["source_id", "frame", "face_index"]))
    rows = [{c: m.get(c, "") for c in SOURCE_COLUMNS} for m in markers]
    done_paths = {m["path"] for m in markers}
    previous = workspace / "sources.csv"
    if previous.exists():  # failures of earlier runs stay listed until they succeed
        for row in pd.read_csv(previous, keep_default_na=False).to_dict("records"):
            if row["status"] == "failed" and row["path"] not in done_paths and row["path"] not in {p for p, _ in failures}:
                rows.append(row)
    rows += [{"source_id": "", "path": path, "status": "failed", "reason": reason} for path, reason in failures]
    write_csv_atomic(workspace / "sources.csv", pd.DataFrame(rows, columns=SOURCE_COLUMNS))


def _carry_clips(workspace: Path, markers: list[dict]) -> None:
    """Copy labels and subjects of `vemo synth` clips into WS/clips.csv, keyed by source_id."""
    tables: dict[Path, pd.DataFrame] = {}
    rows = []
    for marker in markers:
        video = Path(marker["key"])
        for folder in (video.parent, video.parent.parent):
            clips_file = folder / "clips.csv"
            if not (clips_file.exists() and (folder / "corpus.json").exists()):
                continue
            if folder not in tables:
                table = pd.read_csv(clips_file)
                table["_key"] = [str((folder / f).resolve()) for f in table["file"]]
                tables[folder] = table
            match = tables[folder][tables[folder]["_key"] == marker["key"]]
            if len(match):
                row = match.iloc[0].drop(labels=["_key"]).to_dict()
                rows.append({"source_id": marker["source_id"], **row, "corpus": str(folder)})
                break
    if rows:
        write_csv_atomic(workspace / "clips.csv", pd.DataFrame(rows))


def _metadata(config: ExtractConfig, result: ExtractResult, markers: list[dict], workers: int | None) -> dict:
    return {
        "vemo_version": __version__,
        "versions": {"opencv": cv2.__version__, "numpy": np.__version__, "python": platform.python_version()},
        "parameters": asdict(config),
        "fingerprint": config.fingerprint(),
        "workers": workers or os.cpu_count(),
        "this_run": {"sources_done": result.sources_done, "sources_skipped": result.sources_skipped,
                     "failed": len(result.failures), "frames_read": result.frames_read, "faces": result.faces,
                     "seconds": round(result.seconds, 3), "frames_per_second": round(result.frames_per_second, 1)},
        "workspace_totals": {
            "sources": len(markers),
            "no_face": sum(m["status"] == "no_face" for m in markers),
            "frames_read": sum(m["frames_read"] for m in markers),
            "frames_with_face": sum(m["frames_with_face"] for m in markers),
            "faces": sum(m["faces"] for m in markers),
        },
    }

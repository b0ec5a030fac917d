"""Stage 1 of the paper: inputs -> frames -> faces -> aligned crops, into a workspace.

The workspace gets `faces/<source_id>/<frame:06d>.png`, `faces.csv` (one row per crop),
`sources.csv` (one row per input), `extract.json` (parameters, crop recipe, versions, totals,
speed), and, when the inputs came from `vemo synth`, `clips.csv` with their labels and subjects.

Work is split into tasks (an image, or a range of a video's frames) that the parallel runner
spreads over processes. A source is finished when its marker file exists; markers record the
content hash and the extraction parameters, so a re-run skips finished sources and a killed
run redoes only unfinished ones. Crops and tables are written atomically.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from vemo.engine import LOCAL, EngineSettings, check_shared_workspace, run_units
from vemo.errors import VemoError
from vemo.extraction.config import ExtractConfig, ExtractResult
from vemo.extraction.tables import (
    FACE_COLUMNS,
    SOURCE_COLUMNS,
    STATE_DIR,
    carry_clips,
    read_markers,
    write_metadata,
    write_tables,
)
from vemo.faces.detect import LANDMARKS
from vemo.faces.pipeline import Face, FacePipeline
from vemo.io.files import clean_partial_files, ensure_writable_dir, write_csv_atomic, write_image_atomic, write_json_atomic
from vemo.io.media import MediaInfo, MediaSource, content_hash, find_inputs, probe_media, source_name
from vemo.io.video import Frame

__all__ = ["FACE_COLUMNS", "SOURCE_COLUMNS", "extract"]

log = logging.getLogger(__name__)

PNG_FAST = [cv2.IMWRITE_PNG_COMPRESSION, 1]
MAX_RANGES_PER_VIDEO = 4  # ranges of one video extracted in parallel


@dataclass(frozen=True)
class _Task:
    source_id: str
    path: str
    kind: str
    fps: float
    step: int
    start: int
    stop: int | None


def _face_row(task: _Task, frame: Frame, index: int, face: Face, name: str) -> dict:
    """One row of faces.csv: the box, the eyes (found by Haar's eye cascades, or MTCNN's first two
    landmarks) and MTCNN's other landmarks."""
    box, pair = face.box, face.eyes
    row = {
        "source_id": task.source_id,
        "source_path": task.path,
        "frame": frame.index,
        "time_s": round(frame.time_s, 4),
        "face_index": index,
        "x": box.x,
        "y": box.y,
        "w": box.w,
        "h": box.h,
        "left_eye_x": pair.left[0] if pair else np.nan,
        "left_eye_y": pair.left[1] if pair else np.nan,
        "right_eye_x": pair.right[0] if pair else np.nan,
        "right_eye_y": pair.right[1] if pair else np.nan,
    }
    for part, point in zip(LANDMARKS[2:], (box.landmarks or [])[2:]):
        row[f"{part}_x"], row[f"{part}_y"] = point
    return {**row, "aligned": pair is not None, "crop_path": f"faces/{task.source_id}/{name}"}


def _face_pipeline(config: ExtractConfig) -> FacePipeline:
    """The recipe's pipeline. Only MTCNN needs torch, so other extractions and their worker
    processes never import it (about 2.3 s of CPU each; `vemo extract` starts in 1 s)."""
    mode = "all" if config.all_faces else "largest"
    if config.crop_recipe.detector == "haar":
        return FacePipeline(config.crop_recipe, mode)
    from vemo.weights import face_pipeline

    if config.crop_recipe.detector == "mtcnn" and multiprocessing.parent_process() is not None:
        import torch

        torch.set_num_threads(1)  # a worker process: one core each, for torch too
    return face_pipeline(config.crop_recipe, mode)


def _run_task(task: _Task, config: ExtractConfig, workspace: str) -> dict:
    """Find, align, crop and write the faces of one task; returns its rows and counts."""
    cv2.setNumThreads(1)
    started = time.perf_counter()
    pipeline = _face_pipeline(config)
    out_dir = Path(workspace) / "faces" / task.source_id
    out_dir.mkdir(parents=True, exist_ok=True)
    source = MediaSource(MediaInfo(Path(task.path), task.kind, task.fps, 0, 0, 0))  # probed when planned
    frames = source.frames(every=task.step, start=task.start, stop=task.stop)
    rows: list[dict] = []
    read = with_face = 0
    for frame, faces in pipeline.run(frames):
        read += 1
        with_face += bool(faces)
        for k, face in enumerate(faces):
            name = f"{frame.index:06d}.png" if k == 0 else f"{frame.index:06d}_{k}.png"
            write_image_atomic(out_dir / name, face.crop, PNG_FAST)
            rows.append(_face_row(task, frame, k, face, name))
    return {"task": task, "rows": rows, "read": read, "with_face": with_face, "seconds": time.perf_counter() - started}


def _guarded(task: _Task, config: ExtractConfig, workspace: str) -> tuple[dict | None, str | None]:
    """`_run_task`, with expected failures (bad media, decoder errors) turned into a message."""
    try:
        return _run_task(task, config, workspace), None
    except VemoError as error:
        return None, str(error)
    except cv2.error as error:
        return None, f"OpenCV failed on {task.path}: {error.msg.strip()}"
    except OSError as error:  # a full disk, a read-only folder: this source fails, the others go on
        return None, f"cannot write the crops of {task.path}: {error.strerror or error}"


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


def _plan_sources(
    inputs: Sequence[str | Path], workspace: Path, config: ExtractConfig
) -> tuple[list[_Task], dict[str, dict], int, list[tuple[str, str]]]:
    """(tasks to run, the sources they belong to, sources already done, inputs that failed)."""
    state = workspace / STATE_DIR
    fingerprint = config.fingerprint()
    candidates, unmatched = find_inputs(inputs)
    failures: list[tuple[str, str]] = [(name, "no such file or folder") for name in unmatched]
    taken = {m["source_id"]: m["key"] for m in read_markers(state)}
    tasks: list[_Task] = []
    pending: dict[str, dict] = {}
    skipped = 0
    for path in candidates:
        try:
            info = probe_media(path.absolute())  # faces.csv names the source by an absolute path: found from anywhere
            digest = content_hash(path)
        except (VemoError, OSError) as error:
            failures.append((str(path), str(error)))
            log.info("%s", error)
            continue
        source_id = source_name(path, digest, taken)
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
        pending[source_id] = {
            "info": info,
            "sha256": digest,
            "key": str(path.resolve()),
            "parts": len(source_tasks),
            "results": [],
            "error": None,
            "reported": 0,
        }
    return tasks, pending, skipped, failures


def extract(
    inputs: Sequence[str | Path],
    workspace: Path | str,
    config: ExtractConfig = ExtractConfig(),
    *,
    workers: int | None = None,
    engine: EngineSettings = LOCAL,
    progress: bool = False,
) -> ExtractResult:
    """Extract aligned face crops from videos and images into a workspace.

    Args:
        inputs: files, folders (searched recursively) and glob patterns.
        workspace: folder to create or extend.
        config: extraction parameters.
        workers: processes (default: all cores), or Ray tasks at once.
        engine: where the ranges of frames are extracted (default: processes here).
        progress: show a progress bar on stderr.

    Returns:
        What was done; failed inputs are listed, not raised, so one bad file never stops a batch.

    Raises:
        OutputError: the workspace cannot be written.
        WeightsError: the detector's weights (MTCNN) cannot be fetched or fail their checksum.
    """
    started = time.perf_counter()
    workspace = ensure_writable_dir(workspace)
    state = workspace / STATE_DIR
    state.mkdir(exist_ok=True)
    check_shared_workspace(workspace, engine)
    for folder in (workspace, state):  # temp files of a killed run
        clean_partial_files(folder)
    if config.crop_recipe.detector != "haar":
        from vemo.weights import prepare_detector

        prepare_detector(config.crop_recipe)  # fetched once here, so the workers only read the weights
    tasks, pending, skipped, failures = _plan_sources(inputs, workspace, config)
    if skipped:
        log.info("%d source(s) already extracted with these parameters; skipping them", skipped)
    frames_read, faces = _run_tasks(tasks, pending, config, workspace, (workers, engine), failures, progress)
    for source_id in pending:  # what attempts killed and retried (by Ray) left in the crop folders
        clean_partial_files(workspace / "faces" / source_id)
    markers = read_markers(state)
    write_tables(workspace, markers, failures)
    carry_clips(workspace, markers)
    no_face = [m["path"] for m in markers if m["status"] == "no_face"]
    result = ExtractResult(
        workspace,
        len(pending) - sum(1 for s in pending.values() if s["error"]),
        skipped,
        failures,
        no_face,
        frames_read,
        faces,
        time.perf_counter() - started,
    )
    write_metadata(workspace, config, result, markers, workers)
    return result


def _run_tasks(
    tasks: list[_Task],
    pending: dict[str, dict],
    config: ExtractConfig,
    workspace: Path,
    where: tuple[int | None, EngineSettings],
    failures: list[tuple[str, str]],
    progress: bool,
) -> tuple[int, int]:
    """Run every task; finish each source when its last task is in. Returns (frames read, faces)."""

    def frames_of(task: _Task) -> int:
        return (task.stop if task.stop is not None else pending[task.source_id]["info"].frame_count) - task.start

    frames_read = faces = 0
    bar = tqdm(total=sum(frames_of(t) for t in tasks), desc="extracting faces", unit="frame", disable=not progress)
    work = partial(_guarded, config=config, workspace=str(workspace.resolve()))  # workers may start elsewhere
    for task, (result, error) in run_units(work, tasks, workers=where[0], engine=where[1]):
        source = pending[task.source_id]
        bar.update(frames_of(task))
        if error is not None:
            source["error"] = source["error"] or error
        else:
            source["results"].append(result)
        source["reported"] += 1
        if source["reported"] == source["parts"]:
            read, found = _finish_source(task.source_id, source, workspace, config.fingerprint(), failures)
            frames_read += read
            faces += found
    bar.close()
    return frames_read, faces


SHORT_READ = 0.9  # fewer decoded frames than this share of what the container announces: a warning


def _finish_source(source_id: str, source: dict, workspace: Path, fingerprint: str, failures: list[tuple[str, str]]) -> tuple[int, int]:
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
    step = source["results"][0]["task"].step if source["results"] else 1
    announced = -(-info.frame_count // max(step, 1))
    short = info.kind == "video" and read < SHORT_READ * announced
    if short:  # a cut file decodes until the cut without an error: say so
        log.warning("%s: read %d of the %d frames its container announces; the file may be truncated", info.path, read, announced)
    marker = {
        "source_id": source_id,
        "path": str(info.path),
        "key": source["key"],
        "sha256": source["sha256"],
        "fingerprint": fingerprint,
        "kind": info.kind,
        "fps": round(info.fps, 4),
        "frames_read": read,
        "frames_with_face": with_face,
        "frames_without_face": read - with_face,
        "faces": len(table),
        "status": status,
        "reason": "; ".join(
            [*([] if with_face else ["no face found"]), *([f"read {read} of {announced} announced frames (truncated?)"] if short else [])]
        ),
        "seconds": round(sum(r["seconds"] for r in source["results"]), 3),
    }
    write_json_atomic(workspace / STATE_DIR / f"{source_id}.json", marker)
    return read, len(table)

"""The workspace tables `vemo extract` writes: faces.csv, sources.csv, clips.csv, extract.json.

Each finished source has a marker (`.extract-state/<id>.json`) and its own rows
(`.extract-state/<id>.faces.csv`); the workspace tables are rebuilt from all markers after
every run, so they always describe every source extracted so far.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from vemo import __version__
from vemo.extraction.config import ExtractConfig, ExtractResult
from vemo.io.files import write_csv_atomic, write_json_atomic
from vemo.io.workspace import CLIPS, EXTRACT, FACES, SOURCES

STATE_DIR = ".extract-state"
FACE_COLUMNS = [
    "source_id",
    "source_path",
    "frame",
    "time_s",
    "face_index",
    "x",
    "y",
    "w",
    "h",
    "left_eye_x",
    "left_eye_y",
    "right_eye_x",
    "right_eye_y",
    "nose_x",
    "nose_y",
    "mouth_left_x",
    "mouth_left_y",
    "mouth_right_x",
    "mouth_right_y",
    "aligned",
    "crop_path",
]
SOURCE_COLUMNS = [
    "source_id",
    "path",
    "sha256",
    "kind",
    "fps",
    "frames_read",
    "frames_with_face",
    "frames_without_face",
    "faces",
    "status",
    "reason",
    "seconds",
]


def read_markers(state: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(state.glob("*.json"))]


def write_tables(workspace: Path, markers: list[dict], failures: list[tuple[str, str]]) -> None:
    """faces.csv from every finished source, sources.csv with every source and failure."""
    parts = [pd.read_csv(workspace / STATE_DIR / f"{m['source_id']}.faces.csv") for m in markers]
    parts = [p for p in parts if len(p)]
    faces = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FACE_COLUMNS)
    faces = faces.reindex(columns=FACE_COLUMNS)  # sources extracted before landmarks were recorded get empty ones
    write_csv_atomic(workspace / FACES, faces.sort_values(["source_id", "frame", "face_index"]))
    rows = [{c: m.get(c, "") for c in SOURCE_COLUMNS} for m in markers]
    done_paths = {m["path"] for m in markers}
    previous = workspace / SOURCES
    if previous.exists():  # failures of earlier runs stay listed until they succeed
        for row in pd.read_csv(previous, keep_default_na=False).to_dict("records"):
            if row["status"] == "failed" and row["path"] not in done_paths and row["path"] not in {p for p, _ in failures}:
                rows.append(row)
    rows += [{"source_id": "", "path": path, "status": "failed", "reason": reason} for path, reason in failures]
    write_csv_atomic(workspace / SOURCES, pd.DataFrame(rows, columns=SOURCE_COLUMNS))


def carry_clips(workspace: Path, markers: list[dict]) -> None:
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
        write_csv_atomic(workspace / CLIPS, pd.DataFrame(rows))


def write_metadata(workspace: Path, config: ExtractConfig, result: ExtractResult, markers: list[dict], workers: int | None) -> None:
    """extract.json: parameters, the crop recipe every model trained here carries, versions, totals."""
    write_json_atomic(
        workspace / EXTRACT,
        {
            "vemo_version": __version__,
            "versions": {"opencv": cv2.__version__, "numpy": np.__version__, "python": platform.python_version()},
            "parameters": asdict(config),
            "crop_recipe": config.crop_recipe.to_json(),
            "fingerprint": config.fingerprint(),
            "workers": workers or os.cpu_count(),
            "this_run": {
                "sources_done": result.sources_done,
                "sources_skipped": result.sources_skipped,
                "failed": len(result.failures),
                "frames_read": result.frames_read,
                "faces": result.faces,
                "seconds": round(result.seconds, 3),
                "frames_per_second": round(result.frames_per_second, 1),
            },
            "workspace_totals": {
                "sources": len(markers),
                "no_face": sum(m["status"] == "no_face" for m in markers),
                "frames_read": sum(m["frames_read"] for m in markers),
                "frames_with_face": sum(m["frames_with_face"] for m in markers),
                "faces": sum(m["faces"] for m in markers),
            },
        },
    )

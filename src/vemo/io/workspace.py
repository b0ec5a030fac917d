"""The workspace: one folder per project, one table per fact.

Each stage reads the tables before it and adds its own, so any stage can be rerun alone.
This module only knows where the tables are and reads them with clear errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from vemo.errors import WorkspaceError

EXTRACT = "extract.json"
FACES = "faces.csv"
SOURCES = "sources.csv"
CLIPS = "clips.csv"
LABELS = "labels.csv"
SPLITS = "splits.csv"
LABEL_COLUMNS = ["crop_path", "label", "source", "time"]
SAFE_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .+-]*")  # a class name that is also a safe folder name
LABELS_LOCK = ".labels.lock"  # every writer of labels.csv holds it (see vemo.io.files.exclusive_lock)


def require_workspace(workspace: Path | str) -> Path:
    """The workspace folder, which must hold a faces.csv made by `vemo extract`.

    Raises:
        WorkspaceError: it does not.
    """
    workspace = Path(workspace)
    if not (workspace / FACES).is_file():
        raise WorkspaceError(f"not a vemo workspace (no {FACES}; extract faces into it first): {workspace}")
    return workspace


def read_table(workspace: Path, name: str, required: list[str], *, optional: bool = False) -> pd.DataFrame | None:
    """Read a workspace table and check its columns.

    Raises:
        WorkspaceError: missing (unless `optional`), unreadable, or without the required columns.
    """
    path = workspace / name
    if not path.is_file():
        if optional:
            return None
        raise WorkspaceError(f"missing table: {path}")
    try:
        table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise WorkspaceError(f"cannot read table {path}: {error}") from error
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise WorkspaceError(f"table {path} lacks column(s) {', '.join(missing)}")
    return table


def source_file(workspace: Path, stored: str) -> Path:
    """The file a `source_path` of faces.csv names. Extraction writes absolute paths; a relative
    one (workspaces of older versions) is tried from here, then from the workspace's parent."""
    path = Path(stored)
    if path.is_absolute() or path.exists():
        return path
    beside = Path(workspace).resolve().parent / path
    return beside if beside.exists() else path


def read_faces(workspace: Path) -> pd.DataFrame:
    return read_table(workspace, FACES, ["source_id", "frame", "crop_path"])


def read_labels(workspace: Path) -> pd.DataFrame:
    """labels.csv, or an empty table with its columns.

    labels.csv is a file anyone may edit, and its names become folders (export) and classes
    (training): every label must be a plain name and every crop a relative path that stays in
    the workspace.

    Raises:
        WorkspaceError: unreadable, or the first row that breaks those rules, named.
    """
    table = read_table(workspace, LABELS, LABEL_COLUMNS, optional=True)
    if table is None:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    labels, crops = table["label"].astype(str), table["crop_path"].astype(str)
    bad_label = ~labels.str.fullmatch(SAFE_LABEL.pattern) | labels.isin([".", ".."])
    bad_crop = crops.str.startswith("/") | crops.str.contains(r"(?:^|/)\.\.(?:/|$)|\\|\x00", regex=True)
    for bad, kind, values in ((bad_label, "label", labels), (bad_crop, "crop", crops)):
        if bad.any():  # named by its line in the file (the header is line 1)
            first = int(bad.to_numpy().argmax())
            what = "is not a plain class name" if kind == "label" else "is not a path inside the workspace"
            raise WorkspaceError(f"{workspace / LABELS}: line {first + 2}: {kind} {values.iloc[first]!r} {what}")
    return table


def read_clips(workspace: Path, path: Path | None = None) -> pd.DataFrame | None:
    """Clip labels: `path` if given (required), else the workspace's clips.csv if present."""
    if path is not None:
        return read_table(Path(path).parent, Path(path).name, ["emotion"])
    return read_table(workspace, CLIPS, ["source_id", "emotion"], optional=True)


def corpus_statement(workspace: Path) -> dict[str, Any]:
    """Which corpus a workspace's crops come from, for every report to state.

    Synthetic when its clips.csv points at a `vemo synth` corpus; otherwise "unknown / user data".
    """
    clips = read_table(workspace, CLIPS, ["source_id"], optional=True)
    if clips is not None and "corpus" in clips.columns:
        for folder in sorted(set(clips["corpus"].dropna())):
            meta = Path(folder) / "corpus.json"
            if meta.is_file():
                data = json.loads(meta.read_text())
                if data.get("synthetic"):
                    return {
                        "synthetic": True,
                        "statement": data.get("statement", "synthetic corpus"),
                        "corpus": str(folder),
                        "parameters": data.get("parameters", {}),
                    }
    return {"synthetic": False, "statement": "user data (not generated by vemo synth)"}


def read_crop_recipe(workspace: Path) -> dict[str, Any] | None:
    """The crop recipe (as JSON) the workspace's crops were made with, from extract.json; None
    when it has none. Workspaces from before the recipe was recorded get it rebuilt from
    their extraction parameters."""
    path = workspace / EXTRACT
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise WorkspaceError(f"unreadable {path}: {error}") from error
    if "crop_recipe" in meta:
        recipe: dict[str, Any] = meta["crop_recipe"]
        return recipe
    parameters = meta.get("parameters", {})
    return {
        "detector": "haar",
        "detector_settings": parameters.get("detector", {}),
        "align": parameters.get("align", True),
        "crop_size": parameters.get("crop_size", 227),
    }

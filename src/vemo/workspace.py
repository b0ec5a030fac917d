"""The workspace: one folder per project, one table per fact.

Each stage reads the tables before it and adds its own, so any stage can be rerun alone.
This module only knows where the tables are and reads them with clear errors.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vemo.errors import WorkspaceError

FACES = "faces.csv"
SOURCES = "sources.csv"
CLIPS = "clips.csv"
LABELS = "labels.csv"
SPLITS = "splits.csv"
LABEL_COLUMNS = ["crop_path", "label", "source", "time"]


def require_workspace(workspace: Path | str) -> Path:
    """The workspace folder, which must hold a faces.csv made by `vemo extract`.

    Raises:
        WorkspaceError: it does not.
    """
    workspace = Path(workspace)
    if not (workspace / FACES).is_file():
        raise WorkspaceError(f"not a vemo workspace (no {FACES}; run `vemo extract ... --out {workspace}` first): {workspace}")
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


def read_faces(workspace: Path) -> pd.DataFrame:
    return read_table(workspace, FACES, ["source_id", "frame", "crop_path"])


def read_labels(workspace: Path) -> pd.DataFrame:
    """labels.csv, or an empty table with its columns."""
    table = read_table(workspace, LABELS, LABEL_COLUMNS, optional=True)
    return pd.DataFrame(columns=LABEL_COLUMNS) if table is None else table


def read_clips(workspace: Path, path: Path | None = None) -> pd.DataFrame | None:
    """Clip labels: `path` if given (required), else the workspace's clips.csv if present."""
    if path is not None:
        return read_table(Path(path).parent, Path(path).name, ["emotion"])
    return read_table(workspace, CLIPS, ["source_id", "emotion"], optional=True)

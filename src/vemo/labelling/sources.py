"""Where labels come from besides the browser: clip tables, folders sorted by hand, a CSV.

Each function returns (crop_path, label) rows; `vemo.labelling.labels.apply_labels` checks and
writes them.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd

from vemo.classes import PAPER_CLASSES
from vemo.errors import ConfigError, WorkspaceError
from vemo.io.workspace import read_clips, read_faces, require_workspace

MAX_APEX_FRAMES = 1_000_000  # frames either side of the apex, as --every's bound


def labels_from_clips(workspace: Path | str, *, window: str = "onset-offset", clips_file: Path | None = None) -> pd.DataFrame:
    """Propagate clip-level emotions to the frames of each clip inside `window`.

    Args:
        window: "all" (every frame), "onset-offset" (frames from onset to offset), or
            "apex:K" (the K frames either side of the apex).
        clips_file: a table with file/clip, emotion and (for windows) onset, apex, offset;
            default the workspace's clips.csv.

    Returns:
        (crop_path, label) rows.

    Raises:
        WorkspaceError: no clip table, or it lacks what the window needs.
        ConfigError: a malformed window.
    """
    workspace = require_workspace(workspace)
    clips = read_clips(workspace, clips_file)
    if clips is None:
        raise WorkspaceError(f"no clip labels: {workspace}/clips.csv is missing; give clips_file", "clips_file")
    clips = _clip_keys(clips, read_faces(workspace))
    low_col, high_col, k = _window_columns(window)
    needed = [c for c in (low_col, high_col) if c]
    if needed and any(c not in clips.columns for c in needed):
        raise WorkspaceError(f"the clip table lacks {', '.join(needed)} needed by window {window}", "window")
    faces = read_faces(workspace).merge(clips, on="source_id", how="inner")
    if window == "all":
        keep = pd.Series(True, index=faces.index)
    elif k is None:
        keep = (faces["frame"] >= faces[low_col]) & (faces["frame"] <= faces[high_col])
    else:
        keep = (faces["frame"] - faces["apex"]).abs() <= k
    return faces.loc[keep, ["crop_path", "emotion"]].rename(columns={"emotion": "label"}).reset_index(drop=True)


def _window_columns(window: str) -> tuple[str | None, str | None, int | None]:
    if window == "all":
        return None, None, None
    if window == "onset-offset":
        return "onset", "offset", None
    if window.startswith("apex:"):
        try:
            k = int(window.split(":", 1)[1])
        except ValueError:
            k = -1
        if 0 <= k <= MAX_APEX_FRAMES:
            return "apex", "apex", k
    raise ConfigError(f"window must be all, onset-offset or apex:K (K from 0 to {MAX_APEX_FRAMES:,} frames), not {window[:80]!r}", "window")


def _clip_keys(clips: pd.DataFrame, faces: pd.DataFrame) -> pd.DataFrame:
    """Give an external clip table a source_id column (matched by file stem or clip name)."""
    if "source_id" in clips.columns:
        return clips
    key = "file" if "file" in clips.columns else "clip" if "clip" in clips.columns else None
    if key is None:
        raise WorkspaceError("the clip table needs a source_id, file or clip column")
    clips = clips.copy()
    clips["source_id"] = [Path(str(v)).stem for v in clips[key]]
    unknown = set(clips["source_id"]) - set(faces["source_id"])
    if unknown == set(clips["source_id"]):
        raise WorkspaceError(f"no clip of the table matches a workspace source (e.g. {sorted(unknown)[0]})")
    return clips


def labels_from_folders(workspace: Path | str, folder: Path | str, classes: tuple[str, ...] = PAPER_CLASSES) -> pd.DataFrame:
    """The paper's manual way: crops sorted into `folder/<class>/`, matched by content.

    A sorted file is matched to a workspace crop by its bytes (sha256), so renaming or
    moving files while sorting does not matter.

    Raises:
        WorkspaceError: the folder is missing, or a sorted file matches no crop.
    """
    workspace = require_workspace(workspace)
    folder = Path(folder)
    if not folder.is_dir():
        raise WorkspaceError(f"not a folder: {folder}")
    by_hash = {_sha256(workspace / c): c for c in read_faces(workspace)["crop_path"]}
    rows = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for image in sorted(p for p in class_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
            crop = by_hash.get(_sha256(image))
            if crop is None:
                raise WorkspaceError(f"sorted file matches no crop of the workspace: {image}")
            rows.append((crop, class_dir.name))
    return pd.DataFrame(rows, columns=["crop_path", "label"])


MAX_LABEL_CSV_BYTES = 64 * 2**20  # a million labelled crops fit; /dev/zero or a wrong file does not


def labels_from_csv(path: Path | str) -> pd.DataFrame:
    """(crop, label) rows from a CSV with columns crop (or crop_path) and label.

    Raises:
        WorkspaceError: unreadable, or without those columns.
    """
    path = Path(path)
    if not path.is_file():
        raise WorkspaceError(f"cannot read labels from {path}: not a regular file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_LABEL_CSV_BYTES + 1)
        if len(data) > MAX_LABEL_CSV_BYTES:
            raise WorkspaceError(
                f"cannot read labels from {path}: over {MAX_LABEL_CSV_BYTES // 2**20} MB, more than any workspace's labels"
            )
        table = pd.read_csv(io.StringIO(data.decode("utf-8-sig")), keep_default_na=False)
    except UnicodeDecodeError as error:
        raise WorkspaceError(f"cannot read labels from {path}: not UTF-8 text (byte {error.start})") from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise WorkspaceError(f"cannot read labels from {path}: {error}") from error
    crop = "crop_path" if "crop_path" in table.columns else "crop" if "crop" in table.columns else None
    if crop is None or "label" not in table.columns:
        raise WorkspaceError(f"{path} needs columns crop (or crop_path) and label")
    return pd.DataFrame({"crop_path": table[crop].astype(str), "label": table["label"].astype(str)})


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

"""Labels: one table, `WS/labels.csv` (crop_path, label, source, time), filled several ways.

Every way goes through `apply_labels`, which validates the whole batch (known classes,
existing crops, no silent change of an existing label) before it writes anything.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from vemo.data.classes import PAPER_CLASSES, REJECTED
from vemo.errors import ConfigError, WorkspaceError
from vemo.io.files import exclusive_lock, write_csv_atomic
from vemo.workspace import LABEL_COLUMNS, LABELS, LABELS_LOCK, read_clips, read_faces, read_labels, require_workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelResult:
    """What one labelling call changed."""

    added: int
    changed: int
    unchanged: int
    total_labelled: int
    per_class: dict[str, int]


def apply_labels(workspace: Path | str, new: pd.DataFrame, source: str, *, classes: tuple[str, ...] = PAPER_CLASSES,
                 overwrite: bool = False) -> LabelResult:
    """Merge (crop_path, label) rows into labels.csv, all or nothing.

    Raises:
        ConfigError: an unknown label.
        WorkspaceError: a crop that is not in the workspace, or a crop labelled twice in `new`.
        ConfigError: a crop whose existing label differs, unless `overwrite`.
    """
    workspace = require_workspace(workspace)
    allowed = set(classes) | {REJECTED}
    unknown = sorted(set(new["label"]) - allowed)
    if unknown:
        raise ConfigError(f"unknown label(s) {', '.join(map(str, unknown))}; classes are {', '.join(classes)} (+ {REJECTED})")
    known_crops = set(read_faces(workspace)["crop_path"])
    missing = [c for c in new["crop_path"] if c not in known_crops]
    if missing:
        raise WorkspaceError(f"{len(missing)} crop(s) not in the workspace, e.g. {missing[0]}")
    label_counts = new.groupby("crop_path")["label"].nunique()
    if (label_counts > 1).any():
        raise WorkspaceError(f"crop given two different labels: {label_counts[label_counts > 1].index[0]}")
    new = new.drop_duplicates("crop_path")
    with exclusive_lock(workspace / LABELS_LOCK):  # the labelling page may write at the same time
        return _merge_labels(workspace, new, source, classes, overwrite)


def _merge_labels(workspace: Path, new: pd.DataFrame, source: str, classes: tuple[str, ...],
                  overwrite: bool) -> LabelResult:
    current = read_labels(workspace).set_index("crop_path")
    joined = new.join(current["label"].rename("old"), on="crop_path")
    conflicts = joined[joined["old"].notna() & (joined["old"] != joined["label"])]
    if len(conflicts) and not overwrite:
        first = conflicts.iloc[0]
        raise ConfigError(f"{len(conflicts)} crop(s) already have another label (e.g. {first['crop_path']}: "
                          f"{first['old']} -> {first['label']}); use --overwrite to replace them")
    changed = joined[joined["old"] != joined["label"]]
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    update = pd.DataFrame({"crop_path": changed["crop_path"], "label": changed["label"], "source": source, "time": stamp})
    merged = pd.concat([current.drop(index=update["crop_path"], errors="ignore").reset_index(), update], ignore_index=True)
    write_csv_atomic(workspace / LABELS, merged[LABEL_COLUMNS].sort_values("crop_path"))
    return LabelResult(
        added=int(changed["old"].isna().sum()), changed=int(changed["old"].notna().sum()),
        unchanged=len(joined) - len(changed), total_labelled=len(merged),
        per_class={c: int((merged["label"] == c).sum()) for c in (*classes, REJECTED)},
    )


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
        raise WorkspaceError(f"no clip labels: {workspace}/clips.csv is missing; give --clips FILE")
    clips = _clip_keys(clips, read_faces(workspace))
    low_col, high_col, k = _window_columns(window)
    needed = [c for c in (low_col, high_col) if c]
    if needed and any(c not in clips.columns for c in needed):
        raise WorkspaceError(f"the clip table lacks {', '.join(needed)} needed by --window {window}")
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
        if k >= 0:
            return "apex", "apex", k
    raise ConfigError(f"--window must be all, onset-offset or apex:K, not {window!r}")


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


def labels_from_csv(path: Path | str) -> pd.DataFrame:
    """(crop, label) rows from a CSV with columns crop (or crop_path) and label.

    Raises:
        WorkspaceError: unreadable, or without those columns.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise WorkspaceError(f"cannot read labels from {path}: {error}") from error
    crop = "crop_path" if "crop_path" in table.columns else "crop" if "crop" in table.columns else None
    if crop is None or "label" not in table.columns:
        raise WorkspaceError(f"{path} needs columns crop (or crop_path) and label")
    return pd.DataFrame({"crop_path": table[crop].astype(str), "label": table["label"].astype(str)})


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

"""What `vemo evaluate MODEL... --on DATA` scores against: the user's labelled faces.

DATA is one of
- a workspace (`vemo extract` + `vemo label`): its labelled crops, all of them or one split;
- a folder of `<class>/` folders of images and videos (the paper's sorted-folder way);
- a CSV with columns `path,label`, and optionally `start,end` (seconds of a clip) and `subject`;
  relative paths are relative to the CSV's folder.
Each problem is one line naming the file, the folder or the CSV line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vemo.errors import ConfigError, WorkspaceError
from vemo.io.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from vemo.io.workspace import SAFE_LABEL, SPLITS, read_crop_recipe, read_labels

MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


@dataclass(frozen=True)
class LabelledMedia:
    """One labelled image or clip (`start`/`end`: the seconds of a video that carry the label)."""

    path: Path
    label: str
    start: float | None = None
    end: float | None = None
    subject: str = ""


@dataclass(frozen=True)
class LabelledCrops:
    """A workspace's labelled crops (crop_path, label, source_id, subject), the crop recipe they
    were cut with, and every label of the workspace (a split may show only some of them)."""

    workspace: Path
    table: pd.DataFrame
    crop_recipe: dict | None
    labels: frozenset[str]


def read_data(data: Path | str, split: str | None = None) -> list[LabelledMedia] | LabelledCrops:
    """The labelled items of DATA (see the module's docstring); `split` picks one split of a workspace.

    Raises:
        ConfigError: no such data, an empty class folder, a CSV line naming a missing file or no
            label, a split asked of data that has none.
        WorkspaceError: an unreadable workspace table.
    """
    path = Path(data)
    if path.is_file() and path.suffix.lower() == ".csv":
        return _from_csv(path)
    if not path.is_dir():
        raise ConfigError(f"--on {path}: no such folder or CSV file", "on")
    if (path / "labels.csv").is_file() or (path / "faces.csv").is_file():
        return _from_workspace(path, split)
    if split is not None:
        raise ConfigError(f"--split {split}: {path} is a folder of class folders, which has no splits", "split")
    return _from_class_folders(path)


def _from_workspace(workspace: Path, split: str | None) -> LabelledCrops:
    labels = read_labels(workspace)
    if not len(labels):
        raise WorkspaceError(f"{workspace}: no labelled crops (label them first: vemo label {workspace} ...)")
    table = labels[["crop_path", "label"]].copy()
    if split is not None:
        if not (workspace / SPLITS).is_file():
            raise WorkspaceError(f"{workspace / SPLITS}: missing (split the workspace first, or leave --split out to score every crop)")
        splits = pd.read_csv(workspace / SPLITS)
        chosen = splits[splits["split"] == split]
        if not len(chosen):
            raise ConfigError(f"--split {split}: {workspace / SPLITS} has no such split", "split")
        table = table[table["crop_path"].isin(chosen["crop_path"])]
    faces = pd.read_csv(workspace / "faces.csv", usecols=lambda c: c in ("crop_path", "source_id"))
    table = table.merge(faces, on="crop_path", how="left")
    table["subject"] = table["source_id"].astype(str).str.split("_").str[0] if "source_id" in table else ""
    return LabelledCrops(workspace, table.reset_index(drop=True), read_crop_recipe(workspace), frozenset(labels["label"].astype(str)))


def _from_class_folders(root: Path) -> list[LabelledMedia]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ConfigError(f"--on {root}: neither a workspace nor a folder of <class>/ folders", "on")
    items = []
    for folder in folders:
        _check_label(folder.name, str(folder))
        media = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
        if not media:
            raise ConfigError(f"{folder}: a class folder with no image or video in it", "on")
        items += [LabelledMedia(path, folder.name) for path in media]
    return items


def _from_csv(csv: Path) -> list[LabelledMedia]:
    try:
        table = pd.read_csv(csv, dtype={"path": str, "label": str, "subject": str})
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise ConfigError(f"{csv}: not a readable CSV ({error})", "on") from None
    missing = [c for c in ("path", "label") if c not in table.columns]
    if missing:
        raise ConfigError(f"{csv}: needs the columns path and label (missing {', '.join(missing)})", "on")
    items = []
    for line, row in enumerate(table.itertuples(index=False), start=2):  # line 1 is the header
        where = f"{csv}: line {line}"
        if not isinstance(row.path, str) or not row.path.strip():
            raise ConfigError(f"{where}: no path", "on")
        path = Path(row.path) if Path(row.path).is_absolute() else csv.parent / row.path
        if not path.is_file():
            raise ConfigError(f"{where}: {row.path} is not a file", "on")
        label = row.label if isinstance(row.label, str) else ""
        _check_label(label, where)
        start, end = (_seconds(getattr(row, name, None), name, where) for name in ("start", "end"))
        if start is not None and end is not None and end <= start:
            raise ConfigError(f"{where}: end ({end}) must come after start ({start})", "on")
        subject = getattr(row, "subject", "")
        items.append(LabelledMedia(path, label, start, end, subject if isinstance(subject, str) else ""))
    if not items:
        raise ConfigError(f"{csv}: no rows", "on")
    return items


def _seconds(value: object, name: str, where: str) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        seconds = float(str(value))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {name} {value!r} is not a number of seconds", "on") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"{where}: {name} {value!r} is not a time in the clip", "on")
    return seconds


def _check_label(label: str, where: str) -> None:
    if not SAFE_LABEL.fullmatch(label or ""):
        raise ConfigError(f"{where}: label {label!r} is not a class name (letters, digits, _ . + - and spaces)", "on")

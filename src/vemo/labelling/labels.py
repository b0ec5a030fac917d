"""Labels: one table, `WS/labels.csv` (crop_path, label, source, time), filled several ways.

This module is the one place that validates labels and writes the table: `apply_labels`
(clips, sorted folders, a CSV) checks the whole batch (known classes, existing crops, no
silent change of an existing label) before it writes anything, and the labelling page's
store calls the same checks and the same writer for each click.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from vemo.classes import PAPER_CLASSES, REJECTED
from vemo.errors import ConfigError, WorkspaceError
from vemo.io.files import clean_partial_files, exclusive_lock, write_csv_atomic
from vemo.io.workspace import LABEL_COLUMNS, LABELS, LABELS_LOCK, read_faces, read_labels, require_workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelResult:
    """What one labelling call changed."""

    added: int
    changed: int
    unchanged: int
    total_labelled: int
    per_class: dict[str, int]


def check_labels(labels: Iterable[str], classes: tuple[str, ...]) -> None:
    """Raises ConfigError unless every label is one of `classes` or 'rejected'."""
    unknown = sorted(set(map(str, labels)) - set(classes) - {REJECTED})
    if unknown:
        raise ConfigError(f"unknown label(s) {', '.join(repr(u) for u in unknown)}; classes are {', '.join(classes)} (+ {REJECTED})")


def check_crops(crops: Iterable[str], known: set[str]) -> None:
    """Raises WorkspaceError unless every crop is one of the workspace's (`known`)."""
    missing = [c for c in crops if c not in known]
    if missing:
        raise WorkspaceError(f"{len(missing)} crop(s) not in the workspace, e.g. {missing[0]!r}")


def write_labels(workspace: Path, table: pd.DataFrame) -> None:
    """labels.csv, sorted by crop, atomically. Callers hold the workspace's labels lock."""
    write_csv_atomic(workspace / LABELS, table[LABEL_COLUMNS].sort_values("crop_path"))


def apply_labels(
    workspace: Path | str, new: pd.DataFrame, source: str, *, classes: tuple[str, ...] = PAPER_CLASSES, overwrite: bool = False
) -> LabelResult:
    """Merge (crop_path, label) rows into labels.csv, all or nothing.

    Raises:
        ConfigError: an unknown label.
        WorkspaceError: a crop that is not in the workspace, or a crop labelled twice in `new`.
        ConfigError: a crop whose existing label differs, unless `overwrite`.
    """
    workspace = require_workspace(workspace)
    clean_partial_files(workspace)  # a killed run's temporary tables
    check_labels(new["label"], classes)
    check_crops(new["crop_path"], set(read_faces(workspace)["crop_path"]))
    label_counts = new.groupby("crop_path")["label"].nunique()
    if (label_counts > 1).any():
        raise WorkspaceError(f"crop given two different labels: {label_counts[label_counts > 1].index[0]}")
    new = new.drop_duplicates("crop_path")
    with exclusive_lock(workspace / LABELS_LOCK):  # the labelling page may write at the same time
        return _merge_labels(workspace, new, source, classes, overwrite)


def _merge_labels(workspace: Path, new: pd.DataFrame, source: str, classes: tuple[str, ...], overwrite: bool) -> LabelResult:
    current = read_labels(workspace).set_index("crop_path")
    joined = new.join(current["label"].rename("old"), on="crop_path")
    conflicts = joined[joined["old"].notna() & (joined["old"] != joined["label"])]
    if len(conflicts) and not overwrite:
        first = conflicts.iloc[0]
        raise ConfigError(
            f"{len(conflicts)} crop(s) already have another label (e.g. {first['crop_path']}: "
            f"{first['old']} -> {first['label']}); set overwrite to replace them",
            "overwrite",
        )
    changed = joined[joined["old"] != joined["label"]]
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    update = pd.DataFrame({"crop_path": changed["crop_path"], "label": changed["label"], "source": source, "time": stamp})
    merged = pd.concat([current.drop(index=update["crop_path"], errors="ignore").reset_index(), update], ignore_index=True)
    write_labels(workspace, merged)
    return LabelResult(
        added=int(changed["old"].isna().sum()),
        changed=int(changed["old"].notna().sum()),
        unchanged=len(joined) - len(changed),
        total_labelled=len(merged),
        per_class={c: int((merged["label"] == c).sum()) for c in (*classes, REJECTED)},
    )

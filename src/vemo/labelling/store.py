"""The labels a person gives in the browser, written at once to WS/labels.csv.

One `LabelStore` per server. Every change rewrites labels.csv atomically (temp file + rename)
under a lock, and under an exclusive lock on WS/.labels.lock, so another vemo process writing
labels at the same time is merged, never overwritten: before each write the store re-reads
labels.csv if it changed on disk, then applies its change on top (the last write per crop
wins). Each applied change gets a version number; pages ask for the changes since the version
they have, which is how a second tab (or `vemo label` in a terminal) shows up on screen.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from vemo.classes import REJECTED
from vemo.io.files import clean_partial_files, exclusive_lock
from vemo.io.workspace import LABEL_COLUMNS, LABELS, LABELS_LOCK, read_faces, read_labels, require_workspace
from vemo.labelling.labels import check_crops, check_labels, write_labels

MANUAL = "manual"
UNDO_DEPTH = 200  # actions remembered per page


@dataclass(frozen=True)
class Change:
    version: int
    crop: str
    label: str | None  # None: the label was removed


class LabelStore:
    """Labels of one workspace, kept in memory and mirrored to labels.csv on every change."""

    def __init__(self, workspace: Path | str, classes: tuple[str, ...]) -> None:
        self.workspace = require_workspace(workspace)
        clean_partial_files(self.workspace)  # a killed page's (or command's) temporary labels.csv
        self.classes = classes
        faces = read_faces(self.workspace)
        faces = faces.sort_values(["source_id", "frame", "crop_path"]).reset_index(drop=True)
        self.faces = faces
        self.crops = set(faces["crop_path"])
        self._lock = threading.Lock()
        self._labels: dict[str, tuple[str, str, str]] = {}  # crop -> (label, source, time)
        self._disk_stamp: tuple[int, int] | None = None
        self._changes: list[Change] = []
        self._version = 0
        self._undo: dict[str, list[dict[str, tuple | None]]] = defaultdict(list)
        with self._lock:
            self._reload_if_changed()

    @property
    def version(self) -> int:
        return self._version

    def snapshot(self) -> dict[str, str]:
        """crop -> label, for every labelled crop."""
        with self._lock:
            self._reload_if_changed()
            return {crop: entry[0] for crop, entry in self._labels.items()}

    def changes_since(self, version: int) -> tuple[int, dict[str, str | None]]:
        """(current version, crop -> its newest label for every crop changed after `version`)."""
        with self._lock:
            self._reload_if_changed()
            changed = {c.crop: c.label for c in self._changes if c.version > version}
            return self._version, changed

    def set_labels(self, crops: list[str], label: str | None, client: str = "") -> int:
        """Give `crops` the `label` (None removes it); returns the new version.

        Raises:
            ConfigError: a label that is not a class or 'rejected'.
            WorkspaceError: a crop that is not in the workspace.
        """
        if label is not None:
            check_labels([label], self.classes)
        check_crops(crops, self.crops)
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, exclusive_lock(self.workspace / LABELS_LOCK):
            self._reload_if_changed()
            previous = {crop: self._labels.get(crop) for crop in crops}
            update = {crop: None if label is None else (label, MANUAL, stamp) for crop in crops}
            self._apply(update)
            self._write()
            history = self._undo[client]
            history.append(previous)
            del history[:-UNDO_DEPTH]
            return self._version

    def undo(self, client: str = "") -> list[str]:
        """Restore what this client's last action replaced; returns the crops it touched
        (empty when there is nothing to undo)."""
        with self._lock, exclusive_lock(self.workspace / LABELS_LOCK):
            history = self._undo.get(client)
            if not history:
                return []
            previous = history.pop()
            self._reload_if_changed()
            self._apply(previous)
            self._write()
            return list(previous)

    def progress(self) -> dict:
        """Labelled / total and the count per class (rejected apart)."""
        with self._lock:
            self._reload_if_changed()
            labels = [self._labels[c][0] for c in self.crops if c in self._labels]
        per_class = {name: labels.count(name) for name in (*self.classes, REJECTED)}
        other = len(labels) - sum(per_class.values())
        return {"total": len(self.crops), "labelled": len(labels), "per_class": per_class, "other": other}

    # -- internals: called with self._lock held --------------------------------------------

    def _apply(self, update: dict[str, tuple | None]) -> None:
        for crop, entry in update.items():
            if entry is None:
                self._labels.pop(crop, None)
            else:
                self._labels[crop] = tuple(entry)
            self._version += 1
            self._changes.append(Change(self._version, crop, entry[0] if entry else None))

    def _stamp(self) -> tuple[int, int] | None:
        path = self.workspace / LABELS
        if not path.is_file():
            return None
        stat = path.stat()
        return stat.st_mtime_ns, stat.st_size

    def _reload_if_changed(self) -> None:
        """Take in labels.csv when someone else wrote it since we last did."""
        stamp = self._stamp()
        if stamp == self._disk_stamp:
            return
        table = read_labels(self.workspace)
        on_disk = {row.crop_path: (row.label, str(row.source), str(row.time)) for row in table.itertuples()}
        update: dict[str, tuple | None] = {c: e for c, e in on_disk.items() if self._labels.get(c) != e}
        update.update({c: None for c in self._labels if c not in on_disk})
        if update:
            self._apply(update)
        self._disk_stamp = stamp

    def _write(self) -> None:
        rows = [(crop, *entry) for crop, entry in self._labels.items()]
        write_labels(self.workspace, pd.DataFrame(rows, columns=LABEL_COLUMNS))
        self._disk_stamp = self._stamp()

"""`vemo label export`: the paper's folder layout, DIR/<class>/<crop>.png, from labels.csv.

For users who want folders (the paper sorted crops into class folders by hand). File names
are `<source>_<frame>.png`, unique within the workspace; `vemo label --from-folders DIR`
reads the layout back (it matches files by content, so renaming does not matter).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from vemo.classes import REJECTED
from vemo.errors import OutputError, WorkspaceError
from vemo.io.files import atomic_path, ensure_writable_dir
from vemo.io.workspace import read_faces, read_labels, require_workspace


@dataclass(frozen=True)
class ExportResult:
    written: int
    unchanged: int
    per_class: dict[str, int]


def export_folders(workspace: Path | str, out: Path | str, *, include_rejected: bool = False) -> ExportResult:
    """Copy every labelled crop to OUT/<label>/<source>_<frame>.png (atomically; files already
    there with the same size are kept, so a rerun copies only what is new).

    Raises:
        WorkspaceError: no labels, or a labelled crop whose file is missing.
        OutputError: OUT cannot be written.
    """
    workspace = require_workspace(workspace)
    labels = read_labels(workspace)
    if not include_rejected:
        labels = labels[labels["label"] != REJECTED]
    if labels.empty:
        raise WorkspaceError(f"no labelled crops in {workspace}/labels.csv to export")
    _check_rows(workspace, labels)
    out = ensure_writable_dir(out)
    written = unchanged = 0
    per_class: dict[str, int] = {}
    for row in labels.sort_values(["label", "crop_path"]).itertuples():
        source = workspace / row.crop_path
        if not source.is_file():
            raise WorkspaceError(f"labelled crop is missing: {source}")
        parts = Path(row.crop_path).parts  # faces/<source_id>/<frame>.png
        target = out / str(row.label) / f"{'_'.join(parts[1:])}"
        per_class[row.label] = per_class.get(row.label, 0) + 1
        if target.is_file() and target.stat().st_size == source.stat().st_size:
            unchanged += 1
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
        except OSError as error:
            raise OutputError(f"cannot write {target}: {error.strerror or error}") from error
        written += 1
    return ExportResult(written, unchanged, per_class)


def _check_rows(workspace: Path, labels) -> None:
    """labels.csv is a file anyone may have edited: every crop must be one of the workspace's own
    (listed in faces.csv, its file inside the workspace; a symlinked crop folder could point
    out), so the export reads nothing outside the workspace. `read_labels` has checked that
    every label is a plain folder name, so it writes nothing outside OUT.

    Raises:
        WorkspaceError: the first crop that breaks the rule, named.
    """
    known = set(read_faces(workspace)["crop_path"])
    root = workspace.resolve()
    for row in labels.itertuples():
        crop = str(row.crop_path)
        if crop not in known or not (workspace / crop).resolve().is_relative_to(root):
            raise WorkspaceError(f"{workspace}/labels.csv: {crop!r} is not a crop of this workspace")

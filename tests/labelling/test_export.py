"""`vemo label export` trusts nothing in labels.csv: hostile rows are refused, by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from vemo.errors import WorkspaceError
from vemo.labelling.export import export_folders


@pytest.fixture()
def ws(tiny_workspace: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_workspace, tmp_path / "ws"))


def _label(ws: Path, rows: list[tuple[str, str]]) -> None:
    pd.DataFrame(
        {"crop_path": [c for c, _ in rows], "label": [lab for _, lab in rows], "source": "manual", "time": "2026-01-01T00:00:00"}
    ).to_csv(ws / "labels.csv", index=False)


@pytest.mark.parametrize(
    "row",
    [
        ("faces/../../../../etc/hostname", "happiness"),  # reads outside the workspace
        ("faces/c0001/../../../outside.png", "happiness"),
        ("/etc/hostname", "happiness"),
        (None, "../../escaped"),  # writes outside --to
        (None, "/tmp/absolute"),
        (None, ".."),
        (None, "sub/dir"),
    ],
)
def test_hostile_rows_are_refused_and_nothing_is_written(ws: Path, tmp_path: Path, row):
    crop = pd.read_csv(ws / "faces.csv")["crop_path"].iloc[0]
    _label(ws, [(row[0] or crop, row[1])])
    out = tmp_path / "export" / "inner"
    with pytest.raises(WorkspaceError, match="labels.csv"):
        export_folders(ws, out)
    assert not out.exists() and not (tmp_path / "escaped").exists()


def test_a_symlinked_crop_pointing_out_is_refused(ws: Path, tmp_path: Path):
    crop = pd.read_csv(ws / "faces.csv")["crop_path"].iloc[0]
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not yours")
    (ws / crop).unlink()
    (ws / crop).symlink_to(secret)
    _label(ws, [(crop, "happiness")])
    with pytest.raises(WorkspaceError, match="not a crop of this workspace"):
        export_folders(ws, tmp_path / "export")

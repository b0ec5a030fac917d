"""Labels: propagation windows, folder and CSV import, conflicts, rejects, all-or-nothing writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from vemo.errors import ConfigError, WorkspaceError
from vemo.labelling import apply_labels, labels_from_clips, labels_from_csv, labels_from_folders


def test_windows_propagate_clip_labels_to_the_right_frames(workspace_copy: Path):
    faces = pd.read_csv(workspace_copy / "faces.csv")
    clips = pd.read_csv(workspace_copy / "clips.csv").set_index("source_id")
    every = labels_from_clips(workspace_copy, window="all")
    assert len(every) == len(faces)
    inside = labels_from_clips(workspace_copy, window="onset-offset").merge(faces, on="crop_path")
    for row in inside.itertuples():
        clip = clips.loc[row.source_id]
        assert clip.onset <= row.frame <= clip.offset and row.label == clip.emotion
    expected = sum(((faces["source_id"] == s) & (faces["frame"].between(c.onset, c.offset))).sum() for s, c in clips.iterrows())
    assert len(inside) == expected
    apex = labels_from_clips(workspace_copy, window="apex:3").merge(faces, on="crop_path")
    assert (apex.apply(lambda r: abs(r.frame - clips.loc[r.source_id].apex), axis=1) <= 3).all()
    assert len(apex) <= 7 * len(clips)
    with pytest.raises(ConfigError):
        labels_from_clips(workspace_copy, window="apex:x")


def test_labels_are_written_once_and_conflicts_need_overwrite(workspace_copy: Path):
    rows = labels_from_clips(workspace_copy, window="apex:2")
    first = apply_labels(workspace_copy, rows, "clips")
    assert first.added == len(rows) and first.changed == 0
    again = apply_labels(workspace_copy, rows, "clips")
    assert (again.added, again.changed, again.unchanged) == (0, 0, len(rows))
    before = (workspace_copy / "labels.csv").read_bytes()
    flipped = rows.head(3).assign(label="rejected")
    with pytest.raises(ConfigError, match="already have another label"):
        apply_labels(workspace_copy, flipped, "manual")
    assert (workspace_copy / "labels.csv").read_bytes() == before  # nothing half-written
    result = apply_labels(workspace_copy, flipped, "manual", overwrite=True)
    assert result.changed == 3 and result.per_class["rejected"] == 3
    labels = pd.read_csv(workspace_copy / "labels.csv")
    assert set(labels.columns) == {"crop_path", "label", "source", "time"}
    assert (labels.set_index("crop_path").loc[flipped["crop_path"], "source"] == "manual").all()


@pytest.mark.parametrize(
    ("rows", "error", "message"),
    [
        (pd.DataFrame({"crop_path": ["faces/x/000000.png"], "label": ["happiness"]}), WorkspaceError, "not in the workspace"),
        (None, ConfigError, "unknown label"),
    ],
)
def test_bad_labels_are_refused(workspace_copy: Path, rows, error, message):
    if rows is None:
        crop = pd.read_csv(workspace_copy / "faces.csv")["crop_path"].iloc[0]
        rows = pd.DataFrame({"crop_path": [crop], "label": ["anger"]})
    with pytest.raises(error, match=message):
        apply_labels(workspace_copy, rows, "csv")
    assert not (workspace_copy / "labels.csv").exists()


def test_folder_import_matches_crops_by_content(workspace_copy: Path, tmp_path: Path):
    faces = pd.read_csv(workspace_copy / "faces.csv").head(6)
    sorted_dir = tmp_path / "sorted"
    for i, crop in enumerate(faces["crop_path"]):
        target = sorted_dir / ("happiness" if i < 4 else "sadness")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(workspace_copy / crop, target / f"renamed_{i}.png")
    rows = labels_from_folders(workspace_copy, sorted_dir)
    assert dict(zip(rows["crop_path"], rows["label"])) == {
        c: ("happiness" if i < 4 else "sadness") for i, c in enumerate(faces["crop_path"])
    }
    (sorted_dir / "sadness" / "stranger.png").write_bytes(b"not a crop")
    with pytest.raises(WorkspaceError, match="matches no crop"):
        labels_from_folders(workspace_copy, sorted_dir)


def test_csv_import(workspace_copy: Path, tmp_path: Path):
    crop = pd.read_csv(workspace_copy / "faces.csv")["crop_path"].iloc[0]
    path = tmp_path / "labels.csv"
    pd.DataFrame({"crop": [crop], "label": ["surprise"]}).to_csv(path, index=False)
    assert labels_from_csv(path).to_dict("records") == [{"crop_path": crop, "label": "surprise"}]
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(WorkspaceError, match="needs columns"):
        labels_from_csv(tmp_path / "bad.csv")


def test_hostile_label_csvs_get_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Non-UTF-8 bytes gave a UnicodeDecodeError traceback; /dev/zero grew memory without bound."""
    import vemo.labelling.sources as sources

    latin = tmp_path / "latin1.csv"
    latin.write_bytes("crop,label\nfaces/c/000001.png,surprise\u00e9\n".encode("latin-1"))
    with pytest.raises(WorkspaceError, match="not UTF-8"):
        labels_from_csv(latin)
    with pytest.raises(WorkspaceError, match="not a regular file"):
        labels_from_csv("/dev/zero")
    monkeypatch.setattr(sources, "MAX_LABEL_CSV_BYTES", 1000)
    big = tmp_path / "big.csv"
    big.write_text("crop,label\n" + "faces/c/000001.png,surprise\n" * 100)
    with pytest.raises(WorkspaceError, match="over"):
        labels_from_csv(big)
    bom = tmp_path / "bom.csv"
    bom.write_text("\ufeffcrop,label\nfaces/c/000001.png,surprise\n", encoding="utf-8")
    assert labels_from_csv(bom).to_dict("records") == [{"crop_path": "faces/c/000001.png", "label": "surprise"}]

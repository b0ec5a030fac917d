"""A small real labelled face set: photos read out of packages on the index (the detection set
of benchmarks/face_set.py, each file's package and licence listed there), labelled by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from face_set import EMOTIONS as LABELS  # noqa: E402
from face_set import PHOTOS, load_face_set  # noqa: E402


@pytest.fixture(scope="session")
def labelled_photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """photo name -> (its file, its label); skips when the packages cannot be fetched."""
    folder = tmp_path_factory.mktemp("labelled-photos")
    items = {item.name: item for item in load_face_set(folder / "cache") if item.name in LABELS}
    if len(items) < len(LABELS) or not all(name in PHOTOS for name in LABELS):
        pytest.skip("the labelled photos could not be read out of their packages (index not reachable?)")
    photos = {}
    for name, item in items.items():
        path = folder / Path(name).with_suffix(".png").name
        cv2.imwrite(str(path), item.image)
        photos[name] = (path, LABELS[name])
    return photos


@pytest.fixture()
def labelled_csv(labelled_photos: dict[str, tuple[Path, str]], tmp_path: Path) -> Path:
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label\n" + "".join(f"{path},{label}\n" for path, label in labelled_photos.values()))
    return csv

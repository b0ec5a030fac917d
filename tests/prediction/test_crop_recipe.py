"""The crop recipe travels with the model: prediction crops faces the way the training crops were made."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from vemo.extraction import ExtractConfig, extract
from vemo.faces.recipe import CropRecipe
from vemo.labelling import apply_labels, labels_from_clips, split_workspace
from vemo.models.inputs import crop_to_array
from vemo.prediction import load_predictor, predict_media
from vemo.training import TrainConfig, train

CLASSES = ["disgust", "happiness", "sadness", "surprise"]


@pytest.fixture(scope="module")
def box_crop_run(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LeNet trained on a workspace of unaligned (box) crops."""
    workspace = tmp_path_factory.mktemp("box-crops") / "ws"
    extract([tiny_corpus], workspace, ExtractConfig(align=False), workers=2)
    apply_labels(workspace, labels_from_clips(workspace, window="onset-offset"), "clips")
    split_workspace(workspace, by="clip", seed=0)
    return train(workspace, TrainConfig(model="lenet", optimizer="adam", epochs=1, batch_size=32, name="box")).run_dir


def test_the_recipe_is_recorded_from_workspace_to_run(box_crop_run: Path):
    workspace = box_crop_run.parents[1]
    recorded = json.loads((workspace / "extract.json").read_text())["crop_recipe"]
    config = json.loads((box_crop_run / "config.json").read_text())
    assert recorded["align"] is False and config["crop_recipe"] == recorded
    assert CropRecipe.from_json(recorded) == CropRecipe(align=False)


def test_prediction_feeds_a_box_crop_model_the_box_crops_it_was_trained_on(box_crop_run: Path, tiny_corpus: Path):
    """Where prediction and extraction found the same box, the model must see the very crop that
    extraction wrote: its probabilities on the stored crop and in the frames table agree."""
    workspace = box_crop_run.parents[1]
    faces = pd.read_csv(workspace / "faces.csv")
    source = faces["source_id"].iloc[0]
    video = tiny_corpus / "videos" / f"{source}.mp4"
    verdict, table = predict_media(video, box_crop_run, workers=1)
    assert verdict.crop_recipe["align"] is False
    stored = faces[faces["source_id"] == source]
    same = table.merge(stored, on=["frame", "x", "y", "w", "h"], suffixes=("", "_stored"))
    assert len(same) >= 0.5 * len(stored)
    predictor = load_predictor(box_crop_run, device="cpu", runtime="torch")
    crops = np.stack([crop_to_array(cv2.imread(str(workspace / p)), predictor.preprocess.spec) for p in same["crop_path"]])
    np.testing.assert_allclose(predictor.probabilities(crops), same[CLASSES].to_numpy(), atol=1e-4)
    # with the eye-aligned crops of the default recipe, the same frames give other probabilities
    _, aligned = predict_media(video, box_crop_run, workers=1, align=True)
    moved = aligned.merge(stored, on=["frame", "x", "y", "w", "h"])
    assert not np.allclose(moved[CLASSES].to_numpy(), same.set_index("frame").loc[moved["frame"], CLASSES].to_numpy(), atol=1e-4)


def test_a_mismatched_override_warns(split_tiny_workspace: Path, tmp_path: Path, tiny_corpus: Path, caplog):
    import shutil

    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path / "ws"))
    run = train(workspace, TrainConfig(model="lenet", epochs=1, batch_size=32, name="aligned")).run_dir
    video = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    with caplog.at_level(logging.WARNING):
        predict_media(video, run, every=5)
    assert not [r for r in caplog.records if "unlike anything it saw" in r.message]
    with caplog.at_level(logging.WARNING):
        verdict, _ = predict_media(video, run, every=5, align=False)
    assert [r for r in caplog.records if "eye-aligned crops" in r.message and "unlike anything it saw" in r.message]
    assert verdict.crop_recipe["align"] is False
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vemo",
            "predict",
            str(video),
            "--model",
            str(run),
            "--out",
            str(tmp_path / "out"),
            "--every",
            "5",
            "--no-align",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "unlike anything it saw in training" in result.stderr
    assert json.loads((tmp_path / "out" / f"{video.stem}.json").read_text())["crop_recipe"]["align"] is False


@pytest.mark.slow  # an MTCNN workspace, a training and a prediction
@pytest.mark.network
def test_a_model_trained_on_mtcnn_crops_predicts_with_mtcnn(tiny_corpus: Path, tmp_path_factory, weights_cache_env):
    workspace = tmp_path_factory.mktemp("mtcnn-crops") / "ws"
    extract([tiny_corpus], workspace, ExtractConfig(every=3, detector="mtcnn"), workers=2)
    apply_labels(workspace, labels_from_clips(workspace, window="all"), "clips")
    split_workspace(workspace, by="clip", seed=0)
    run = train(workspace, TrainConfig(model="lenet", optimizer="adam", epochs=1, batch_size=32, name="m")).run_dir
    assert json.loads((run / "config.json").read_text())["crop_recipe"]["detector"] == "mtcnn"
    video = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    verdict, table = predict_media(video, run, every=3)
    assert verdict.crop_recipe["detector"] == "mtcnn" and verdict.face_share > 0.9
    found = table[table["face_found"]]
    assert found[["nose_x", "nose_y", "mouth_left_x", "mouth_right_y"]].notna().all().all()
    stored = pd.read_csv(workspace / "faces.csv")
    same = found.merge(stored[stored["source_id"] == video.stem], on=["frame", "x", "y", "w", "h"])
    assert len(same) >= 0.5 * len(found)  # the same detector and tracker: mostly the very same boxes

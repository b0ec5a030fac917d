"""An ONNX file may come from anyone: every metadata field is checked for its type, length and
bounds, and against the graph, before anything runs; each refusal is one line naming the file
and the field."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import onnx
import pytest
import torch

from vemo.errors import CheckpointError
from vemo.faces.recipe import DEFAULT_RECIPE
from vemo.models import create_model, model_info
from vemo.models.inputs import preprocess_for
from vemo.prediction import load_predictor
from vemo.prediction.loader import prepare_network
from vemo.prediction.onnx.export import export_predictor
from vemo.prediction.onnx.file import PREFIX
from vemo.prediction.predictor import Predictor

CLASSES = ("disgust", "happiness", "sadness", "surprise")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    predictor = Predictor(
        network=prepare_network(create_model("lenet", len(CLASSES)), "cpu"),
        preprocess=preprocess_for(model_info("lenet"), "vemo"),
        model_classes=CLASSES,
        classes=CLASSES,
        description="random lenet",
        corpus={"synthetic": True},
        crop_recipe=DEFAULT_RECIPE,
        architecture="lenet",
    )
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    export_predictor(predictor, path)
    return path


def tampered(exported: Path, folder: Path, key: str, value: Any = None, *, remove: bool = False) -> Path:
    """A copy of the exported file whose metadata field `key` is `value` (JSON), or removed."""
    model = onnx.load(str(exported))
    props = {p.key: p.value for p in model.metadata_props}
    if remove:
        props.pop(PREFIX + key)
    else:
        props[PREFIX + key] = json.dumps(value)
    del model.metadata_props[:]
    for name, text in props.items():
        model.metadata_props.add(key=name, value=text)
    path = folder / f"{key}.onnx"
    onnx.save(model, str(path))
    return path


def input_with(exported: Path, **changes: Any) -> dict:
    meta = {p.key: p.value for p in onnx.load(str(exported), load_external_data=False).metadata_props}
    return {**json.loads(meta[PREFIX + "input"]), **changes}


def test_the_untouched_file_loads(exported: Path):
    predictor = load_predictor(exported)
    assert predictor.model_classes == CLASSES and predictor.preprocess.size == 28


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("classes", "disgust", "list of names"),  # wrong type
        ("classes", {"a": 1}, "list of names"),
        ("classes", [1, 2, 3, 4], "list of names"),
        ("classes", ["happiness"], "2 to 1000"),  # wrong length
        ("classes", ["a", "a", "b", "c"], "distinct"),
        ("classes", ["disgust", "happiness", "sadness"], "gives 4 outputs"),  # fewer names than outputs
        ("classes", ["anger", "disgust", "happiness", "sadness", "surprise"], "gives 4 outputs"),  # more
        ("input", [28], "must be an object"),
        ("input", "size", "must be an object"),
        ("crop_recipe", [], "must be an object"),
        ("crop_recipe", {"crop_size": 10**9}, "crop_size"),
        ("crop_recipe", {"crop_size": "big"}, "ValueError"),
        ("corpus", "synthetic", "must be an object"),
        ("model", 7, "must be a name"),
        ("reported_classes", ["anger", "happiness"], "the model lacks"),
    ],
)
def test_each_bad_field_is_one_line_naming_it(exported: Path, tmp_path: Path, key: str, value: Any, says: str, record):
    with pytest.raises(CheckpointError, match=says) as refused:
        load_predictor(tampered(exported, tmp_path, key, value))
    message = str(refused.value)
    assert "\n" not in message and str(tmp_path) in message and (f"vemo.{key}" in message or "graph" in message)
    record("hostile ONNX metadata", 1, 1)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"size": 100000}, "size must be at least 8 and at most 1024"),  # out of range: no 19 GB allocation
        ({"size": 2}, "size must be"),
        ({"size": 28.5}, "whole number"),
        ({"size": 32}, "the graph's input"),  # in range, but not what the graph takes
        ({"color": "gray"}, "mean must hold 1 numbers"),
        ({"color": "cmyk"}, "color must be"),
        ({"scale": math.nan}, "scale must be a finite number"),
        ({"scale": -1}, "scale must be above 0"),
        ({"mean": [0.5, 0.5]}, "mean must hold 3 numbers"),
        ({"std": [0.0, 1.0, 1.0]}, "std must be above 0"),
        ({"std": ["a", 1.0, 1.0]}, "std must be a number"),
        ({"mean": "0.5"}, "lists of numbers"),
    ],
)
def test_each_bad_input_field_is_refused(exported: Path, tmp_path: Path, changes: dict, says: str, record):
    with pytest.raises(CheckpointError, match=says):
        load_predictor(tampered(exported, tmp_path, "input", input_with(exported, **changes)))
    record("hostile ONNX metadata", 1, 1)


@pytest.mark.parametrize("key", ["classes", "input", "crop_recipe", "corpus", "model"])
def test_a_missing_field_is_named(exported: Path, tmp_path: Path, key: str, record):
    with pytest.raises(CheckpointError, match=f"vemo.{key}"):
        load_predictor(tampered(exported, tmp_path, key, remove=True))
    record("hostile ONNX metadata", 1, 1)


def test_the_command_line_refuses_in_one_line_and_predicts_nothing(exported: Path, tmp_path: Path, shared_media: Path):
    bad = tampered(exported, tmp_path, "classes", ["disgust", "happiness", "sadness"])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vemo",
            "predict",
            str(shared_media / "single_face.jpg"),
            "--model",
            str(bad),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"vemo: error: {bad}: the graph gives 4 outputs, but metadata vemo.classes names 3"]
    assert not (tmp_path / "out" / "predictions.csv").exists()

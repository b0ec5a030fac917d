"""`vemo export`: every architecture exported, proven against PyTorch, self-describing; a file
that does not reproduce its network is never written."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vemo.errors import ExportError
from vemo.faces.recipe import DEFAULT_RECIPE
from vemo.models import create_model, list_models, model_info
from vemo.models.inputs import preprocess_for
from vemo.prediction.loader import prepare_network
from vemo.prediction.onnx import export as export_module
from vemo.prediction.onnx.export import export_predictor
from vemo.prediction.onnx.file import inference_session, read_metadata
from vemo.prediction.predictor import Predictor

CLASSES = ("disgust", "happiness", "sadness", "surprise")


def random_predictor(name: str) -> Predictor:
    torch.manual_seed(0)
    return Predictor(
        network=prepare_network(create_model(name, len(CLASSES)), "cpu"),
        preprocess=preprocess_for(model_info(name), "vemo"),
        model_classes=CLASSES,
        classes=CLASSES,
        description=f"random {name}",
        corpus={"synthetic": True},
        crop_recipe=DEFAULT_RECIPE,
        architecture=name,
    )


@pytest.mark.parametrize("name", [n for n in list_models() if model_info(n).kind == "neural"])
def test_every_network_exports_within_the_tolerance_with_a_dynamic_batch(name: str, tmp_path: Path):
    predictor = random_predictor(name)
    report = export_predictor(predictor, tmp_path / f"{name}.onnx")
    assert report.max_difference <= 1e-4 and report.random_inputs > 0
    session = inference_session(tmp_path / f"{name}.onnx")
    for batch in (1, 3):
        images = torch.randint(0, 256, (batch, *session.get_inputs()[0].shape[1:]), dtype=torch.uint8)
        inputs = predictor.preprocess(images)
        (logits,) = session.run(None, {"input": inputs.numpy()})
        with torch.inference_mode():
            expected = torch.softmax(predictor.network(inputs.contiguous(memory_format=torch.channels_last)), 1)
        assert logits.shape == (batch, len(CLASSES))
        assert np.abs(torch.softmax(torch.from_numpy(logits), 1).numpy() - expected.numpy()).max() <= 1e-4


def test_the_file_describes_itself(tmp_path: Path):
    predictor = random_predictor("lenet")
    export_predictor(predictor, tmp_path / "m.onnx")
    meta = read_metadata(tmp_path / "m.onnx")
    assert meta["classes"] == list(CLASSES) and meta["model"] == "lenet" and meta["corpus"] == {"synthetic": True}
    assert meta["input"]["size"] == 28 and meta["input"]["color"] == "rgb" and meta["input"]["layout"] == "NCHW"
    assert meta["crop_recipe"]["detector"] == "haar" and meta["crop_recipe"]["eyes_at"] == [[0.32, 0.4], [0.68, 0.4]]
    assert meta["opset"] >= 17 and meta["quantization"] == "none" and meta["version"]


def test_a_file_that_differs_from_pytorch_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(export_module, "TOLERANCE", -1.0)  # no difference can pass: the check must refuse
    with pytest.raises(ExportError, match="nothing written"):
        export_predictor(random_predictor("lenet"), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_classical_model_is_refused_in_one_line(tmp_path: Path):
    predictor = dataclasses.replace(random_predictor("lenet"), architecture="lgbp")
    with pytest.raises(ExportError, match="classical model"):
        export_predictor(predictor, tmp_path / "m.onnx")


def vemo(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vemo", *arguments], capture_output=True, text=True)


@pytest.mark.slow  # an export and two predictions of four inputs, each a process
def test_export_of_a_run_is_checked_on_its_workspace_crops_and_predicts_as_pytorch(
    trained_run: Path, shared_media: Path, tiny_corpus: Path, tmp_path: Path
):
    exported = vemo("export", str(trained_run), "--to", str(tmp_path / "run.onnx"))
    assert exported.returncode == 0, exported.stderr
    assert "face crops" in exported.stdout and " 0 face crops" not in exported.stdout
    meta = read_metadata(tmp_path / "run.onnx")
    from vemo.weights import file_sha256

    assert meta["weights_sha256"] == file_sha256(trained_run / "model.safetensors") and meta["corpus"]["synthetic"]
    inputs = [
        str(shared_media / "single_face.mp4"),
        str(shared_media / "multi_face.jpg"),
        str(sorted((tiny_corpus / "videos").glob("*.mp4"))[0]),
    ]
    outputs = {}
    for name, model, runtime in (("onnx", str(tmp_path / "run.onnx"), "auto"), ("torch", str(trained_run), "torch")):
        done = vemo("predict", "--model", model, "--runtime", runtime, *inputs, "-o", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
        outputs[name] = done.stdout
    assert outputs["onnx"].splitlines()[:3] == outputs["torch"].splitlines()[:3]  # the same verdicts, same figures
    for stem in ("single_face", Path(inputs[2]).stem):
        onnx_frames = (tmp_path / "onnx" / f"{stem}.frames.csv").read_text().splitlines()
        torch_frames = (tmp_path / "torch" / f"{stem}.frames.csv").read_text().splitlines()
        labels = [(a.split(",")[-5:], b.split(",")[-5:]) for a, b in zip(onnx_frames, torch_frames)]
        assert len(onnx_frames) == len(torch_frames) and np.mean([a == b for a, b in labels]) >= 0.99
    verdict = json.loads((tmp_path / "onnx" / "single_face.json").read_text())
    assert verdict["runtime"] == "onnxruntime" and verdict["device"] == "cpu"


def test_export_usage_errors_are_one_line(trained_run: Path, tmp_path: Path):
    wrong_name = vemo("export", str(trained_run), "--to", str(tmp_path / "model.pt"))
    assert wrong_name.returncode == 1 and wrong_name.stderr.strip().splitlines() == [
        f"vemo: error: --to {tmp_path / 'model.pt'}: the file name must end in .onnx"
    ]
    not_a_run = vemo("export", str(tmp_path), "--to", str(tmp_path / "m.onnx"))
    assert not_a_run.returncode == 1 and len(not_a_run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()

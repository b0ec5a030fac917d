"""examples/onnx_without_vemo.py classifies a face with only ONNX Runtime, NumPy and OpenCV,
and gives the label `vemo predict` gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # an export and a prediction per model, each a process of its own

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "onnx_without_vemo.py"
# importing either fails in the example's process: it must not need them
WITHOUT_TORCH_OR_VEMO = (
    "import runpy, sys; sys.modules['torch'] = None; sys.modules['vemo'] = None; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


@pytest.mark.parametrize("model", ["trained", "pretrained:fer2013-minixception"])
def test_the_example_gives_the_label_vemo_predict_gives(
    model: str, trained_run: Path, shared_media: Path, tmp_path: Path, request: pytest.FixtureRequest
):
    if model != "trained":
        request.getfixturevalue("cached_weights")  # skips where the weights cannot be had
    source = str(trained_run) if model == "trained" else model
    photo = shared_media / "single_face.jpg"
    exported = subprocess.run(
        [sys.executable, "-m", "vemo", "export", source, "--to", str(tmp_path / "m.onnx")], capture_output=True, text=True
    )
    assert exported.returncode == 0, exported.stderr
    predicted = subprocess.run(
        [sys.executable, "-m", "vemo", "predict", "--model", source, "--no-align", str(photo), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert predicted.returncode == 0, predicted.stderr
    verdict = json.loads((tmp_path / "out" / "single_face.json").read_text())
    example = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH_OR_VEMO, str(EXAMPLE), str(tmp_path / "m.onnx"), str(photo)], capture_output=True, text=True
    )
    assert example.returncode == 0, example.stderr
    label = example.stdout.split(": ", 1)[1].split(" (")[0]
    assert label == verdict["label"]
    shown = dict(pair.rsplit(" ", 1) for pair in example.stdout.split(" (", 1)[1].split(";")[0].split(", "))
    assert shown.keys() == verdict["probabilities"].keys()
    assert all(abs(float(shown[name]) - p) <= 0.006 for name, p in verdict["probabilities"].items())  # printed as %.2f

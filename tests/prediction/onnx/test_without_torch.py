"""A prediction whose network ONNX Runtime runs never loads torch: an exported file, or a run
folder whose export is already cached, predicts in a process where importing torch fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

# `python -c` this, then vemo's arguments: vemo runs with every import of torch failing
WITHOUT_TORCH = (
    "import runpy, sys; sys.modules['torch'] = None; sys.argv = ['vemo', *sys.argv[1:]]; runpy.run_module('vemo', run_name='__main__')"
)


def predict(model: str | Path, video: Path, out: Path, cache: Path, *options: str, torch: bool = True):
    command = [sys.executable, "-m", "vemo"] if torch else [sys.executable, "-c", WITHOUT_TORCH]
    return subprocess.run(
        [*command, "predict", str(video), "--model", str(model), "-o", str(out), *options],
        capture_output=True,
        text=True,
        env={**os.environ, "VEMO_CACHE_DIR": str(cache)},
    )


def test_a_cached_export_predicts_without_torch_and_as_torch_does(trained_run: Path, shared_media: Path, tmp_path: Path):
    video, cache = shared_media / "single_face.mp4", tmp_path / "cache"
    first = predict(trained_run, video, tmp_path / "first", cache, "--device", "cpu")  # exports, with torch
    assert first.returncode == 0, first.stderr
    without = predict(trained_run, video, tmp_path / "without", cache, "--device", "cpu", torch=False)
    assert without.returncode == 0, without.stderr
    refused = predict(trained_run, video, tmp_path / "refused", cache, "--runtime", "torch", torch=False)
    assert refused.returncode != 0  # the guard works: PyTorch's path cannot run in that process
    verdicts = [json.loads((tmp_path / name / "single_face.json").read_text()) for name in ("first", "without")]
    assert [v["runtime"] for v in verdicts] == ["onnxruntime", "onnxruntime"]
    assert verdicts[1]["label"] == verdicts[0]["label"] and verdicts[1]["device_reason"] == "asked for (--device cpu)"
    tables = [pd.read_csv(tmp_path / name / "single_face.frames.csv") for name in ("first", "without")]
    assert (tables[0]["label"].astype(str) == tables[1]["label"].astype(str)).all()


def test_an_exported_file_predicts_without_torch(trained_run: Path, shared_media: Path, tmp_path: Path):
    exported = subprocess.run(
        [sys.executable, "-m", "vemo", "export", str(trained_run), "--to", str(tmp_path / "m.onnx")], capture_output=True, text=True
    )
    assert exported.returncode == 0, exported.stderr
    done = predict(tmp_path / "m.onnx", shared_media / "single_face.jpg", tmp_path / "out", tmp_path / "cache", torch=False)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "single_face.json").read_text())["runtime"] == "onnxruntime"


def test_the_pretrained_default_predicts_without_torch_once_exported(pretrained_cache: Path, shared_media: Path, tmp_path: Path):
    """The default model and its detector (RetinaFace, whose catalogue entry sits beside the
    ImageNet ones that import torchvision): start-up without torch's seconds."""
    video, model = shared_media / "single_face.mp4", "pretrained:fer2013-minixception"
    first = predict(model, video, tmp_path / "first", pretrained_cache, "--device", "cpu")  # exports the network once
    assert first.returncode == 0, first.stderr
    without = predict(model, video, tmp_path / "without", pretrained_cache, "--device", "cpu", torch=False)
    assert without.returncode == 0, without.stderr
    tables = [pd.read_csv(tmp_path / name / "single_face.frames.csv") for name in ("first", "without")]
    assert (tables[0]["label"].astype(str) == tables[1]["label"].astype(str)).all()


def test_only_a_cpu_prediction_with_an_export_cached_skips_torch(trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from vemo.prediction import loader

    monkeypatch.setenv("VEMO_CACHE_DIR", str(tmp_path / "cache"))
    by_torch: list[str] = []
    real = loader._from_weights

    def spy(*args, **kwargs):
        by_torch.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "_from_weights", spy)

    def loads_torch(device: str, runtime: str = "auto") -> bool:
        before = len(by_torch)
        predictor = loader.load_predictor(trained_run, device=device, runtime=runtime)
        assert predictor.device == "cpu"
        return len(by_torch) > before

    assert loads_torch("cpu")  # nothing exported yet: PyTorch loads it and exports it
    assert not loads_torch("cpu") and not loads_torch("cpu", "onnx")  # from the cached export
    assert loader.load_predictor(trained_run, device="cpu").runtime == "onnxruntime"
    assert loads_torch("cpu", "torch")
    monkeypatch.setattr(loader, "gpu_driver_present", lambda: True)
    assert loads_torch("auto")  # torch decides whether CUDA is there

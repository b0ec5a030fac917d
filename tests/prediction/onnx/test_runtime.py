"""ONNX Runtime as prediction's default CPU runtime: exported once per weights, equal to
PyTorch, and PyTorch again whenever the export cannot be used."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vemo.errors import ConfigError, ExportError
from vemo.prediction import load_predictor
from vemo.prediction.onnx import export as export_module


@pytest.fixture()
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VEMO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def crops(predictor, count: int = 20) -> np.ndarray:
    shape = (3 if predictor.preprocess.color == "rgb" else 1, predictor.preprocess.size, predictor.preprocess.size)
    return np.random.default_rng(1).integers(0, 256, (count, *shape), dtype=np.uint8)


def test_auto_runs_onnx_runtime_on_the_cpu_with_the_same_probabilities(trained_run: Path, private_cache: Path):
    torch_predictor = load_predictor(trained_run, device="cpu", runtime="torch")
    onnx_predictor = load_predictor(trained_run, device="auto")
    assert torch_predictor.runtime == "torch" and onnx_predictor.runtime == "onnxruntime"
    sample = crops(torch_predictor)
    assert np.abs(onnx_predictor.probabilities(sample) - torch_predictor.probabilities(sample)).max() <= 1e-4
    exported = list((private_cache / "onnx").glob("*.onnx"))
    assert len(exported) == 1
    made = exported[0].stat().st_mtime_ns
    load_predictor(trained_run, device="cpu")
    assert exported[0].stat().st_mtime_ns == made  # exported once per weights, then reused


def test_a_failed_export_falls_back_to_pytorch_once_and_refuses_when_onnx_is_asked_for(
    trained_run: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
):
    def failing(*_, **__):
        raise ExportError("differs by 1e-2")

    monkeypatch.setattr(export_module, "export_predictor", failing)
    predictor = load_predictor(trained_run, device="auto")
    assert predictor.runtime == "torch"
    assert [p.suffix for p in (private_cache / "onnx").iterdir()] == [".failed"]  # remembered: not tried again
    with pytest.raises(ConfigError, match="cannot run with ONNX Runtime"):
        load_predictor(trained_run, device="cpu", runtime="onnx")


def test_a_cache_that_cannot_be_written_leaves_pytorch_running(trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("VEMO_CACHE_DIR", str(blocked))
    assert load_predictor(trained_run, device="auto").runtime == "torch"


def test_a_read_only_cache_without_its_onnx_folder_falls_back_to_pytorch(trained_run: Path, shared_media: Path, tmp_path: Path):
    """As the docs promise: the cache is mounted read-only (a private mount namespace, which
    needs root as CI has), so the onnx/ folder cannot be made, and PyTorch runs the model."""
    cache = tmp_path / "cache"
    cache.mkdir()
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a private mount namespace here (needs root and unshare)")
    command = [
        sys.executable,
        "-m",
        "vemo",
        "-q",
        "predict",
        str(shared_media / "single_face.jpg"),
        "--model",
        str(trained_run),
        "--out",
        str(tmp_path / "out"),
    ]
    script = f"mount --bind -o ro {shlex.quote(str(cache))} {shlex.quote(str(cache))} && exec {shlex.join(command)}"
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env={**os.environ, "VEMO_CACHE_DIR": str(cache)}
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "predictions.csv").exists() and not list(cache.iterdir())


def test_an_onnx_file_runs_on_the_cpu_only(trained_run: Path, tmp_path: Path):
    predictor = load_predictor(trained_run, device="cpu", runtime="torch")
    export_module.export_predictor(predictor, tmp_path / "m.onnx")
    loaded = load_predictor(tmp_path / "m.onnx")
    assert loaded.runtime == "onnxruntime" and loaded.classes == predictor.classes and loaded.device == "cpu"
    with pytest.raises(ConfigError, match="run on the CPU"):
        load_predictor(tmp_path / "m.onnx", device="cuda")
    with pytest.raises(ConfigError, match="runs with ONNX Runtime only"):
        load_predictor(tmp_path / "m.onnx", device="cpu", runtime="torch")
    with pytest.raises(ConfigError, match="runtime must be one of"):
        load_predictor(trained_run, device="cpu", runtime="tensorrt")


def test_a_live_session_runs_an_onnx_file_as_its_run_folder(trained_run: Path, tiny_corpus: Path, tmp_path: Path):
    from vemo.live import LiveSession

    export_module.export_predictor(load_predictor(trained_run, device="cpu", runtime="torch"), tmp_path / "m.onnx")
    clip = str(sorted((tiny_corpus / "videos").glob("*.mp4"))[0])
    outcomes = {}
    for name, model, runtime in (("onnx", tmp_path / "m.onnx", "auto"), ("torch", trained_run, "torch")):
        session = LiveSession(clip, model, runtime=runtime)
        list(session)
        outcomes[name] = session.outcome()
    (onnx_verdict, onnx_frames), (torch_verdict, torch_frames) = outcomes["onnx"], outcomes["torch"]
    assert onnx_verdict.runtime == "onnxruntime" and torch_verdict.runtime == "torch"
    assert onnx_verdict.label == torch_verdict.label and len(onnx_frames) == len(torch_frames)
    assert (onnx_frames["label"].astype(str) == torch_frames["label"].astype(str)).mean() >= 0.99

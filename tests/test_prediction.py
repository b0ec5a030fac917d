"""Stage 5: per-frame probabilities aligned with video time, and one label per video."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vemo.prediction import predict_media
from vemo.training import TrainConfig, train

CLASSES = ["disgust", "happiness", "sadness", "surprise"]


@pytest.fixture(scope="module")
def run_dir(split_tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = Path(shutil.copytree(split_tiny_workspace, tmp_path_factory.mktemp("predict") / "ws"))
    return train(ws, TrainConfig(model="lenet", optimizer="adam", epochs=1, batch_size=32, name="p")).run_dir


def test_frames_table_and_verdict(run_dir: Path, tiny_corpus: Path):
    clip = pd.read_csv(tiny_corpus / "clips.csv").iloc[0]
    verdict, table = predict_media(tiny_corpus / clip.file, run_dir)
    assert len(table) == clip.n_frames and list(table["frame"]) == list(range(clip.n_frames))
    faces = table[table["face_found"]]
    assert verdict.face_frames == len(faces) >= 0.9 * clip.n_frames
    np.testing.assert_allclose(faces[CLASSES].sum(axis=1), 1.0, atol=1e-3)
    assert table.loc[~table["face_found"], CLASSES].isna().all().all()
    mean = faces[CLASSES].mean()
    assert verdict.label == mean.idxmax()
    assert verdict.probabilities == pytest.approx(mean.to_dict(), abs=1e-4)
    assert verdict.corpus_of_model["synthetic"] is True


def test_cli_writes_files_and_reports_failures(run_dir: Path, tiny_corpus: Path, shared_media: Path, tmp_path: Path):
    video = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    result = subprocess.run([sys.executable, "-m", "vemo", "-q", "predict", str(video), str(shared_media / "no_face.mp4"),
                             str(tmp_path / "missing.mp4"), "--model", str(run_dir), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "missing.mp4" in result.stderr and "Traceback" not in result.stderr
    assert "no face found" in result.stdout
    saved = json.loads((tmp_path / "out" / f"{video.stem}.json").read_text())
    assert saved["label"] in CLASSES and saved["aggregation"].startswith("mean")
    assert json.loads((tmp_path / "out" / "no_face.json").read_text())["label"] is None
    assert len(pd.read_csv(tmp_path / "out" / f"{video.stem}.frames.csv")) > 0

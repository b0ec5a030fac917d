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

from vemo.io.video import iter_video_frames
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
    smoothed = faces[[f"{c}_smoothed" for c in CLASSES]].rename(columns=lambda c: c.replace("_smoothed", "")).mean()
    assert verdict.label == smoothed.idxmax()
    assert verdict.probabilities == pytest.approx(smoothed.to_dict(), abs=1e-4)
    assert verdict.corpus_of_model["synthetic"] is True
    assert verdict.face_share == pytest.approx(len(faces) / len(table))
    assert verdict.segments and verdict.segments[0]["start_s"] <= verdict.segments[-1]["end_s"]
    assert all(s["emotion"] in CLASSES and 0 < s["mean_probability"] <= 1 for s in verdict.segments)


def test_smoothing_and_segments():
    from vemo.prediction import find_segments, smooth_probabilities

    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.9, 0.1], [np.nan, np.nan], [0.1, 0.9], [0.2, 0.8]])
    smoothed = smooth_probabilities(p, 3)
    assert np.isnan(smoothed[3]).all()  # no face stays no face
    np.testing.assert_allclose(smoothed[1], [(0.9 + 0.2 + 0.9) / 3, (0.1 + 0.8 + 0.1) / 3])
    np.testing.assert_allclose(smoothed[2], [(0.2 + 0.9) / 2, (0.8 + 0.1) / 2])  # the NaN neighbour is skipped
    segments = find_segments(np.arange(6) * 0.5, smoothed, ["a", "b"])
    assert [(s["start_s"], s["end_s"], s["emotion"]) for s in segments] == [(0.0, 1.0, "a"), (2.0, 2.5, "b")]


def _blank_video(path: Path, frames: int = 30) -> Path:
    """A video with no face in it."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
    for i in range(frames):
        writer.write(np.full((120, 160, 3), 60 + i, np.uint8))
    writer.release()
    return path


def test_cli_writes_files_and_reports_failures(run_dir: Path, tiny_corpus: Path, tmp_path: Path):
    video = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    no_face = _blank_video(tmp_path / "no_face.mp4")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vemo",
            "-q",
            "predict",
            str(video),
            str(no_face),
            str(tmp_path / "missing.mp4"),
            "--model",
            str(run_dir),
            "--out",
            str(tmp_path / "out"),
            "--annotate",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "missing.mp4" in result.stderr and "Traceback" not in result.stderr
    assert "no face found" in result.stdout
    saved = json.loads((tmp_path / "out" / f"{video.stem}.json").read_text())
    assert saved["label"] in CLASSES and saved["aggregation"].startswith("mean")
    assert json.loads((tmp_path / "out" / "no_face.json").read_text())["label"] is None
    frames = pd.read_csv(tmp_path / "out" / f"{video.stem}.frames.csv")
    assert len(frames) > 0
    assert (tmp_path / "out" / f"{video.stem}.timeline.png").stat().st_size > 5000
    annotated = [f.image for f in iter_video_frames(tmp_path / "out" / f"{video.stem}.annotated.mp4", 25.0)]
    original = [f.image for f in iter_video_frames(video, 25.0)]
    assert len(annotated) == len(frames) == len(original)
    assert not np.array_equal(annotated[len(annotated) // 2], original[len(original) // 2])  # something was drawn


@pytest.mark.network
def test_pretrained_timeline_shows_the_smile_taking_over(weights_cache_env, shared_media: Path):
    """single_face.mp4: a man goes from neutral to a broad smile; happiness must rise and
    dominate the last second. (No model given: the pretrained FER2013 one, `vemo predict`'s default.)"""
    verdict, table = predict_media(shared_media / "single_face.mp4")
    assert list(verdict.probabilities) == CLASSES  # the paper's four, renormalised
    assert table["face_found"].all()
    last = table[table["time_s"] >= table["time_s"].max() - 1.0]
    means = last[[f"{c}_smoothed" for c in CLASSES]].mean()
    assert means.idxmax() == "happiness_smoothed" and means.max() > 0.8
    first = table[table["time_s"] <= 0.3]
    assert first["happiness_smoothed"].mean() < 0.3
    assert verdict.segments[-1]["emotion"] == "happiness"
    assert verdict.corpus_of_model["synthetic"] is False

    _, every_class = predict_media(shared_media / "single_face.mp4", "pretrained:fer2013-minixception", classes="all")
    seven = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
    np.testing.assert_allclose(every_class[seven].sum(axis=1), 1.0, atol=1e-3)
    assert every_class[every_class["time_s"] <= 0.3][seven].mean().idxmax() == "neutral"


@pytest.mark.network
def test_all_faces_gives_one_verdict_per_track(weights_cache_env, shared_media: Path):
    verdict, table = predict_media(shared_media / "multi_face.jpg", "pretrained:fer2013-minixception", all_faces=True)
    assert len(verdict.tracks) >= 3
    assert sorted(table["track"]) == [t["track"] for t in verdict.tracks]
    assert all(t["label"] in CLASSES for t in verdict.tracks)
    one, _ = predict_media(shared_media / "multi_face.jpg", "pretrained:fer2013-minixception")
    assert len(one.tracks) == 1


def test_pretrained_errors_are_one_line(run_dir: Path, tmp_path: Path, tiny_corpus: Path):
    from typer.testing import CliRunner

    from vemo.cli import app

    runner = CliRunner()
    image = tmp_path / "frame.png"
    first = next(iter_video_frames(sorted((tiny_corpus / "videos").glob("*.mp4"))[0], 25.0))
    import cv2

    cv2.imwrite(str(image), first.image)
    for model, message in [
        ("pretrained:nope", "unknown weights 'nope'"),
        ("pretrained:mobilenet_v2-imagenet", "not an emotion classifier; fine-tune"),
        (str(tmp_path / "missing-run"), "not a vemo run folder"),
    ]:
        result = runner.invoke(app, ["predict", str(image), "--model", model, "--out", str(tmp_path / "o")])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    result = runner.invoke(
        app, ["predict", str(image), "--model", str(run_dir), "--out", str(tmp_path / "o"), "--classes", "anger,happiness"]
    )
    assert result.exit_code == 1 and "--classes 'anger,happiness'" in result.output


@pytest.mark.network
def test_threaded_prediction_follows_the_sequential_frames(weights_cache_env, shared_media: Path):
    """Runs of frames go to threads; the table must be the same as with one thread."""
    video = shared_media / "noface_face.mov"
    _, one = predict_media(video, "pretrained:fer2013-minixception", workers=1)
    _, two = predict_media(video, "pretrained:fer2013-minixception", workers=2)
    assert list(one["frame"]) == list(range(169)) == list(two["frame"])
    pd.testing.assert_frame_equal(one, two)


def test_the_thread_count_never_changes_the_frames_table(run_dir: Path, tiny_corpus: Path):
    """Runs of frames go to threads; the table must be the same as with one thread (synthetic media)."""
    clips = pd.read_csv(tiny_corpus / "clips.csv").sort_values("n_frames")
    clip = clips.iloc[-1]  # the longest: several runs of frames
    _, one = predict_media(tiny_corpus / clip.file, run_dir, workers=1)
    _, two = predict_media(tiny_corpus / clip.file, run_dir, workers=2)
    assert list(one["frame"]) == list(range(clip.n_frames)) == list(two["frame"])
    assert one["face_found"].sum() > clip.n_frames // 2
    pd.testing.assert_frame_equal(one, two)


def test_cuda_prediction_agrees_with_the_cpu(cuda_device, cached_weights, shared_media: Path):
    """The model and MTCNN on the GPU: the same verdict and nearly the same probabilities."""
    video = shared_media / "single_face.mp4"
    on_cpu, cpu_table = predict_media(video, "pretrained:fer2013-minixception", device="cpu", detector="mtcnn")
    on_gpu, gpu_table = predict_media(video, "pretrained:fer2013-minixception", device="cuda", detector="mtcnn")
    assert on_gpu.label == on_cpu.label and on_gpu.face_frames == on_cpu.face_frames
    assert max(abs(on_gpu.probabilities[c] - on_cpu.probabilities[c]) for c in CLASSES) < 0.02
    assert (gpu_table[["x", "y", "w", "h"]] - cpu_table[["x", "y", "w", "h"]]).abs().max().max() <= 1


@pytest.mark.network
def test_all_faces_tracks_with_mtcnn_too(weights_cache_env, shared_media: Path):
    verdict, table = predict_media(shared_media / "multi_face.jpg", "pretrained:fer2013-minixception", all_faces=True, detector="mtcnn")
    assert len(verdict.tracks) == 5 and table["nose_x"].notna().all()

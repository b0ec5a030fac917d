"""`vemo predict` over many files: a summary table, reuse of finished inputs, resume after a kill."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from vemo.prediction import predict_to_folder
from vemo.training import TrainConfig, train


@pytest.fixture(scope="module")
def run_dir(split_tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = Path(shutil.copytree(split_tiny_workspace, tmp_path_factory.mktemp("folder") / "ws"))
    return train(ws, TrainConfig(model="lenet", optimizer="adam", epochs=1, batch_size=32, name="f")).run_dir


def test_summary_table_and_reuse_of_finished_inputs(run_dir: Path, tiny_corpus: Path, tmp_path: Path):
    videos = sorted((tiny_corpus / "videos").glob("*.mp4"))[:2]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    verdicts, failures = predict_to_folder([*videos, broken], run_dir, tmp_path / "out", every=4)
    summary = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert list(summary["status"]) == ["ok", "ok", "failed"] and len(verdicts) == 2
    assert summary.loc[2, "source"] == str(broken) and summary.loc[2, "error"] and failures[0][0] == str(broken)
    assert set(summary.loc[:1, "label"]) <= {"disgust", "happiness", "sadness", "surprise"}
    stamp = (tmp_path / "out" / f"{videos[0].stem}.frames.csv").stat().st_mtime_ns
    again, _ = predict_to_folder(videos, run_dir, tmp_path / "out", every=4)
    assert (tmp_path / "out" / f"{videos[0].stem}.frames.csv").stat().st_mtime_ns == stamp  # reused
    assert [v.label for v in again] == [v.label for v in verdicts]
    predict_to_folder(videos[:1], run_dir, tmp_path / "out", every=2)  # other options: redone
    assert (tmp_path / "out" / f"{videos[0].stem}.frames.csv").stat().st_mtime_ns != stamp
    stamp = (tmp_path / "out" / f"{videos[0].stem}.frames.csv").stat().st_mtime_ns
    predict_to_folder(videos[:1], run_dir, tmp_path / "out", every=2, force=True)
    assert (tmp_path / "out" / f"{videos[0].stem}.frames.csv").stat().st_mtime_ns != stamp


@pytest.mark.slow  # a killed prediction process and its rerun
def test_a_killed_run_finishes_the_rest_without_half_files(run_dir: Path, tiny_corpus: Path, tmp_path: Path, kill_when):
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "vemo",
        "-q",
        "predict",
        str(tiny_corpus / "videos"),
        "--model",
        str(run_dir),
        "--out",
        str(out),
        "--annotate",
    ]
    kill_when(command, lambda: len(list((out / ".predict-state").glob("*.json"))) >= 2)
    done = len(list((out / ".predict-state").glob("*.json")))
    assert 2 <= done < 8, "the run should have been killed part-way"
    import subprocess

    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(out / "predictions.csv")
    assert len(summary) == 8 and (summary["status"] == "ok").all()
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.is_file()]  # no temporary file left
    assert len(list(out.glob("*.annotated.mp4"))) == 8


def test_short_inputs_side_by_side_give_what_each_gives_alone(run_dir: Path, tiny_corpus: Path, tmp_path: Path):
    """Short clips are predicted in parallel (one per core, each on one thread); the tables must
    be those of predicting each clip by itself with every thread."""
    from vemo.prediction import predict_media

    videos = sorted((tiny_corpus / "videos").glob("*.mp4"))[:3]
    together, failures = predict_to_folder(videos, run_dir, tmp_path / "out", every=2)
    assert not failures and [v.source for v in together] == [str(v) for v in videos]
    for video, verdict in zip(videos, together):
        alone, table = predict_media(video, run_dir, every=2, workers=2)
        assert verdict.label == alone.label and verdict.probabilities == alone.probabilities
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "out" / f"{video.stem}.frames.csv"), pd.read_csv(io.StringIO(table.to_csv(index=False)))
        )


def test_inputs_that_share_a_name_keep_their_own_outputs(run_dir: Path, tiny_corpus: Path, tmp_path: Path):
    """`a/clip.mp4 b/clip.mp4` (or `x.mp4 x.jpg`) used to overwrite each other's results."""
    videos = sorted((tiny_corpus / "videos").glob("*.mp4"))[:2]
    for folder, video in zip("ab", videos):
        (tmp_path / folder).mkdir()
        shutil.copy(video, tmp_path / folder / "clip.mp4")
    inputs = [tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4"]
    verdicts, failures = predict_to_folder(inputs, run_dir, tmp_path / "out", every=4)
    summary = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert not failures and summary["name"].nunique() == 2 and summary.loc[0, "name"] == "clip"
    for name, verdict in zip(summary["name"], verdicts):
        saved = (tmp_path / "out" / f"{name}.json").read_text()
        assert f'"source": "{verdict.source}"' in saved
    again = predict_to_folder(inputs[::-1], run_dir, tmp_path / "out", every=4)[0]  # names are kept, and reused
    assert list(pd.read_csv(tmp_path / "out" / "predictions.csv")["name"]) == list(summary["name"])[::-1]
    assert [v.source for v in again] == [str(p) for p in inputs[::-1]]


def test_a_video_without_a_face_gets_strict_json(run_dir: Path, shared_media: Path, tmp_path: Path):
    import json

    verdicts, failures = predict_to_folder([shared_media / "no_face.mp4"], run_dir, tmp_path / "out", every=5)
    assert not failures and verdicts[0].label is None
    text = (tmp_path / "out" / "no_face.json").read_text()
    saved = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert saved["label"] is None and set(saved["probabilities"].values()) == {None}
    assert pd.read_csv(tmp_path / "out" / "predictions.csv").loc[0, "status"] == "no_face"


def test_a_second_run_into_a_folder_in_use_is_refused_in_one_line_and_loses_nothing(
    trained_run: Path, tiny_corpus: Path, tmp_path: Path, record
):
    """While one run writes OUT (its lock held, here by the test), another is refused before it
    writes anything; once the lock is free, the same command runs."""
    import fcntl
    import subprocess

    clips = sorted((tiny_corpus / "videos").glob("*.mp4"))
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "vemo",
        "-q",
        "predict",
        *map(str, clips[:2]),
        "--model",
        str(trained_run),
        "--every",
        "5",
        "--out",
        str(out),
    ]
    assert subprocess.run(command, capture_output=True).returncode == 0
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    with open(out / ".predict-state" / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        other = subprocess.run([*command[:5], *map(str, clips[2:4]), *command[7:]], capture_output=True, text=True)
    assert other.returncode == 1 and other.stderr.strip().splitlines() == [
        f"vemo: error: {out} is being written by another vemo predict: wait for it to end, or give another --out"
    ]
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == before
    again = subprocess.run([*command[:5], *map(str, clips[2:4]), *command[7:]], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    record("concurrent writers and destinations", 1, 1)


def test_a_run_started_while_another_writes_the_folder_is_refused(trained_run: Path, tiny_corpus: Path, tmp_path: Path, record):
    """Two real runs at once: the second, started once the first has finished an input, is
    refused while the first still runs, and the first's table lists every one of its inputs."""
    import subprocess
    import time

    clips = sorted((tiny_corpus / "videos").glob("*.mp4"))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "vemo", "-q", "predict", "--model", str(trained_run), "--out", str(out)]
    first = subprocess.Popen([*command, *map(str, clips), "--every", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while first.poll() is None and time.time() < deadline and not list((out / ".predict-state").glob("*.json")):
        time.sleep(0.05)
    second = subprocess.run([*command, str(clips[0]), "--every", "7"], capture_output=True, text=True)
    overlapped = first.poll() is None  # the first still ran when the second ended
    assert first.wait() == 0, first.stderr.read()
    if overlapped:
        assert second.returncode == 1 and "is being written by another vemo predict" in second.stderr
        assert second.stderr.count("\n") == 1
    assert set(pd.read_csv(out / "predictions.csv")["source"]) == {str(clip) for clip in clips} or not overlapped
    record("concurrent writers and destinations", 1, 1)


def test_the_folder_records_its_config_and_no_input_takes_the_record_name(run_dir: Path, tiny_corpus: Path, tmp_path: Path):
    """OUT/predict.json holds the model and the PredictConfig, as a workspace's extract.json holds
    its extraction; an input named predict.mp4 gets a suffixed name instead of overwriting it."""
    import json

    import vemo
    from vemo.prediction import PredictConfig

    video = tmp_path / "predict.mp4"
    shutil.copy(sorted((tiny_corpus / "videos").glob("*.mp4"))[0], video)
    config = PredictConfig(every=4, smooth=0.25)
    verdicts, failures = vemo.predict([video], run_dir, tmp_path / "out", config)  # vemo.predict is `vemo predict`
    record = json.loads((tmp_path / "out" / "predict.json").read_text())
    assert not failures and record["model"] == str(run_dir) and record["config"]["every"] == 4 and record["config"]["smooth"] == 0.25
    assert record["config"]["engine"]["name"] == "local"
    name = pd.read_csv(tmp_path / "out" / "predictions.csv").loc[0, "name"]
    assert name.startswith("predict-")
    per_input = json.loads((tmp_path / "out" / f"{name}.json").read_text())["config"]
    assert per_input == {k: v for k, v in record["config"].items() if k not in ("engine", "workers", "batch_size")}
    assert verdicts[0].config == per_input == config.outcome_json()


def test_the_folder_defaults_to_the_pretrained_model_and_predictions(
    weights_cache_env, shared_media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`vemo.predict(inputs)` alone is `vemo predict INPUTS` alone."""
    import json

    import vemo
    from vemo.prediction.reference import DEFAULT_MODEL

    monkeypatch.chdir(tmp_path)
    verdicts, failures = vemo.predict([shared_media / "single_face.jpg"])
    assert not failures and len(verdicts) == 1
    assert json.loads((tmp_path / "predictions" / "predict.json").read_text())["model"] == DEFAULT_MODEL

"""`vemo evaluate MODEL... --on DATA`: any model on any labelled media, figures equal to
scikit-learn's on the same decisions, several models side by side, bad data in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from vemo.errors import ConfigError
from vemo.scoring import evaluate_models
from vemo.scoring.data import read_data

PRETRAINED = "pretrained:fer2013-minixception"
VEMO = [sys.executable, "-m", "vemo"]


def test_the_pretrained_model_on_real_labelled_faces_matches_scikit_learn(labelled_csv: Path, weights_cache_env: Path, tmp_path: Path):
    scored, report = evaluate_models([PRETRAINED], labelled_csv, tmp_path / "out")
    decisions, levels = scored[0]
    frame = levels["frame"]
    assert frame is not None and levels["clip"] is None  # photos only: one decision per face, no clip
    assert (
        frame.samples == 15
        and not decisions.no_face
        and decisions.classes.shared == ("anger", "disgust", "happiness", "surprise", "neutral")
    )
    table = pd.read_csv(tmp_path / "out" / "decisions-0.csv")
    assert len(table) == 15
    assert frame.accuracy == pytest.approx(accuracy_score(table["true"], table["predicted"]))
    assert frame.balanced_accuracy == pytest.approx(balanced_accuracy_score(table["true"], table["predicted"]))
    present = sorted(set(table["true"]))
    assert frame.macro_f1 == pytest.approx(f1_score(table["true"], table["predicted"], labels=present, average="macro", zero_division=0))
    classes = list(decisions.classes.shared)
    assert frame.confusion == confusion_matrix(table["true"], table["predicted"], labels=classes).tolist()
    low, high = frame.accuracy_ci95
    assert low <= frame.accuracy <= high and high - low > 0
    saved = json.loads((tmp_path / "out" / "eval.json").read_text())["models"][0]
    assert saved["levels"]["frame"]["accuracy"] == pytest.approx(frame.accuracy) and saved["classes"]["unused"] == ["fear", "sadness"]
    page = report.read_text()
    assert "Worst misses" in page and "retinaface" in page and "fear, sadness" in page


def test_class_folders_give_the_decisions_of_the_csv(labelled_photos, labelled_csv: Path, weights_cache_env: Path, tmp_path: Path):
    root = tmp_path / "sorted"
    for path, label in labelled_photos.values():
        (root / label).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / label / path.name)
    from_csv = evaluate_models([PRETRAINED], labelled_csv, tmp_path / "a")[0][0][0].frames
    from_folders = evaluate_models([PRETRAINED], root, tmp_path / "b")[0][0][0].frames
    key = ["true", "predicted"]
    assert sorted(map(tuple, from_csv[key].to_numpy())) == sorted(map(tuple, from_folders[key].to_numpy()))


def test_two_models_side_by_side_each_on_the_classes_it_shares(
    labelled_csv: Path, trained_run: Path, weights_cache_env: Path, tmp_path: Path
):
    """A model trained on the synthetic corpus predicts the paper's four: anger and neutral are
    left out for it (and said), and the table flags its corpus."""
    done = subprocess.run(
        [*VEMO, "evaluate", PRETRAINED, str(trained_run), "--on", str(labelled_csv), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "SYNTHETIC" in done.stdout and done.stdout.count("frame") >= 2
    models = json.loads((tmp_path / "out" / "eval.json").read_text())["models"]
    assert models[1]["classes"]["shared"] == ["disgust", "happiness", "surprise"]
    assert models[1]["classes"]["dropped"] == ["anger", "neutral"] and models[1]["left_out_for_their_label"] == 3


def test_clips_give_frame_and_clip_decisions_inside_their_seconds(shared_media: Path, weights_cache_env: Path, tmp_path: Path):
    clip = shared_media / "single_face.mp4"
    csv = tmp_path / "clips.csv"
    csv.write_text(f"path,label,start,end,subject\n{clip},neutral,0,0.4,a\n{clip},happiness,1.5,,a\n{clip},happiness,,,b\n")
    scored, _ = evaluate_models([PRETRAINED], csv, tmp_path / "out", mapping={})
    decisions, levels = scored[0]
    frames = decisions.frames
    first = frames[frames["item"] == 0]
    assert len(first) and first["time_s"].max() <= 0.4 and frames[frames["item"] == 1]["time_s"].min() >= 1.5
    assert levels["clip"] is not None and levels["clip"].samples == 3 and len(frames) == len(first) + (frames["item"] > 0).sum()


def test_a_workspace_split_scores_its_run_as_vemo_evaluate_does(trained_run: Path, split_tiny_workspace: Path, tmp_path: Path):
    from vemo.evaluation import evaluate

    own = evaluate(trained_run, "test")
    scored, _ = evaluate_models([str(trained_run)], split_tiny_workspace, tmp_path / "out", split="test")
    frame = scored[0][1]["frame"]
    assert frame is not None and frame.samples == own.samples
    assert abs(frame.accuracy - own.accuracy) * own.samples <= 1  # the same crops, resized by one path or the other
    assert scored[0][1]["clip"] is not None


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("empty-class", "a class folder with no image or video"),
        ("missing-file", "line 2: .*is not a file"),
        ("bad-label", "line 2: label '../x' is not a class name"),
        ("bad-seconds", "line 2: start 'soon' is not a number of seconds"),
        ("nothing", "no such folder or CSV file"),
    ],
)
def test_bad_data_is_refused_in_one_line_naming_it(layout: str, message: str, tmp_path: Path, shared_media: Path):
    image = shared_media / "single_face.jpg"
    on = tmp_path / "data.csv"
    if layout == "empty-class":
        (tmp_path / "sorted" / "happiness").mkdir(parents=True)
        shutil.copy(image, tmp_path / "sorted" / "happiness" / "a.jpg")
        (tmp_path / "sorted" / "sadness").mkdir()
        on = tmp_path / "sorted"
    elif layout == "missing-file":
        on.write_text("path,label\nnowhere.jpg,happiness\n")
    elif layout == "bad-label":
        on.write_text(f"path,label\n{image},../x\n")
    elif layout == "bad-seconds":
        on.write_text(f"path,label,start\n{image},happiness,soon\n")
    else:
        on = tmp_path / "missing"
    with pytest.raises(ConfigError, match=message):
        read_data(on)
    done = subprocess.run([*VEMO, "evaluate", PRETRAINED, "--on", str(on), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0


def test_a_map_to_a_class_the_model_lacks_and_too_few_shared_classes_are_refused(
    labelled_csv: Path, weights_cache_env: Path, tmp_path: Path
):
    with pytest.raises(ConfigError, match="--map: the model predicts .* not joy"):
        evaluate_models([PRETRAINED], labelled_csv, tmp_path / "a", mapping={"happiness": "joy"})
    image = next(iter(labelled_csv.read_text().splitlines()[1:])).split(",")[0]
    one_class = tmp_path / "one.csv"
    one_class.write_text(f"path,label\n{image},happiness\n{image},joyful\n")
    with pytest.raises(ConfigError, match=r"share 1 class with the model's .*--map FROM=TO"):
        evaluate_models([PRETRAINED], one_class, tmp_path / "b")
    scored, _ = evaluate_models([PRETRAINED], one_class, tmp_path / "c", mapping={"joyful": "surprise"})
    assert scored[0][0].classes.mapping == {"happiness": "happiness", "joyful": "surprise"}


def test_the_default_output_folder_is_evaluation_in_the_current_folder(labelled_csv: Path, weights_cache_env: Path, tmp_path: Path):
    done = subprocess.run([*VEMO, "-q", "evaluate", PRETRAINED, "--on", str(labelled_csv)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "evaluation" / "eval.json").is_file() and (tmp_path / "evaluation" / "report.html").is_file()
    assert np.isfinite(json.loads((tmp_path / "evaluation" / "eval.json").read_text())["models"][0]["levels"]["frame"]["accuracy"])


def test_an_exported_onnx_file_scores_as_its_run_folder(labelled_photos, trained_run: Path, tmp_path: Path):
    """Every model kind: the ONNX export of a run gives its run folder's decisions on class folders."""
    root = tmp_path / "sorted"
    for path, label in labelled_photos.values():
        (root / label).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / label / path.name)
    exported = subprocess.run([*VEMO, "export", str(trained_run), "--to", str(tmp_path / "m.onnx")], capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    scored, _ = evaluate_models([str(trained_run), str(tmp_path / "m.onnx")], root, tmp_path / "out")
    (run, _), (onnx, _) = scored
    assert onnx.classes.shared == run.classes.shared and len(onnx.frames) == len(run.frames) > 0
    assert (onnx.frames["predicted"].to_numpy() == run.frames["predicted"].to_numpy()).mean() >= 0.9

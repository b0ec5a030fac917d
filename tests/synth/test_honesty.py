"""The corpus is honest: faces a Haar cascade finds for every group, and no shortcut to the label.

These are the checks that make any figure measured on the corpus worth reading.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vemo.synth.corpus import face_found
from vemo.synth.plan import plan_corpus
from vemo.synth.scene import ClipRenderer

pytestmark = pytest.mark.slow  # detection rates over a whole corpus

CHANCE = 0.25  # balanced accuracy of guessing among four classes


def _detect_in_clip(video: Path, rows: pd.DataFrame, every: int) -> list[bool]:
    """Found / not found for every `every`-th frame with a face in one decoded video."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    capture = cv2.VideoCapture(str(video))
    results = []
    for row in rows.itertuples():
        ok, frame = capture.read()
        assert ok, f"{video} ended early"
        if not row.face_present or row.frame % every:
            continue
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        detections = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
        results.append(face_found(detections, (row.face_x, row.face_y, row.face_w, row.face_h)))
    capture.release()
    return results


def test_haar_finds_the_face_in_95_percent_of_frames_in_every_group(demo_corpus: Path):
    """Decoded demo videos (12.5 fps), every 2nd frame with a face; per skin group and per sex."""
    clips = pd.read_csv(demo_corpus / "clips.csv").set_index("clip_id")
    frames = pd.read_csv(demo_corpus / "frames.csv")
    groups = list(frames.groupby("clip_id"))
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:  # OpenCV releases the GIL
        found_per_clip = pool.map(lambda g: _detect_in_clip(demo_corpus / clips.loc[g[0]].file, g[1], 2), groups)
    tallies: dict[str, list[int]] = {}
    for (clip_id, _), found in zip(groups, found_per_clip):
        clip = clips.loc[clip_id]
        for group in (f"skin {clip.skin_group}", f"sex {clip.sex}"):
            tally = tallies.setdefault(group, [0, 0])
            tally[0] += sum(found)
            tally[1] += len(found)
    rates = {group: found / total for group, (found, total) in tallies.items()}
    assert len([g for g in rates if g.startswith("skin")]) == 6 and {"sex M", "sex F"} <= set(rates)
    assert min(count for _, count in tallies.values()) >= 100
    assert min(rates.values()) >= 0.95, rates


def _aligned_face(frame: np.ndarray, row: pd.Series, size: int = 32) -> np.ndarray:
    """Grayscale face aligned on the true eyes, standardised, flattened."""
    src = np.array([[row.left_eye_x, row.left_eye_y], [row.right_eye_x, row.right_eye_y]], np.float32)
    dst = np.array([[0.3 * size, 0.35 * size], [0.7 * size, 0.35 * size]], np.float32)
    matrix, _ = cv2.estimateAffinePartial2D(src, dst)
    face = cv2.cvtColor(cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    face = face.astype(np.float32).ravel()
    return (face - face.mean()) / (face.std() + 1e-6)


def _global_cues(frame: np.ndarray, n_frames: int) -> np.ndarray:
    histogram = np.concatenate([cv2.calcHist([frame], [k], None, [8], [0, 256]).ravel() / frame[..., 0].size for k in range(3)])
    return np.concatenate([histogram, [frame.mean(), frame.std(), n_frames, frame[:, :24].mean(), frame[:, -24:].mean()]])


@pytest.fixture(scope="module")
def probe_features() -> dict[str, np.ndarray]:
    """Per clip of a 40-subject corpus: global cues and face at a neutral frame, face at apex."""
    plan = plan_corpus(None, subjects=40, clips=240, seed=21)
    features: dict[str, list] = {"global": [], "neutral": [], "apex": [], "label": [], "subject": []}
    for clip in plan.clips:
        renderer = ClipRenderer(clip)
        table = renderer.table
        neutral = [i for i in range(clip.onset) if table["face_present"][i]]
        if not neutral or not table["face_present"][clip.apex]:
            continue
        i = neutral[len(neutral) // 2]
        neutral_frame, apex_frame = renderer.render(i), renderer.render(clip.apex)
        features["global"].append(_global_cues(neutral_frame, clip.n_frames))
        features["neutral"].append(_aligned_face(neutral_frame, table.iloc[i]))
        features["apex"].append(_aligned_face(apex_frame, table.iloc[clip.apex]))
        features["label"].append(clip.emotion)
        features["subject"].append(clip.subject.subject_id)
    return {k: np.array(v) for k, v in features.items()}


def _subject_independent_balanced_accuracy(x: np.ndarray, features: dict[str, np.ndarray]) -> float:
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced"))
    predicted = cross_val_predict(classifier, x, features["label"], groups=features["subject"], cv=GroupKFold(5))
    return balanced_accuracy_score(features["label"], predicted)


def test_global_frame_cues_give_no_shortcut(probe_features):
    score = _subject_independent_balanced_accuracy(probe_features["global"], probe_features)
    assert score <= CHANCE + 0.10, f"global cues predict the emotion: balanced accuracy {score:.3f}"


def test_neutral_faces_before_onset_give_no_shortcut(probe_features):
    score = _subject_independent_balanced_accuracy(probe_features["neutral"], probe_features)
    assert score <= CHANCE + 0.10, f"neutral faces predict the emotion: balanced accuracy {score:.3f}"


def test_faces_at_apex_carry_the_emotion(probe_features):
    score = _subject_independent_balanced_accuracy(probe_features["apex"], probe_features)
    assert score >= CHANCE + 0.30, f"the expression is not learnable: balanced accuracy {score:.3f}"

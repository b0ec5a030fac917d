"""Metrics against a hand-computed fixture, and the evaluation files of a run."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from vemo.evaluation import compute_metrics, evaluate, format_report
from vemo.evaluation.measure import resampled_scores
from vemo.training import TrainConfig, train

CLASSES = ["disgust", "happiness", "sadness", "surprise"]


def test_metrics_match_a_hand_computed_fixture():
    # true:  d d d d h h s s s s   (no surprise)
    # pred:  d d h s h h s s d s
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 3, 1, 1, 2, 2, 0, 2])
    report = compute_metrics(y_true, y_pred, CLASSES, bootstrap=200)
    assert report.accuracy == pytest.approx(7 / 10)
    # recall: d 2/4, h 2/2, s 3/4 -> balanced (0.5 + 1 + 0.75) / 3
    assert report.balanced_accuracy == pytest.approx((0.5 + 1.0 + 0.75) / 3)
    assert report.per_class["disgust"]["recall"] == pytest.approx(0.5)
    assert report.per_class["disgust"]["precision"] == pytest.approx(2 / 3)  # predicted d: 3, right: 2
    assert report.per_class["happiness"]["precision"] == pytest.approx(2 / 3)
    assert report.per_class["sadness"]["precision"] == pytest.approx(1.0)
    assert np.isnan(report.per_class["surprise"]["recall"]) and report.per_class["surprise"]["support"] == 0
    assert report.classes_without_samples == ["surprise"]
    f1 = [2 * 0.5 * (2 / 3) / (0.5 + 2 / 3), 2 * 1 * (2 / 3) / (1 + 2 / 3), 2 * 0.75 * 1 / 1.75]
    assert report.macro_f1 == pytest.approx(np.mean(f1))
    assert report.confusion == [[2, 1, 0, 1], [0, 2, 0, 0], [1, 0, 3, 0], [0, 0, 0, 0]]
    assert report.confusion_normalized[0] == [0.5, 0.25, 0.0, 0.25]
    low, high = report.accuracy_ci95
    assert low <= 0.7 <= high and 0 <= low < high <= 1
    assert "n/a" in format_report(report)


def test_evaluate_writes_its_files(split_tiny_workspace: Path, tmp_path: Path):
    ws = Path(shutil.copytree(split_tiny_workspace, tmp_path / "ws"))
    train(ws, TrainConfig(model="lenet", optimizer="adam", epochs=2, batch_size=16, name="e"))
    report = evaluate(ws / "runs" / "e", "test")
    run = ws / "runs" / "e"
    saved = json.loads((run / "eval-test.json").read_text())
    assert saved["accuracy"] == report.accuracy and saved["samples"] == report.samples > 0
    assert sum(map(sum, report.confusion)) == report.samples
    assert (run / "confusion-test.png").stat().st_size > 1000 and (run / "curves.png").stat().st_size > 1000
    assert "SYNTHETIC" in format_report(report)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40), st.integers(0, 2**31))
def test_resampled_scores_equal_scikit_learns_for_every_resample(pairs, seed):
    """The vectorised bootstrap scores each resample as scikit-learn's accuracy and balanced accuracy do."""
    y_true, y_pred = (np.array(column) for column in zip(*pairs))
    index = np.random.default_rng(seed).integers(0, len(y_true), (7, len(y_true)))
    accuracy, balanced = resampled_scores(y_true, y_pred, index, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        for row, drawn in enumerate(index):
            assert accuracy[row] == pytest.approx(accuracy_score(y_true[drawn], y_pred[drawn]))
            assert balanced[row] == pytest.approx(balanced_accuracy_score(y_true[drawn], y_pred[drawn]))


def test_bootstrap_intervals_hold_the_estimate_repeat_and_narrow_with_more_samples():
    rng = np.random.default_rng(1)
    reports = []
    for samples in (40, 4000):
        y_true = rng.integers(0, 4, samples)
        y_pred = np.where(rng.random(samples) < 0.7, y_true, 0)
        report = compute_metrics(y_true, y_pred, CLASSES)
        again = compute_metrics(y_true, y_pred, CLASSES)  # the same seed, the same intervals
        assert (again.accuracy_ci95, again.balanced_accuracy_ci95) == (report.accuracy_ci95, report.balanced_accuracy_ci95)
        for estimate, (low, high) in ((report.accuracy, report.accuracy_ci95), (report.balanced_accuracy, report.balanced_accuracy_ci95)):
            assert low <= estimate <= high and low < high
        reports.append(report)
    small, large = (np.diff(r.balanced_accuracy_ci95)[0] for r in reports)
    assert large < small / 4  # a hundred times the samples: about a tenth of the width

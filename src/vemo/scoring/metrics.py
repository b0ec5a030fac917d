"""The figures of a level of decisions (frames or clips): scikit-learn's metrics through
`vemo.evaluation.compute_metrics`, with 95 % bootstrap intervals resampled by subject when the
data names subjects (a subject's decisions are not independent of each other)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from vemo.evaluation.measure import EvalReport, compute_metrics, interval95, resampled_scores

RESAMPLES = 1000


def level_metrics(decisions: pd.DataFrame, classes: tuple[str, ...], level: str, seed: int = 0) -> EvalReport | None:
    """None when the level has no decision."""
    if not len(decisions):
        return None
    index = {name: i for i, name in enumerate(classes)}
    y_true = decisions["true"].map(index).to_numpy(dtype=int)
    y_pred = decisions["predicted"].map(index).to_numpy(dtype=int)
    report = compute_metrics(y_true, y_pred, list(classes), split=level, bootstrap=RESAMPLES, seed=seed)
    subjects = decisions["subject"].fillna("").astype(str).to_numpy()
    if (subjects != "").all() and len(set(subjects)) > 1:
        accuracy, balanced = _by_subject(y_true, y_pred, subjects, len(classes), seed)
        report = dataclasses.replace(report, accuracy_ci95=interval95(accuracy), balanced_accuracy_ci95=interval95(balanced))
    return report


def _by_subject(y_true: np.ndarray, y_pred: np.ndarray, subjects: np.ndarray, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and balanced accuracy of resamples of whole subjects, with replacement."""
    rng = np.random.default_rng(seed)
    names = np.unique(subjects)
    members = [np.flatnonzero(subjects == name) for name in names]
    accuracy, balanced = np.empty(RESAMPLES), np.empty(RESAMPLES)
    for draw in range(RESAMPLES):
        chosen = np.concatenate([members[i] for i in rng.integers(0, len(names), len(names))])
        scores = resampled_scores(y_true, y_pred, chosen[None, :], classes)
        accuracy[draw], balanced[draw] = scores[0][0], scores[1][0]
    return accuracy, balanced

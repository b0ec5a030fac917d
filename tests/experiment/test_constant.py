"""Each setting against a constant predictor: beaten only when the whole interval is above chance."""

from __future__ import annotations

import pandas as pd

from vemo.experiment.constant import against_constant


def test_a_setting_beats_a_constant_predictor_only_when_its_whole_interval_is_above_chance():
    rows = pd.DataFrame(
        {
            "model": ["lenet", "lenet", "lgbp"],
            "optimizer": ["rmsprop", "sgd", "fit"],
            "batch_size": [10, 10, 0],
            "accuracy": [0.59, 0.445, 0.5],
            "balanced_accuracy": [0.52, 0.27, 0.4],
            "balanced_ci_low": [0.49, 0.24, 0.3],
            "balanced_ci_high": [0.55, 0.30, 0.6],
            "constant_accuracy": [0.452, 0.452, 0.452],
            "chance_balanced": [0.25, 0.25, 0.25],
        }
    )
    lines = against_constant(rows, {"lenet": "LeNet", "rmsprop": "RMSprop", "sgd": "SGD"})
    assert len(lines) == 2  # the classical baseline is not a network
    assert "LeNet, RMSprop, batch 10" in lines[0] and "beats it" in lines[0] and "45.2%" in lines[0]
    assert "does not beat it" in lines[1]

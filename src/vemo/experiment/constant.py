"""Does a setting beat a constant predictor? The question item by item of the study's report.

A network that calls everything the most frequent class reaches that class's share as accuracy
(45 % happiness in the ised-like test split) and 1 / classes as balanced accuracy, without
learning anything: each setting's figures are set against it.
"""

from __future__ import annotations

import pandas as pd


def against_constant(results: pd.DataFrame, names: dict[str, str]) -> list[str]:
    """Per setting: does the network beat a constant predictor (the test's most frequent class
    every time)? On balanced accuracy it does when the whole 95 % interval lies above 1 / classes.
    `names`: how the report writes models and optimizers."""
    lines: list[str] = []
    if "constant_accuracy" not in results:
        return lines
    for row in results[results["model"] != "lgbp"].itertuples():
        beats = row.balanced_ci_low > row.chance_balanced
        lines.append(
            f"{names.get(row.model, row.model)}, {names.get(row.optimizer, row.optimizer)}, batch {row.batch_size}: balanced accuracy "
            f"{100 * row.balanced_accuracy:.1f}% ({100 * row.balanced_ci_low:.1f}-{100 * row.balanced_ci_high:.1f}) against a constant "
            f"predictor's {100 * row.chance_balanced:.1f}%: {'beats it' if beats else 'does not beat it'}; accuracy "
            f"{100 * row.accuracy:.1f}% against the most frequent class's {100 * row.constant_accuracy:.1f}%."
        )
    return lines

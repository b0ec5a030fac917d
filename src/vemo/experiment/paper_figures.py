"""The figures the paper prints (Tables IV to IX), and the overall accuracies they imply.

The "accuracy" of Tables IV, V and VII equals the disgust column of Tables VI and VIII in every
row: a per-class figure printed as the overall accuracy. Overall accuracy is recomputed here
from the per-class accuracies and the test counts of Table II.
"""

from __future__ import annotations

CLASSES = ("disgust", "happiness", "sadness", "surprise")
TEST_COUNTS = {"disgust": 100, "happiness": 120, "sadness": 100, "surprise": 50}  # Table II, test column

# Table VI (batch 10): per-class accuracy (%) by model and optimizer
PER_CLASS_BATCH_10 = {
    ("lenet", "sgd"): (7.00, 95.00, 68.00, 6.00),
    ("lenet", "rmsprop"): (85.00, 96.67, 90.00, 62.00),
    ("lenet", "adam"): (84.00, 95.00, 93.00, 90.00),
    ("alexnet", "sgd"): (93.00, 99.17, 93.00, 78.00),
    ("alexnet", "rmsprop"): (12.00, 98.33, 88.00, 52.00),
    ("alexnet", "adam"): (6.00, 95.83, 67.00, 8.00),
}
# Table VIII (batch 100, with each model's chosen optimizer)
PER_CLASS_BATCH_100 = {("lenet", "rmsprop"): (47.00, 97.50, 84.00, 30.00), ("alexnet", "sgd"): (62.00, 30.00, 78.00, 80.00)}
# Tables IV, V, VII: (accuracy as printed, loss, training seconds)
PRINTED = {
    ("lenet", "sgd", 10): (7.00, 1.78, 607),
    ("lenet", "rmsprop", 10): (85.00, 0.36, 1238),
    ("lenet", "adam", 10): (84.00, 0.50, 1351),
    ("alexnet", "sgd", 10): (93.00, 0.24, 4625),
    ("alexnet", "rmsprop", 10): (12.00, 9.68, 5036),
    ("alexnet", "adam", 10): (6.00, 2.38, 4982),
    ("lenet", "rmsprop", 100): (79.46, 0.53, 1025),
    ("alexnet", "sgd", 100): (71.08, 0.78, 3767),
}
PAPER_CHOSEN_OPTIMIZER = {"lenet": "rmsprop", "alexnet": "sgd"}
TABLE_IX = {"lenet": 85.00, "alexnet": 93.00, "lgbp": 86.46}  # LGBP + PCA + LDA: quoted from the ISED paper
COLAB = {"GPU": "Tesla T4", "CPU": "Intel Xeon CPU @ 2.20 GHz", "RAM": "13 GB", "Disk": "37 GB"}


def overall_from_per_class(per_class: tuple[float, ...]) -> float:
    """Overall accuracy (%) implied by per-class accuracies and Table II's test counts."""
    counts = [TEST_COUNTS[c] for c in CLASSES]
    return sum(a * n for a, n in zip(per_class, counts)) / sum(counts)


def paper_per_class(model: str, optimizer: str, batch_size: int) -> tuple[float, ...] | None:
    table = PER_CLASS_BATCH_10 if batch_size == 10 else PER_CLASS_BATCH_100
    return table.get((model, optimizer))


def paper_overall(model: str, optimizer: str, batch_size: int) -> float | None:
    per_class = paper_per_class(model, optimizer, batch_size)
    return None if per_class is None else overall_from_per_class(per_class)

"""The layout of a predictions folder (`vemo predict --out`), named once for the code that writes
it (vemo.prediction.folder) and the code that reads it (vemo.view), which must start without
torch: so these names live here, not in the prediction package."""

from __future__ import annotations

SUMMARY = "predictions.csv"  # a row per input of the last call
STATE_DIR = ".predict-state"  # a marker per finished input, written last
RECORD = "predict.json"  # the model and PredictConfig of the last call (no input is named "predict": see folder.py)
SUMMARY_FIELDS = ("source", "name", "status", "label", "face_share", "face_frames", "frames", "error")


def summary_columns(classes: tuple[str, ...]) -> list[str]:
    """predictions.csv's columns: the fields around one probability column per class."""
    return [*SUMMARY_FIELDS[:4], *classes, *SUMMARY_FIELDS[4:]]

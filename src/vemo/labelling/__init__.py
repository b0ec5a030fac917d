"""Stage 2 of the paper: labels (from clips, sorted folders, a CSV, or the browser page) and the
train / validation / test split, each one table of the workspace."""

from vemo.labelling.labels import apply_labels
from vemo.labelling.sources import labels_from_clips, labels_from_csv, labels_from_folders
from vemo.labelling.split import format_split_table, split_workspace

__all__ = ["apply_labels", "format_split_table", "labels_from_clips", "labels_from_csv", "labels_from_folders", "split_workspace"]

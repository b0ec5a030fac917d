"""Train / validation / test splits that say how much they leak.

Frames of one clip are near-duplicates and one subject's clips share a face, so the honest
default keeps every subject in one split; `clip` keeps every clip in one split; `frame`
reproduces what Table II of the paper appears to be and reports the overlap it causes.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vemo.checks import require_number
from vemo.classes import PAPER_CLASSES, REJECTED
from vemo.errors import ConfigError, WorkspaceError
from vemo.io.files import clean_partial_files, write_csv_atomic
from vemo.io.workspace import SPLITS, read_clips, read_faces, read_labels, read_table, require_workspace

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")
PAPER_RATIOS = (0.50, 0.33, 0.17)  # Table II: 1111 / 729 / 370 of 2210
STRATEGIES = ("subject", "clip", "frame")
MAX_RATIO = 1e6  # shares may be given as fractions or as counts ("50,33,17")


@dataclass(frozen=True)
class SplitResult:
    """A split: the count table (class x split) and what is shared between splits."""

    strategy: str
    ratios: tuple[float, float, float]
    seed: int
    counts: pd.DataFrame
    shared_subjects: dict[str, int] = field(default_factory=dict)
    shared_clips: dict[str, int] = field(default_factory=dict)


def parse_ratios(text: str) -> tuple[float, float, float]:
    """'0.5,0.33,0.17' or '50,33,17' -> fractions summing to 1.

    Raises:
        ConfigError: not three non-negative numbers with a positive train share.
    """
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as error:
        raise ConfigError(f"ratios must be three numbers TRAIN,VAL,TEST, not {text[:80]!r}", "ratios") from error
    if len(values) != 3 or not all(math.isfinite(v) and 0 <= v <= MAX_RATIO for v in values) or values[0] <= 0:
        raise ConfigError(f"ratios must be three finite numbers from 0 to {MAX_RATIO:g} with TRAIN > 0, not {text[:80]!r}", "ratios")
    total = sum(values)
    return tuple(v / total for v in values)  # type: ignore[return-value]


def labelled_crops(workspace: Path, subjects_file: Path | None = None) -> pd.DataFrame:
    """Labelled, not rejected crops with their source_id (clip) and subject (if known)."""
    faces = read_faces(workspace)
    labels = read_labels(workspace)
    unknown = ~labels["crop_path"].isin(faces["crop_path"])
    if unknown.any():
        log.warning(
            "%s: %d labelled crop(s) not in faces.csv (e.g. %s): left out of the split",
            workspace / "labels.csv",
            int(unknown.sum()),
            labels.loc[unknown, "crop_path"].iloc[0],
        )
    rows = faces[["crop_path", "source_id", "frame"]].merge(labels[["crop_path", "label"]], on="crop_path")
    rows = rows[rows["label"] != REJECTED]
    if subjects_file is not None:
        subjects = read_table(Path(subjects_file).parent, Path(subjects_file).name, ["source_id", "subject"])
    else:
        subjects = read_clips(workspace)
        subjects = subjects if subjects is not None and "subject" in subjects.columns else None
    if subjects is not None:
        rows = rows.merge(subjects[["source_id", "subject"]].drop_duplicates("source_id"), on="source_id", how="left")
    return rows.reset_index(drop=True)


def assign_groups(
    groups: pd.Series, labels: pd.Series, ratios: tuple[float, float, float], classes: list[str], rng: np.random.Generator
) -> pd.Series:
    """Assign whole groups to splits so that each split's class counts approach its ratio.

    Greedy: groups in random order, largest first, each to the split whose per-class counts
    are furthest below target (relative to its size). No group is ever in two splits.
    """
    counts = pd.crosstab(groups, labels).reindex(columns=classes, fill_value=0)
    order = counts.index.to_numpy()[rng.permutation(len(counts))]
    order = sorted(order, key=lambda g: -counts.loc[g].sum())
    totals = counts.sum().to_numpy(dtype=float)
    targets = np.outer(ratios, totals)
    filled = np.zeros_like(targets)
    assignment = {}
    for group in order:
        vector = counts.loc[group].to_numpy(dtype=float)
        costs = []
        for s in range(3):
            trial = filled.copy()
            trial[s] += vector
            costs.append(np.sum((trial - targets) ** 2 / np.maximum(targets, 1)))
        best = int(np.argmin(costs))
        filled[best] += vector
        assignment[group] = SPLIT_NAMES[best]
    _fill_empty_splits(assignment, counts, ratios)
    return groups.map(assignment)


def _fill_empty_splits(assignment: dict, counts: pd.DataFrame, ratios: tuple[float, float, float]) -> None:
    """With few groups the greedy pass can leave a split empty: give it the smallest group
    of the split that has the most groups, as long as that split keeps one."""
    for s, name in enumerate(SPLIT_NAMES):
        if ratios[s] <= 0 or name in assignment.values():
            continue
        members = {n: [g for g, v in assignment.items() if v == n] for n in SPLIT_NAMES}
        donor = max(members, key=lambda n: len(members[n]))
        if len(members[donor]) < 2:
            continue
        smallest = min(members[donor], key=lambda g: counts.loc[g].sum())
        assignment[smallest] = name


def split_workspace(
    workspace: Path | str,
    *,
    by: str = "subject",
    ratios: tuple[float, float, float] = PAPER_RATIOS,
    seed: int = 0,
    subjects_file: Path | None = None,
    classes: tuple[str, ...] = PAPER_CLASSES,
) -> SplitResult:
    """Write WS/splits.csv (crop_path, split, label, source_id, subject, strategy, ratios, seed).

    Raises:
        ConfigError: unknown strategy.
        WorkspaceError: no labels, or `subject` without subjects.
    """
    if by not in STRATEGIES:
        raise ConfigError(f"by must be one of {', '.join(STRATEGIES)}, not {by!r}", "by")
    require_number(seed, "seed", 0, 2**32 - 1)
    workspace = require_workspace(workspace)
    clean_partial_files(workspace)  # a killed run's temporary tables
    rows = labelled_crops(workspace, subjects_file)
    if rows.empty:
        raise WorkspaceError(f"no labelled crops in {workspace}; run `vemo label` first")
    rng = np.random.default_rng(seed)
    present = [c for c in classes if c in set(rows["label"])] + sorted(set(rows["label"]) - set(classes))
    if by == "subject":
        if "subject" not in rows.columns or rows["subject"].isna().any():
            raise WorkspaceError(
                "splitting by subject needs subjects: a clips.csv with a subject column, or a subjects_file", "subjects_file"
            )
        rows["split"] = assign_groups(rows["subject"], rows["label"], ratios, present, rng)
    elif by == "clip":
        rows["split"] = assign_groups(rows["source_id"], rows["label"], ratios, present, rng)
    else:
        rows["split"] = _frame_split(rows["label"], ratios, rng)
    rows["strategy"] = by
    rows["ratios"] = ",".join(f"{r:.4f}" for r in ratios)
    rows["seed"] = seed
    columns = [
        "crop_path",
        "split",
        "label",
        "source_id",
        *(["subject"] if "subject" in rows.columns else []),
        "strategy",
        "ratios",
        "seed",
    ]
    write_csv_atomic(workspace / SPLITS, rows[columns].sort_values("crop_path"))
    result = _summarise(rows, by, ratios, seed, present)
    if by == "frame" and (result.shared_clips.get("train-test") or result.shared_subjects.get("train-test")):
        log.warning(
            "frame split leaks: %d clip(s) and %d subject(s) appear in both train and test; test figures will be optimistic",
            result.shared_clips.get("train-test", 0),
            result.shared_subjects.get("train-test", 0),
        )
    return result


def _frame_split(labels: pd.Series, ratios: tuple[float, float, float], rng: np.random.Generator) -> pd.Series:
    """Each crop on its own, stratified: per class, shuffled and cut at the ratios."""
    split = pd.Series("train", index=labels.index, dtype=object)
    for _, index in labels.groupby(labels).groups.items():
        order = np.array(index)[rng.permutation(len(index))]
        n_train = int(round(ratios[0] * len(order)))
        n_val = int(round(ratios[1] * len(order)))
        split[order[n_train : n_train + n_val]] = "val"
        split[order[n_train + n_val :]] = "test"
    return split


def _summarise(rows: pd.DataFrame, by: str, ratios, seed: int, classes: list[str]) -> SplitResult:
    counts = pd.crosstab(rows["label"], rows["split"]).reindex(index=classes, columns=list(SPLIT_NAMES), fill_value=0)
    counts.loc["Total"] = counts.sum()
    shared_subjects, shared_clips = {}, {}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        key = f"{a}-{b}"
        clips = [set(rows.loc[rows["split"] == s, "source_id"]) for s in (a, b)]
        shared_clips[key] = len(clips[0] & clips[1])
        if "subject" in rows.columns and rows["subject"].notna().all():
            subjects = [set(rows.loc[rows["split"] == s, "subject"]) for s in (a, b)]
            shared_subjects[key] = len(subjects[0] & subjects[1])
    return SplitResult(by, ratios, seed, counts, shared_subjects, shared_clips)


def format_split_table(result: SplitResult) -> str:
    """Table II of the paper for this workspace, with what the splits share."""
    table = result.counts.rename(columns={"train": "Train", "val": "Validation", "test": "Test"})
    table.index = [str(i).capitalize() for i in table.index]
    table.columns.name = None
    lines = [f"split by {result.strategy}, ratios {'/'.join(f'{r:.2f}' for r in result.ratios)}, seed {result.seed}", table.to_string()]
    shared = [f"{k}: {v} subjects" for k, v in result.shared_subjects.items()]
    shared += [f"{k}: {v} clips" for k, v in result.shared_clips.items()]
    lines.append("shared between splits: " + ", ".join(shared))
    if result.strategy == "frame" and any(result.shared_clips.values()):
        lines.append("WARNING: a frame split puts frames of the same clips and subjects in train and test; test figures are optimistic")
    return "\n".join(lines)


def read_split_fingerprint(workspace: Path) -> str:
    """sha256 of splits.csv and labels.csv, short: identifies the data a model saw."""
    digest = hashlib.sha256()
    for name in (SPLITS, "labels.csv"):
        path = workspace / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]

"""Splits: subject and clip splits never leak, the frame split reports its leak, seeds repeat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vemo.errors import ConfigError, WorkspaceError
from vemo.labelling import apply_labels, labels_from_clips
from vemo.labelling.split import PAPER_RATIOS, assign_groups, parse_ratios, split_workspace


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3)), min_size=3, max_size=300), st.integers(0, 2**16))
def test_groups_never_span_two_splits(samples, seed):
    groups = pd.Series([f"g{g}" for g, _ in samples])
    labels = pd.Series([f"c{c}" for _, c in samples])
    split = assign_groups(groups, labels, PAPER_RATIOS, sorted(set(labels)), np.random.default_rng(seed))
    assert split.notna().all() and set(split) <= {"train", "val", "test"}
    assert (pd.DataFrame({"g": groups, "s": split}).groupby("g")["s"].nunique() == 1).all()


@pytest.fixture()
def labelled(workspace_copy: Path) -> Path:
    apply_labels(workspace_copy, labels_from_clips(workspace_copy, window="all"), "clips")
    return workspace_copy


@pytest.mark.parametrize("by", ["subject", "clip"])
def test_grouped_splits_do_not_leak_and_repeat_with_the_seed(labelled: Path, by: str):
    result = split_workspace(labelled, by=by, seed=3)
    assert sum(result.shared_clips.values()) == 0
    if by == "subject":
        assert sum(result.shared_subjects.values()) == 0
    splits = pd.read_csv(labelled / "splits.csv")
    key = "subject" if by == "subject" else "source_id"
    assert (splits.groupby(key)["split"].nunique() == 1).all()
    assert set(splits["strategy"]) == {by} and set(splits["seed"]) == {3}
    first = (labelled / "splits.csv").read_bytes()
    split_workspace(labelled, by=by, seed=3)
    assert (labelled / "splits.csv").read_bytes() == first


def test_frame_split_is_stratified_and_reports_its_leak(labelled: Path):
    result = split_workspace(labelled, by="frame", seed=1)
    assert result.shared_clips["train-test"] > 0 and result.shared_subjects["train-test"] > 0
    counts = result.counts.drop(index="Total")
    for _, row in counts.iterrows():
        n = row.sum()
        assert abs(row["train"] - PAPER_RATIOS[0] * n) <= 1 and abs(row["val"] - PAPER_RATIOS[1] * n) <= 1


def test_rejected_crops_are_left_out(labelled: Path):
    crops = pd.read_csv(labelled / "labels.csv")["crop_path"].head(5)
    apply_labels(labelled, pd.DataFrame({"crop_path": crops, "label": "rejected"}), "manual", overwrite=True)
    split_workspace(labelled, by="clip")
    assert not set(crops) & set(pd.read_csv(labelled / "splits.csv")["crop_path"])


def test_subject_split_without_subjects_is_a_clear_error(labelled: Path):
    (labelled / "clips.csv").unlink()
    with pytest.raises(WorkspaceError, match="needs subjects"):
        split_workspace(labelled, by="subject")


def test_ratio_parsing():
    assert parse_ratios("50,33,17") == pytest.approx((0.5, 0.33, 0.17))
    for bad in ("1,2", "a,b,c", "0,1,1", "-1,1,1"):
        with pytest.raises(ConfigError):
            parse_ratios(bad)

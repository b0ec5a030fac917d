"""What `vemo view` and `vemo report` accept of an input's files: a verdict and a frames table as
`vemo predict` writes them. A file cut short by a partial copy, or with junk under vemo's
column names, makes that one input "damaged" (with the reason) instead of failing the page or
the report for every input.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from vemo.errors import VemoError

FRAME_COLUMNS = ("track", "frame", "time_s", "face_found", "x", "y", "w", "h", "label")
MAX_COORDINATE = 1e6  # pixels: no frame vemo reads is wider
MAX_INDEX = 2**31 - 1  # frames and tracks


class DamagedInput(VemoError):
    """An input's verdict or frames table that is not what `vemo predict` writes."""


def checked_frames(table: pd.DataFrame, classes: list[str], name: str) -> pd.DataFrame:
    """The frames table with its numbers as numbers, after checking every cell a page or report
    reads. `table` was read with every cell as text where it may be empty (keep_default_na off).

    Raises:
        DamagedInput: a column missing, or the first row whose values vemo never writes.
    """
    smoothed = [f"{c}_smoothed" for c in classes if f"{c}_smoothed" in table.columns]
    missing = [c for c in (*FRAME_COLUMNS, *classes) if c not in table.columns]
    if missing:
        raise DamagedInput(f"{name}: column {', '.join(missing)} missing")
    table = table.copy()
    for column in ("track", "frame", "time_s", "x", "y", "w", "h", *classes, *smoothed):
        table[column] = pd.to_numeric(table[column].replace("", np.nan), errors="coerce").astype(float)
    face = table["face_found"].astype(str)
    found = face == "True"
    always = ["track", "frame", "time_s"]
    wrong = (
        ~np.isfinite(table[always]).all(axis=1)
        | ~face.isin(["True", "False"])
        | (table["frame"] < 0)
        | (table["frame"] > MAX_INDEX)
        | (table["track"] < 0)
        | (table["track"] > MAX_INDEX)
        | (table["frame"] % 1 != 0)
        | (table["track"] % 1 != 0)
        | (table["time_s"] < 0)
    )
    boxes, probabilities = table[["x", "y", "w", "h"]], table[[*classes, *smoothed]]
    wrong |= found & ~(
        np.isfinite(boxes).all(axis=1)
        & (boxes.abs() <= MAX_COORDINATE).all(axis=1)
        & (table[["w", "h"]] > 0).all(axis=1)
        & ((probabilities >= 0) & (probabilities <= 1)).all(axis=1)
    )
    if wrong.any():
        first = int(np.flatnonzero(wrong.to_numpy())[0])
        raise DamagedInput(f"{name}: row {first + 1} of {len(table)} holds values vemo never writes (a copy cut short, or changed by hand)")
    return table


def check_verdict(verdict: Any, name: str) -> None:
    """Raises DamagedInput: not a verdict object with the fields a page or report reads, of their types."""
    if not isinstance(verdict, dict):
        raise DamagedInput(f"{name}: a {type(verdict).__name__}, not a verdict object")
    expected = {"segments": list, "corpus_of_model": dict, "model": str, "aggregation": str}
    for key, kind in expected.items():
        if key in verdict and not isinstance(verdict[key], kind):
            raise DamagedInput(f"{name}: {key} is a {type(verdict[key]).__name__}, not a {kind.__name__}")
    track = verdict.get("track", 0)
    if isinstance(track, bool) or not isinstance(track, int) or not 0 <= track <= MAX_INDEX:
        raise DamagedInput(f"{name}: track {str(track)[:40]!r} is not a track number")
    for segment in verdict.get("segments", []):
        if not _is_segment(segment):
            raise DamagedInput(f"{name}: a segment that is not start_s, end_s, emotion and mean_probability")


def _is_segment(segment: Any) -> bool:
    if not isinstance(segment, dict) or not isinstance(segment.get("emotion"), str):
        return False
    numbers = [segment.get(key) for key in ("start_s", "end_s", "mean_probability")]
    return all(isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in numbers)

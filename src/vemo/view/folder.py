"""A predictions folder as the viewer and the report read it: the inputs of predictions.csv,
each with its verdict, its frames table, and the source file it names.

Only sources that the table names (resolved through the run's own markers, which record each
input's absolute path) are ever opened: the page asks for inputs by their number, never by path.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from vemo.errors import VemoError
from vemo.io.media import MediaSource, open_media
from vemo.io.predictions import STATE_DIR, SUMMARY, SUMMARY_FIELDS
from vemo.view.damage import DamagedInput, check_verdict, checked_frames


@dataclass(frozen=True)
class InputRow:
    """One row of predictions.csv, with the source file it resolves to (None when gone)."""

    number: int
    source: str
    name: str
    status: str
    label: str
    probabilities: dict[str, float | None]
    face_share: float | None
    frames: int
    error: str
    path: Path | None

    def to_json(self) -> dict:
        return {
            "number": self.number,
            "source": self.source,
            "name": self.name,
            "status": self.status,
            "label": self.label,
            "probabilities": self.probabilities,
            "face_share": self.face_share,
            "frames": self.frames,
            "error": self.error,
            "playable": self.path is not None,
        }


class PredictionsFolder:
    """What `vemo predict --out OUT` wrote, read once; an input's details on demand."""

    def __init__(self, out: Path | str) -> None:
        """Raises VemoError: not a predictions folder (no readable predictions.csv)."""
        self.out = Path(out)
        table_path = self.out / SUMMARY
        try:
            table = pd.read_csv(table_path, keep_default_na=False, dtype={"name": str, "label": str, "error": str})
        except (OSError, ValueError) as error:
            raise VemoError(
                f"{self.out}: not a predictions folder ({SUMMARY} missing or unreadable: "
                f"{getattr(error, 'strerror', None) or error}); make one with vemo predict --out"
            ) from None
        missing = [c for c in ("source", "name", "status") if c not in table.columns]
        if missing:
            raise VemoError(f"{table_path}: columns {', '.join(missing)} missing: not written by vemo predict")
        self.classes = [c for c in table.columns if c not in SUMMARY_FIELDS]
        self.rows = [self._checked(self._row(number, record)) for number, record in enumerate(table.to_dict("records"))]

    def _checked(self, row: InputRow) -> InputRow:
        """The row, or, when its verdict or frames table is damaged (cut short by a partial
        copy, junk under vemo's columns), the row marked "damaged" with what is wrong: it is
        listed and reported as such, never played, and the other inputs are unaffected."""
        if row.status == "failed" or not row.name:
            return row
        try:
            self.verdict(row)
            self.frames_table(row)
        except DamagedInput as damage:
            return replace(row, status="damaged", error=str(damage), path=None)
        return row

    def _row(self, number: int, record: dict) -> InputRow:
        probabilities = {c: _number(record.get(c)) for c in self.classes}
        name = str(record.get("name", ""))
        return InputRow(
            number,
            str(record["source"]),
            name,
            str(record["status"]),
            str(record.get("label", "")),
            probabilities,
            _number(record.get("face_share")),
            int(_number(record.get("frames")) or 0),
            str(record.get("error", "")),
            None if record["status"] == "failed" else self._source_path(name, str(record["source"])),
        )

    def _source_path(self, name: str, source: str) -> Path | None:
        marker = self.out / STATE_DIR / f"{name}.json"
        candidates = []
        if name and marker.is_file():
            try:
                candidates.append(Path(json.loads(marker.read_text())["key"]))
            except (ValueError, KeyError, OSError):
                pass
        candidates.append(Path(source) if Path(source).is_absolute() else Path.cwd() / source)
        return next((path.resolve() for path in candidates if path.is_file()), None)

    def row(self, number: int) -> InputRow:
        """Raises VemoError: no such input."""
        if not 0 <= number < len(self.rows):
            raise VemoError(f"no input number {number} in {self.out / SUMMARY}")
        return self.rows[number]

    def details(self, number: int) -> dict:
        """An input's verdict (its JSON), fps and kind, and its analysed frames as columns:
        time, frame, track, box, label and smoothed probabilities per class."""
        row = self.row(number)
        verdict = self.verdict(row)
        frames = self.frames_table(row)
        media = self.media(row)
        columns: dict[str, list] = {}
        if frames is not None:
            kept = frames[frames["face_found"].astype(str) == "True"] if "face_found" in frames else frames
            columns = {
                "time_s": frames["time_s"].round(4).tolist(),
                "frame": frames["frame"].astype(int).tolist(),
                "faces": _faces(kept, self.classes),
            }
        return {
            **row.to_json(),
            "verdict": verdict,
            "classes": self.classes,
            "timeline": columns,
            "fps": media.fps if media else None,
            "kind": media.kind if media else None,
            "width": media.info.width if media else None,
        }

    def verdict(self, row: InputRow) -> dict | None:
        """The input's verdict JSON; None when it has none (failed, or not written).

        Raises:
            DamagedInput: a file that is not a verdict as vemo writes it.
        """
        if row.status == "damaged":
            return None
        path = self.out / f"{row.name}.json"
        if not row.name or not path.is_file():
            return None
        try:
            verdict = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise DamagedInput(f"{path.name} cannot be read ({type(error).__name__})") from None
        check_verdict(verdict, path.name)
        return verdict

    def frames_table(self, row: InputRow) -> pd.DataFrame | None:
        """The input's frames table; None when it has none.

        Raises:
            DamagedInput: a table cut short, or with values vemo never writes in its columns.
        """
        path = self.out / f"{row.name}.frames.csv"
        if row.status == "damaged" or not row.name or not path.is_file():
            return None
        try:
            table = pd.read_csv(path, dtype={"label": str, "face_found": str}, keep_default_na=False)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
            raise DamagedInput(f"{path.name} cannot be read: {reason}") from None
        return checked_frames(table, self.classes, path.name)

    def media(self, row: InputRow) -> MediaSource | None:
        if row.path is None:
            return None
        try:
            return open_media(row.path)
        except VemoError:
            return None


def _faces(table: pd.DataFrame, classes: list[str]) -> list[list]:
    """[frame, track, x, y, w, h, label, [smoothed probability per class]] per face of the table."""
    smoothed = [f"{c}_smoothed" if f"{c}_smoothed" in table else c for c in classes]
    values = table[smoothed].to_numpy(dtype=float).round(4)
    return [
        [int(r.frame), int(r.track), int(r.x), int(r.y), int(r.w), int(r.h), str(r.label), list(p)]
        for r, p in zip(table.itertuples(index=False), values.tolist())
    ]


def _number(value) -> float | None:
    """A table's number, or None (JSON has no NaN) when it is empty or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None

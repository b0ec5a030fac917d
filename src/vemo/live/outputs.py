"""What a live session leaves in `--out`: the frames table and verdict of file mode, and its own
figures (`<name>.live.json`), each written atomically, so a session stopped by Ctrl-C or SIGTERM
leaves whole files or none."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from vemo.io.files import write_csv_atomic, write_json_atomic
from vemo.live.session import LiveSession
from vemo.prediction.timeline import VideoPrediction


def write_live_outputs(session: LiveSession, out: Path) -> tuple[VideoPrediction, list[Path]]:
    """OUT/<name>.frames.csv, OUT/<name>.json and OUT/<name>.live.json; returns the verdict and the paths."""
    verdict, table = session.outcome()
    stem = out / session.source.name
    paths = [Path(f"{stem}.frames.csv"), Path(f"{stem}.json"), Path(f"{stem}.live.json")]
    write_csv_atomic(paths[0], table)
    write_json_atomic(paths[1], asdict(verdict))
    write_json_atomic(paths[2], {"source": session.source.text, "kind": session.source.kind,
                                 "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 **session.stats.to_json()})
    return verdict, paths

"""What a live session leaves in `--out`: the frames table and verdict of file mode, and its own
figures (`<name>.live.json`), each written atomically, so a session stopped by Ctrl-C or SIGTERM
leaves whole files or none. While it runs they are also saved every `save_every` seconds, in a
thread beside the analysis, so a session killed outright (SIGKILL, a power cut) loses at most
that much."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from vemo.io.files import clean_partial_files, write_csv_atomic, write_json_atomic
from vemo.live.session import LiveSession
from vemo.prediction.media import VideoPrediction


def write_live_outputs(session: LiveSession, out: Path) -> tuple[VideoPrediction, list[Path]]:
    """OUT/<name>.frames.csv, OUT/<name>.json and OUT/<name>.live.json; returns the verdict and the paths."""
    verdict, table = session.outcome()
    stem = out / session.source.name
    paths = [Path(f"{stem}.frames.csv"), Path(f"{stem}.json"), Path(f"{stem}.live.json")]
    write_csv_atomic(paths[0], table)
    write_json_atomic(paths[1], asdict(verdict))
    write_json_atomic(
        paths[2],
        {
            "source": session.source.text,
            "kind": session.source.kind,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **session.stats.to_json(),
        },
    )
    return verdict, paths


class PeriodicSaver:
    """Saves a running session's outputs every `every` seconds, one save at a time, off the
    analysis thread; `finish` writes the final ones."""

    def __init__(self, session: LiveSession, out: Path, every: float) -> None:
        self.session, self.out, self.every = session, out, every
        self._last = time.monotonic()
        self._saving: threading.Thread | None = None
        self._lock = threading.Lock()
        clean_partial_files(out)  # the temporary files of a session killed while saving

    def tick(self) -> None:
        """Call after each result: starts a save when one is due and none is running."""
        due = self.every > 0 and time.monotonic() - self._last >= self.every
        if due and (self._saving is None or not self._saving.is_alive()):
            self._last = time.monotonic()
            self._saving = threading.Thread(target=self._save, name="vemo-live-save", daemon=True)
            self._saving.start()

    def _save(self) -> None:
        with self._lock:
            write_live_outputs(self.session, self.out)

    def finish(self) -> tuple[VideoPrediction, list[Path]]:
        with self._lock:
            return write_live_outputs(self.session, self.out)

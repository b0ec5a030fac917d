"""Atomic writes: a killed run never leaves half a file behind.

Every table, image and video vemo writes goes to a temporary name in the same folder first
and is then moved into place with `os.replace`, which is atomic on one file system.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from vemo.errors import OutputError

if TYPE_CHECKING:  # a worker process that writes no table need not import pandas
    import pandas as pd

_UMASK = os.umask(0o022)  # read once, at import: reading it means setting it
os.umask(_UMASK)
TEMP_TAG = "vemo-tmp"  # in every temporary name, with the writer's PID: `clean_partial_files` sweeps only these


def require_file_destination(path: Path | str, parameter: str | None = None) -> None:
    """Check, before the work that makes it, that a file can take the place of `path`.

    Raises:
        OutputError: `path` is an existing folder (naming `parameter`, the option that gave it).
    """
    if Path(path).is_dir():
        given = f"{parameter} " if parameter else ""
        raise OutputError(f"{given}{path} is a folder, not a file: give a file name", *filter(None, [parameter]))


@contextlib.contextmanager
def atomic_path(path: Path | str, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it onto `path` only if the block succeeds.

    Args:
        path: final destination.
        suffix: suffix of the temporary name (defaults to the destination's, so that
            writers that pick a format from the extension, like OpenCV, still work).
    """
    path = Path(path)
    require_file_destination(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.{TEMP_TAG}-{os.getpid()}-",
        suffix=path.suffix if suffix is None else suffix,
        dir=path.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; the final file follows the umask, as open() would
        os.replace(tmp, path)
    except OSError as error:
        if error.errno is None or error.filename == str(path):
            raise
        # a full disk is met while writing the temporary file: the message names the file being made
        raise OSError(error.errno, error.strerror, str(path)) from error
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: Path | str, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path | str, data: Any) -> None:
    """Write `data` as indented, strict JSON to `path` atomically: a NaN or infinite number
    (no face, nothing measured) is written as null, which every JSON reader accepts."""
    text = json.dumps(_strict(data), indent=2, sort_keys=False, default=str, allow_nan=False)
    write_text_atomic(path, text + "\n")


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    return value


def write_csv_atomic(path: Path | str, frame: pd.DataFrame) -> None:
    """Write a DataFrame as CSV (no index) to `path` atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def write_image_atomic(path: Path | str, image: np.ndarray, params: list[int] | None = None) -> None:
    """Write an image (H, W[, 3]) uint8 BGR to `path` atomically, format from the extension.

    Args:
        params: OpenCV encoder parameters, e.g. [cv2.IMWRITE_PNG_COMPRESSION, 1].

    Raises:
        OutputError: OpenCV could not encode or write the image.
    """
    path = Path(path)
    ok, buffer = cv2.imencode(path.suffix, image, params or [])
    if not ok:
        raise OutputError(f"cannot encode image: {path}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.tobytes())


def clean_partial_files(folder: Path | str) -> int:
    """Remove the temporary files that killed vemo processes left in `folder`; returns how many.

    Only vemo's own temporary names (`.NAME.vemo-tmp-PID-RANDOM.EXT`) whose process is gone are
    removed: another file starting with a dot (a lock, a user's file) or the temporary file of a
    vemo command still running beside this one is never touched.
    """
    removed = 0
    for leftover in Path(folder).glob(f".*.{TEMP_TAG}-*"):
        match = re.search(rf"\.{TEMP_TAG}-(\d+)-", leftover.name)
        if leftover.is_file() and match and not _process_alive(int(match.group(1))):
            try:
                leftover.unlink()
                removed += 1
            except FileNotFoundError:  # swept by another process meanwhile
                pass
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # none of this process's own writes is under way while it sweeps
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def ensure_writable_dir(path: Path | str) -> Path:
    """Create `path` if needed and check that files can be created in it.

    Raises:
        OutputError: the folder cannot be created or written to.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe.", delete=True):
            pass
    except OSError as error:
        raise OutputError(f"cannot write to folder: {path} ({error.strerror or error})") from error
    return path


@contextlib.contextmanager
def exclusive_lock(path: Path | str, busy: str | None = None) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if missing) across processes: the
    writers of one table take it around read-modify-write, so none overwrites another. With
    `busy`, refuse at once instead of waiting (a run that holds a folder for its whole length).
    The kernel drops the lock when its process dies, so a killed writer never blocks the next.

    Raises:
        OutputError: `busy`, when another process holds the lock.
    """
    import fcntl

    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if busy is None else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(str(busy)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

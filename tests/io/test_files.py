"""Temporary files: named by vemo and its process, swept only when their writer is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vemo.io.files import TEMP_TAG, atomic_path, clean_partial_files


def test_only_dead_writers_temporary_files_are_swept(tmp_path: Path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".labels.{TEMP_TAG}-{int(dead.stdout)}-abc123.csv"
    live = tmp_path / f".splits.{TEMP_TAG}-{os.getppid()}-def456.csv"  # a process that is running
    lock, hidden = tmp_path / ".labels.lock", tmp_path / ".user.notes.txt"
    for path in (stale, live, lock, hidden):
        path.write_text("x")
    assert clean_partial_files(tmp_path) == 1
    assert not stale.exists() and live.exists() and lock.exists() and hidden.exists()


def test_a_failed_write_leaves_no_temporary_file_and_names_carry_the_pid(tmp_path: Path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "table.csv") as tmp:
        assert f".table.{TEMP_TAG}-{os.getpid()}-" in tmp.name and tmp.suffix == ".csv"
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_json_is_strict_nan_becomes_null(tmp_path: Path):
    import json

    from vemo.io.files import write_json_atomic

    write_json_atomic(
        tmp_path / "v.json", {"label": None, "probabilities": {"happiness": float("nan")}, "segments": ({"p": float("inf")},), "n": 3}
    )
    text = (tmp_path / "v.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON")) == {
        "label": None,
        "probabilities": {"happiness": None},
        "segments": [{"p": None}],
        "n": 3,
    }


def test_written_files_follow_the_umask_not_the_temporary_files_0600(tmp_path: Path):
    import stat

    from vemo.io.files import _UMASK, write_text_atomic

    write_text_atomic(tmp_path / "table.csv", "a,b\n")
    mode = stat.S_IMODE((tmp_path / "table.csv").stat().st_mode)
    assert mode == 0o666 & ~_UMASK  # under the usual umask 022: rw-r--r--, not the temporary rw-------

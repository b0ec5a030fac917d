"""Files that claim too much or never end: giant image headers, FIFOs, devices. Each gets one line
naming it, the rest of the batch is processed, and nothing decodes or reads without bound."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from vemo.errors import VideoOpenError
from vemo.io.media import content_hash, probe_media

VEMO = [sys.executable, "-m", "vemo", "-q"]


def claimed_png(path: Path, width: int, height: int) -> Path:
    """A small PNG whose header claims width x height grey pixels (its data: a few empty rows)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = zlib.compress(b"\0" * (width + 1) * 4)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )
    return path


def test_a_giant_image_is_refused_from_its_header(tmp_path: Path, record):
    started = time.perf_counter()
    with pytest.raises(VideoOpenError, match="image too large.*50000x50000"):
        probe_media(claimed_png(tmp_path / "giant.png", 50000, 50000))
    assert time.perf_counter() - started < 5  # never decoded (a decode takes tens of seconds and gigabytes)
    record("hostile file: giant image header", 1, 1)


def test_the_limit_can_be_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VEMO_MAX_IMAGE_PIXELS", str(10**12))
    with pytest.raises(VideoOpenError, match="cannot decode"):  # past the header check, the truncated data fails
        probe_media(claimed_png(tmp_path / "giant.png", 50000, 50000))


@pytest.mark.parametrize("make, kind", [(lambda p: os.mkfifo(p), "FIFO"), (None, "character device")])
def test_fifos_and_devices_are_not_read(tmp_path: Path, make, kind: str, record):
    path = tmp_path / "pipe.mp4"
    if make is None:
        path = Path("/dev/zero")
    else:
        make(path)
    for check in (probe_media, content_hash):
        with pytest.raises(VideoOpenError, match=f"not a regular file.*{kind}"):
            check(path)
    record(f"hostile file: {kind}", 2, 2)


@pytest.fixture()
def hostile_batch(tmp_path: Path, shared_media: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(shared_media / "single_face.jpg", folder / "good.jpg")
    claimed_png(folder / "giant.png", 50000, 50000)
    claimed_png(folder / "grey.png", 30000, 30000)
    os.mkfifo(folder / "pipe.mp4")
    return folder


@pytest.mark.parametrize("command", ["predict", "extract"])
def test_a_batch_with_hostile_files_processes_the_good_photo(command: str, hostile_batch: Path, trained_run: Path, tmp_path: Path, record):
    inputs = [
        str(hostile_batch / "good.jpg"),
        str(hostile_batch / "giant.png"),
        str(hostile_batch / "grey.png"),
        str(hostile_batch / "*.mp4"),
        "/dev/zero",
    ]
    extra = ["--model", str(trained_run)] if command == "predict" else []
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        child = subprocess.Popen([*VEMO, command, *inputs, *extra, "--out", str(tmp_path / "out")], stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory, not the session's largest child
    child.returncode = os.waitstatus_to_exitcode(status)
    done = subprocess.CompletedProcess(child.args, child.returncode, (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text())
    peak_mb = usage.ru_maxrss / 1024
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    for name, problem in [
        ("giant.png", "image too large"),
        ("grey.png", "image too large"),
        ("pipe.mp4", "FIFO"),
        ("/dev/zero", "character device"),
    ]:
        assert any(name in line and problem in line for line in lines), (name, lines)
    assert peak_mb < 3000  # no decode of a 900-megapixel claim (6 GB before)
    if command == "predict":
        assert "good.jpg: " in done.stdout and "(1 predicted, 4 failed)" in done.stdout
    else:
        assert "extracted 1 faces" in done.stdout
    record(f"hostile file batch: {command}", 4, 4)

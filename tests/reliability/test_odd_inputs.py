"""Generated bad and odd inputs, all in one batch for `vemo extract` and for `vemo predict` (the
folder holds a symlink loop too, and is given twice: as a folder and as a `**` glob): each gets
the right result or one line naming it, never a traceback or a hang, and the rest of the batch
is processed."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # hundreds of damaged files through extract and predict

CASES_PER_FILE = int(os.environ.get("VEMO_RELIABILITY_INPUTS", "3"))  # truncations and byte flips per real file
VEMO = [sys.executable, "-m", "vemo", "-q"]


def _make_inputs(media: Path, folder: Path) -> list[Path]:
    """Truncated and bit-flipped copies of the real media, and odd but valid images."""
    made = []
    capture = cv2.VideoCapture(str(media / "single_face.mp4"))
    avi = folder / "clip.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 360))
    while (read := capture.read())[0]:
        writer.write(read[1])
    writer.release()
    sources = [media / "single_face.mp4", media / "noface_face.mov", media / "single_face.jpg", avi]
    for source in sources:
        data = source.read_bytes()
        rng = random.Random(source.name)
        for k in range(CASES_PER_FILE):
            cut = folder / f"cut{k} {source.stem}{source.suffix}"  # a space in every name
            cut.write_bytes(data[: rng.randrange(1, len(data))])
            flipped = bytearray(data)
            for _ in range(20):
                flipped[rng.randrange(len(flipped))] ^= 0xFF
            (folder / f"flip{k}_{source.stem}{source.suffix}").write_bytes(bytes(flipped))
            made += [cut, folder / f"flip{k}_{source.stem}{source.suffix}"]
    face = cv2.imread(str(media / "single_face.jpg"))
    odd = {
        "gray.png": cv2.cvtColor(face, cv2.COLOR_BGR2GRAY),
        "rgba.png": cv2.cvtColor(face, cv2.COLOR_BGR2BGRA),
        "sixteen_bit.png": face.astype(np.uint16) * 257,
        "one_pixel.png": face[:1, :1],
        "odd_size_ünïcode.png": face[:301, :299],
    }
    for name, image in odd.items():
        cv2.imwrite(str(folder / name), image)
        made.append(folder / name)
    made += _rotated_and_huge(face, folder)
    (folder / "nested").mkdir()
    (folder / "nested" / "loop").symlink_to(folder, target_is_directory=True)  # a link back up: no endless walk
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "text.mp4").write_text("not a video\n")
    return made + [folder / "empty.mp4", folder / "text.mp4"]


def _rotated_and_huge(face: np.ndarray, folder: Path) -> list[Path]:
    """A JPEG stored sideways with EXIF orientation 6 (a phone's portrait photo), and the face on
    24-megapixel photo (6000x4000, the face drawn 4x): both must be read and the face found."""
    from PIL import Image

    sideways = Image.fromarray(cv2.cvtColor(cv2.rotate(face, cv2.ROTATE_90_COUNTERCLOCKWISE), cv2.COLOR_BGR2RGB))
    exif = sideways.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    sideways.save(folder / "exif_rotated.jpg", exif=exif)
    canvas = np.full((4000, 6000, 3), 128, np.uint8)
    large = cv2.resize(face, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    canvas[800 : 800 + large.shape[0], 1800 : 1800 + large.shape[1]] = large
    cv2.imwrite(str(folder / "huge.jpg"), canvas)
    return [folder / "exif_rotated.jpg", folder / "huge.jpg"]


@pytest.mark.parametrize("command", ["extract", "predict"])
def test_every_odd_input_gets_a_result_or_one_line(command: str, shared_media: Path, trained_run: Path, tmp_path: Path, record):
    folder = tmp_path / "inputs"
    folder.mkdir()
    inputs = _make_inputs(shared_media, folder)
    out = tmp_path / "out"
    given = [str(folder), f"{folder}/**/*"]
    arguments = (
        ["extract", *given, "--out", str(out), "--every", "6"]
        if command == "extract"
        else ["predict", *given, "--model", str(trained_run), "--out", str(out), "--every", "6"]
    )
    done = subprocess.run([*VEMO, *arguments], capture_output=True, text=True, timeout=900)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode in (0, 1)
    failed_lines = [line for line in done.stderr.splitlines() if line.startswith("failed: ")]
    table = pd.read_csv(out / ("sources.csv" if command == "extract" else "predictions.csv"))
    named = {Path(p).name for p in table["path" if command == "extract" else "source"]}
    failed_names = {Path(line.split(": ")[1]).name for line in failed_lines}
    handled = [p for p in inputs if p.name in named or p.name in failed_names]
    record(f"odd inputs, {command}", len(inputs), len(handled))
    assert len(handled) == len(inputs), sorted({p.name for p in inputs} - {p.name for p in handled})
    for name in ("gray.png", "rgba.png", "sixteen_bit.png", "odd_size_ünïcode.png"):  # valid images: a result
        assert name in named, name
    faces = table.set_index(table["path" if command == "extract" else "source"].map(lambda p: Path(p).name))
    for name in ("exif_rotated.jpg", "huge.jpg"):  # read upright and whole: the face is found
        found = faces.loc[name, "faces"] if command == "extract" else faces.loc[name, "face_share"]
        assert found > 0, f"{name}: no face found"

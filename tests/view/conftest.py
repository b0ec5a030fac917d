"""A predictions folder made once for the view and report tests: the real clips and photo of
../shared/media, a synthetic clip, and an input that fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HOSTILE_NAME = """x" onmouseover="window.pwned=1" y='<img src=z onerror=window.pwned=2>.mp4"""


@pytest.fixture(scope="session")
def predictions(trained_run: Path, shared_media: Path, tiny_corpus: Path, made_once) -> Path:
    def make(folder: Path) -> None:
        out = folder / "predictions"
        broken = out.parent / "broken.mp4"
        broken.write_bytes(b"not a video at all")
        clip = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
        hostile = out.parent / HOSTILE_NAME  # a file name that would run script if put in the page unescaped
        hostile.write_bytes(clip.read_bytes())
        inputs = [shared_media / "single_face.mp4", shared_media / "multi_face.jpg", shared_media / "no_face.mp4", clip, broken, hostile]
        done = subprocess.run(
            [sys.executable, "-m", "vemo", "-q", "predict", "--model", str(trained_run), *map(str, inputs), "--out", str(out)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1 and "broken.mp4" in done.stderr  # the broken input fails, the others are predicted

    return made_once("view", make) / "predictions"


@pytest.fixture(scope="session")
def hostile_name() -> str:
    return HOSTILE_NAME

"""A predictions folder made once for the view and report tests: the real clips and photo of
../shared/media, a synthetic clip, and an input that fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def predictions(trained_run: Path, shared_media: Path, tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("view") / "predictions"
    broken = out.parent / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    clip = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    inputs = [shared_media / "single_face.mp4", shared_media / "multi_face.jpg", shared_media / "no_face.mp4", clip, broken]
    done = subprocess.run([sys.executable, "-m", "vemo", "-q", "predict", "--model", str(trained_run),
                           *map(str, inputs), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 1 and "broken.mp4" in done.stderr  # the broken input fails, the others are predicted
    return out

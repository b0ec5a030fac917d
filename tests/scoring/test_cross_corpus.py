"""`vemo experiment paper --cross-on DATA`: the study's networks scored on real labelled faces,
in a table of the study's report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow  # a small study: four LeNet runs of one epoch
def test_the_study_adds_a_cross_corpus_table(split_tiny_workspace: Path, labelled_csv: Path, weights_cache_env: Path, tmp_path: Path):
    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path / "ws"))
    command = [sys.executable, "-m", "vemo", "-q", "experiment", "paper", str(workspace), "--out", str(tmp_path / "report")]
    command += ["--models", "lenet", "--epochs", "1", "--no-baseline", "--cross-on", str(labelled_csv)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    models = json.loads((tmp_path / "report" / "cross-corpus" / "eval.json").read_text())["models"]
    assert len(models) == 4 and all(m["classes"]["shared"] == ["disgust", "happiness", "surprise"] for m in models)
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Cross-corpus: the study's models on" in page and "cross-corpus/report.html" in page and "SYNTHETIC" in page

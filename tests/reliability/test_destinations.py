"""Destinations a careless caller gives: a folder where a file is to be written. One line naming
the option and the path, exit 1, before any work, and the folder untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VEMO = [sys.executable, "-m", "vemo"]


def test_a_folder_given_for_a_file_is_one_line(trained_run: Path, shared_media: Path, tmp_path: Path, record):
    predictions = tmp_path / "predictions"
    made = subprocess.run(
        [*VEMO, "-q", "predict", str(shared_media / "single_face.jpg"), "--model", str(trained_run), "--out", str(predictions)],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    folder_onnx, folder_html = tmp_path / "model.onnx", tmp_path / "report"
    for folder in (folder_onnx, folder_html, predictions / "report.html"):
        folder.mkdir()
        (folder / "keep.txt").write_text("mine")
    cases = {
        "export": ([*VEMO, "export", str(trained_run), "--to", str(folder_onnx)], f"--to {folder_onnx} is a folder"),
        "report --to": ([*VEMO, "report", str(predictions), "--to", str(folder_html)], f"--to {folder_html} is a folder"),
        "report": ([*VEMO, "report", str(predictions)], f"{predictions / 'report.html'} is a folder"),
    }
    for name, (command, says) in cases.items():
        done = subprocess.run(command, capture_output=True, text=True)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and "Traceback" not in done.stderr, (name, done.stderr)
        assert len(lines) == 1 and lines[0].startswith("vemo: error: ") and says in lines[0], (name, lines)
    for folder in (folder_onnx, folder_html, predictions / "report.html"):
        assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    record("concurrent writers and destinations", len(cases), len(cases))

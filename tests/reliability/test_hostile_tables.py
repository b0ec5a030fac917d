"""Hostile text inputs: CSVs given to `--from-csv`, and a workspace's own `labels.csv` rewritten
by hand or by another tool, read by `split` and `label export`. Each gets one line and a non-zero
exit, or the right result; never a traceback, a hang, a changed table or a file outside `--to`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

VEMO = [sys.executable, "-m", "vemo", "-q"]
CROP = "faces/c0001/000018.png"


def _csvs(folder: Path, crop: str) -> list[Path]:
    """Files a user might pass to `--from-csv` by mistake or on purpose."""
    contents: dict[str, bytes] = {
        "latin1.csv": f"crop,label\n{crop},surprise\u00e9\n".encode("latin-1"),
        "random.csv": os.urandom(4096),
        "nul.csv": f"crop,label\n{crop}\0,surprise\n".encode(),
        "traversal.csv": b"crop,label\n../../../../etc/hostname,surprise\n",
        "absolute.csv": b"crop,label\n/etc/hostname,surprise\n",
        "unknown_class.csv": f"crop,label\n{crop},anger\n".encode(),
        "wrong_columns.csv": b"a,b\n1,2\n",
        "empty.csv": b"",
        "long_field.csv": b"crop,label\n" + b"x" * 2**20 + b",surprise\n",
        "unicode_ünï space.csv": f"crop,label\n{crop},happy\n".encode(),
    }
    made = []
    for name, data in contents.items():
        (folder / name).write_bytes(data)
        made.append(folder / name)
    oversized = folder / "oversized.csv"
    with open(oversized, "wb") as handle:
        handle.truncate(65 * 2**20)  # sparse: costs no disk
    return [*made, oversized, Path("/dev/zero"), folder / "missing.csv"]


def _one_line_or_right(done: subprocess.CompletedProcess) -> bool:
    errors = [line for line in done.stderr.splitlines() if not line.startswith("WARNING")]
    return "Traceback" not in done.stderr and (done.returncode == 0 or (len(errors) == 1 and errors[0].startswith("vemo: error:")))


@pytest.mark.slow  # many damaged tables through processes
def test_hostile_csvs_to_from_csv_get_one_line_and_change_nothing(tiny_workspace: Path, tmp_path: Path, record):
    ws = Path(shutil.copytree(tiny_workspace, tmp_path / "ws"))
    subprocess.run([*VEMO, "label", "apply", str(ws), "--from-clips"], check=True, capture_output=True)
    before = (ws / "labels.csv").read_bytes()
    inputs = _csvs(tmp_path, CROP)
    handled = []
    for path in inputs:
        done = subprocess.run(
            [*VEMO, "label", "apply", str(ws), "--from-csv", str(path), "--overwrite"], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0 and _one_line_or_right(done) and (ws / "labels.csv").read_bytes() == before:
            handled.append(path)
        else:
            print(path.name, done.returncode, done.stderr[-500:])
    record("hostile CSVs, --from-csv", len(inputs), len(handled))
    assert handled == inputs


# case: (row appended to labels.csv, (split refuses it, export refuses it)); not refused = the right result
HOSTILE_ROWS = {
    "traversal crop": ("faces/../../../../etc/hostname,happiness,csv,", (True, True)),
    "absolute crop": ("/etc/hostname,happiness,csv,", (True, True)),
    "traversal label": (f"{CROP},../../escaped,csv,", (True, True)),
    "missing crop": ("faces/c0001/999999.png,happiness,csv,", (False, True)),  # split: left out, with a warning
    "custom class": (f"{CROP},anger,csv,", (False, False)),  # `--classes` allows any plain name
    "not UTF-8": ("faces/c0001/000018.png,surpris\u00e9,csv,", (True, True)),
    "no label column": (None, (True, True)),
}


def _hostile_workspace(tiny_workspace: Path, folder: Path, row: str | None, latin: bool) -> Path:
    ws = Path(shutil.copytree(tiny_workspace, folder))
    subprocess.run([*VEMO, "label", "apply", str(ws), "--from-clips"], check=True, capture_output=True)
    table = (ws / "labels.csv").read_bytes()
    if row is None:
        (ws / "labels.csv").write_text(pd.read_csv(ws / "labels.csv").drop(columns="label").to_csv(index=False))
    else:
        (ws / "labels.csv").write_bytes(table + (row + "\n").encode("latin-1" if latin else "utf-8"))
    return ws


@pytest.mark.slow  # many damaged tables through processes
def test_hostile_labels_csv_rows_are_refused_by_split_and_export(tiny_workspace: Path, tmp_path: Path, record):
    tried, handled = 0, 0
    for case, (row, refusals) in HOSTILE_ROWS.items():
        ws = _hostile_workspace(tiny_workspace, tmp_path / case.replace(" ", "_"), row, case == "not UTF-8")
        out = tmp_path / f"{case}-out"
        for command, refuses in zip((["split", str(ws), "--by", "clip"], ["label", "export", str(ws), "--to", str(out)]), refusals):
            tried += 1
            done = subprocess.run([*VEMO, *command], capture_output=True, text=True, timeout=120)
            outside = [p for p in tmp_path.rglob("*") if "escaped" in p.name or p.name == "hostname"]
            right = (done.returncode != 0) == refuses and _one_line_or_right(done) and not outside
            if right and command[0] == "split" and not refuses:
                right = set(pd.read_csv(ws / "splits.csv")["crop_path"]) <= set(pd.read_csv(ws / "faces.csv")["crop_path"])
            if right:
                handled += 1
            else:
                print(case, command[0], done.returncode, done.stderr[-500:], outside)
    record("hostile labels.csv rows", tried, handled)
    assert handled == tried

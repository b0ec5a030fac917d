"""SIGKILL at seeded random moments, of the main process or of its whole process group, then the
same command again: the outputs equal an uninterrupted run's, what was finished before the kill
is not redone, no temporary file is left, and no process of the killed run lives on."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # a kill per command, each rerun to the end

KILLS = int(os.environ.get("VEMO_RELIABILITY_KILLS", "1"))  # per command; the full run (benchmarks/reliability.py): 10
VEMO = [sys.executable, "-m", "vemo", "-q"]

TIMING = {
    "seconds",
    "train_seconds",
    "time",
    "labelled_at",
    "frames_per_second",
    "wall_seconds",
    "seconds_per_epoch",
    "images_per_second",
    "reused",
}  # and whether a unit was reused: that is the point of a rerun


@dataclass(frozen=True)
class Case:
    """A command, the state it starts from, and what of its outputs must not depend on a kill."""

    command: Callable[[Path, dict], list[str]]
    prepare: Callable[[Path, dict], None]
    tables: tuple[str, ...]  # CSVs compared apart from timing columns
    files: tuple[str, ...] = ()  # globs of files compared byte for byte
    finished: Callable[[Path], dict[str, object]] = lambda root: {}  # units done at the kill: must stay as they are
    made_by_fixture: Callable[[dict], tuple[str, Path]] | None = None  # (where, folder): the same command's outputs


def _untouched(*patterns: str) -> Callable[[Path], dict[str, object]]:
    """Files of finished units, each identified by inode and modification time: a redone unit
    renames a new file over its old one, which changes both."""

    def identities(root: Path) -> dict[str, object]:
        found = {}
        for pattern in patterns:
            for path in root.glob(pattern):
                if "vemo-tmp" not in path.name:
                    status = path.stat()
                    found[str(path.relative_to(root))] = (status.st_ino, status.st_mtime_ns)
        return found

    return identities


def _finished_sources(state: str, unit_files: str) -> Callable[[Path], dict[str, object]]:
    """The marker of each finished source and the files of that source (`unit_files` with {id})."""

    def identities(root: Path) -> dict[str, object]:
        found = _untouched(f"{state}/*.json")(root)
        for marker in root.glob(f"{state}/*.json"):
            found |= _untouched(unit_files.format(id=marker.stem))(root)
        return found

    return identities


def _finished_epochs(root: Path) -> dict[str, object]:
    """The history rows of epochs done at the kill, timing included: a redone epoch has new times."""
    history = root / "ws/runs/k/history.csv"
    return {f"epoch {row['epoch']}": tuple(row.values()) for row in pd.read_csv(history).to_dict("records")} if history.exists() else {}


def _finished_runs(root: Path) -> dict[str, object]:
    """The weights of the grid's runs whose training had finished at the kill (status finished):
    the rerun must not train them again, even when their evaluation was not written yet."""
    found: dict[str, object] = {}
    for run in root.glob("ws/runs/exp-*"):
        try:
            finished = json.loads((run / "config.json").read_text()).get("status") == "finished"
        except (OSError, ValueError):
            finished = False
        if finished:
            found |= _untouched(str((run / "model.safetensors").relative_to(root)))(root)
    return found


def _copy(source_key: str) -> Callable[[Path, dict], None]:
    return lambda root, given: shutil.copytree(given[source_key], root / "ws")


def _label_ready(root: Path, given: dict) -> None:
    shutil.copytree(given["split"], root / "ws")
    (root / "ws" / "splits.csv").unlink()


CASES = {
    "synth": Case(
        lambda root, g: ["synth", str(root / "c"), "--preset", "tiny", "--seed", "3", "--workers", "2"],
        lambda root, g: None,
        ("c/clips.csv", "c/frames.csv"),
        ("c/videos/*.mp4",),
        _finished_sources("c/.synth-state", "c/videos/{id}.mp4"),
        lambda g: ("c", g["corpus"]),
    ),
    "extract": Case(
        lambda root, g: ["extract", str(g["corpus"] / "videos"), "--out", str(root / "ws"), "--every", "3"],
        lambda root, g: None,
        ("ws/faces.csv",),
        ("ws/faces/*/*.png",),
        _finished_sources("ws/.extract-state", "ws/faces/{id}/*.png"),
        lambda g: ("ws", g["every 3rd"]),
    ),
    "label": Case(lambda root, g: ["label", "apply", str(root / "ws"), "--from-clips"], _copy("workspace"), ("ws/labels.csv",)),
    "split": Case(lambda root, g: ["split", str(root / "ws"), "--by", "clip", "--seed", "0"], _label_ready, ("ws/splits.csv",)),
    "train": Case(
        lambda root, g: ["train", str(root / "ws"), "--model", "lenet", "--epochs", "3", "--batch-size", "32", "--name", "k"],
        _copy("split"),
        ("ws/runs/k/history.csv",),
        ("ws/runs/k/model.safetensors",),
        _finished_epochs,
    ),
    "experiment": Case(
        lambda root, g: [
            "experiment",
            "paper",
            str(root / "ws"),
            "--out",
            str(root / "report"),
            "--epochs",
            "1",
            "--models",
            "lenet",
            "--no-baseline",
        ],
        _copy("split"),
        ("report/results.csv",),
        ("ws/runs/exp-*/model.safetensors",),
        _finished_runs,
    ),
    "predict": Case(
        lambda root, g: [
            "predict",
            str(g["corpus"] / "videos"),
            "--model",
            str(g["run"]),
            "--out",
            str(root / "out"),
            "--every",
            "3",
            "--annotate",
        ],
        lambda root, g: None,
        ("out/predictions.csv", "out/c0001.frames.csv"),
        ("out/c0001.json",),
        _finished_sources("out/.predict-state", "out/{id}.*"),
    ),
}


def _outputs(root: Path, case: Case) -> dict[str, object]:
    found: dict[str, object] = {}
    for name in case.tables:
        table = pd.read_csv(root / name)
        text = table.drop(columns=[c for c in table.columns if c in TIMING]).to_csv(index=False)
        found[name] = text.replace(str(root), "ROOT")  # the experiment names its runs by path
    for pattern in case.files:
        for path in sorted(root.glob(pattern)):
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.mark.parametrize("name", list(CASES))
def test_killed_anywhere_the_rerun_ends_as_if_never_killed(
    name: str,
    tiny_corpus: Path,
    tiny_workspace: Path,
    split_tiny_workspace: Path,
    trained_run: Path,
    tiny_extracted_every_3rd: Path,
    seconds_to_make,
    tmp_path: Path,
    record,
    processes,
):
    case = CASES[name]
    given = {
        "corpus": tiny_corpus,
        "workspace": tiny_workspace,
        "split": split_tiny_workspace,
        "run": trained_run,
        "every 3rd": tiny_extracted_every_3rd,
    }
    reference = tmp_path / "reference"
    reference.mkdir()
    if case.made_by_fixture:  # the session made these outputs already: they are the reference, its time the run's
        where, folder = case.made_by_fixture(given)
        (reference / where).symlink_to(folder)
        duration = seconds_to_make(folder)
    else:
        case.prepare(reference, given)
        started = time.time()
        subprocess.run([*VEMO, *case.command(reference, given)], check=True, capture_output=True)
        duration = time.time() - started
    expected = _outputs(reference, case)
    held = tried = 0
    try:
        for attempt in range(KILLS):
            tried += 1
            root = tmp_path / f"kill{attempt}"
            root.mkdir()
            case.prepare(root, given)
            moment = random.Random(f"{name}-{attempt}").uniform(0.2, 0.9) * duration
            process = subprocess.Popen(
                [*VEMO, *case.command(root, given)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
            time.sleep(moment)
            whole_group = attempt % 2 == 0
            try:
                os.killpg(process.pid, signal.SIGKILL) if whole_group else process.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass  # it had finished: the rerun must then change nothing
            process.wait()
            deadline = time.time() + 5
            in_group = lambda leader=process.pid: [pid for pid, _, group in processes() if group == leader]  # noqa: E731
            while in_group() and time.time() < deadline:
                time.sleep(0.1)
            leftovers = in_group()
            finished = case.finished(root)
            again = subprocess.run([*VEMO, *case.command(root, given)], capture_output=True, text=True)
            temporary = [str(p) for p in root.rglob("*vemo-tmp*")]
            same = again.returncode == 0 and _outputs(root, case) == expected
            after = case.finished(root)
            redone = [unit for unit, identity in finished.items() if after.get(unit) != identity]
            assert not redone, f"{name}: finished before the kill, redone by the rerun: {redone[:5]}"
            assert not leftovers, f"{name}: processes left after the kill: {leftovers}"
            assert not temporary, f"{name}: temporary files left: {temporary}"
            assert same, (
                f"{name}: killed at {moment:.1f} s ({'group' if whole_group else 'main'}), the rerun differs: {again.stderr[-300:]}"
            )
            held += 1
    finally:  # a failed kill stops the test: the table says how far it got
        record(f"kill {name}", tried, held)

"""DDP: `vemo train --nproc 2` (torchrun, gloo on CPU) trains identical replicas, writes the run
folder once, is read by `vemo evaluate`, and a run killed mid-way resumes to the uninterrupted
run's weights. torchrun's rendezvous runs in a private network namespace, as the Ray tests do."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

pytestmark = pytest.mark.slow  # torchrun with two processes

VEMO = [sys.executable, "-m", "vemo", "-q"]
TRAIN = ["train", "--model", "lenet", "--epochs", "3", "--batch-size", "16", "--name", "d", "--nproc", "2"]


def _train(private_network, workspace: Path) -> None:
    done = private_network.run([*VEMO, TRAIN[0], str(workspace), *TRAIN[1:]], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def uninterrupted(private_network, split_tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the DDP run `d` trained without interruption: the run the replica checks
    read and the killed run must end equal to (trained once for both)."""
    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path_factory.mktemp("ddp") / "ws"))
    _train(private_network, workspace)
    return workspace


def test_two_processes_train_identical_replicas_into_one_run_folder(uninterrupted: Path):
    run = uninterrupted / "runs" / "d"
    summary = json.loads((run / "train.json").read_text())
    assert summary["processes"] == 2 and summary["replicas_identical"] is True
    assert len(pd.read_csv(run / "history.csv")) == 3
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "history.csv", "last.safetensors", "model.safetensors", "train.json"]
    evaluated = subprocess.run([*VEMO, "evaluate", str(run)], capture_output=True, text=True)
    assert evaluated.returncode == 0, evaluated.stderr
    assert (run / "eval-test.json").exists()


def test_a_killed_ddp_run_resumes_to_the_uninterrupted_weights(
    private_network, split_tiny_workspace: Path, uninterrupted: Path, tmp_path: Path
):
    killed = Path(shutil.copytree(split_tiny_workspace, tmp_path / "killed" / "ws"))
    history = killed / "runs" / "d" / "history.csv"
    process = private_network.popen(
        [*VEMO, TRAIN[0], str(killed), *TRAIN[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 300
    while not history.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    epochs_at_kill = len(pd.read_csv(history)) if history.exists() else 0
    assert epochs_at_kill < 3, "the run finished before the kill"
    _train(private_network, killed)
    assert (killed / "runs/d/model.safetensors").read_bytes() == (uninterrupted / "runs/d/model.safetensors").read_bytes()
    resumed, straight = (load_file(root / "runs/d/last.safetensors") for root in (killed, uninterrupted))  # its metadata has times
    assert resumed.keys() == straight.keys() and all(torch.equal(resumed[k], straight[k]) for k in resumed)


def _vemo_processes(marker: str) -> list[int]:
    """PIDs of live processes whose command line names `marker` (torchrun and its workers do)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().split()[2]
            except OSError:
                continue
            if marker in command and state != "Z":
                found.append(int(entry.name))
    return found


def test_options_every_rank_would_refuse_are_refused_once_before_torchrun(split_tiny_workspace: Path):
    for options, words in [
        (["--model", "lgbp"], "one process"),
        (["--batch-size", "0"], "--batch-size"),
        (["--nproc", "-1"], "--nproc"),
    ] + ([] if torch.cuda.is_available() else [(["--device", "cuda"], "no CUDA GPU")]):
        done = subprocess.run(
            [*VEMO, "train", str(split_tiny_workspace), "--nproc", "2", *options], capture_output=True, text=True, timeout=120
        )
        assert done.returncode in (1, 2) and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
        assert "torchrun" not in done.stderr and "Traceback" not in done.stderr


def test_a_failure_in_the_ranks_is_one_line(private_network, split_tiny_workspace: Path, tmp_path: Path):
    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path / "ws"))
    (workspace / "splits.csv").unlink()
    done = private_network.run([*VEMO, TRAIN[0], str(workspace), *TRAIN[1:]], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors == [f"vemo: error: no splits.csv in {workspace}; run `vemo split` first"], done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "ChildFailedError" not in done.stderr  # (c10d's warnings may stay)


def test_killing_vemo_train_nproc_leaves_no_torchrun_and_no_worker(private_network, split_tiny_workspace: Path, tmp_path: Path):
    """SIGKILL of the `vemo train --nproc 2` process alone (not its group): torchrun gets the
    parent-death signal and ends its workers, which watch their parent too; nothing trains on."""
    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path / "orphans" / "ws"))
    history = workspace / "runs" / "d" / "history.csv"
    command = [*VEMO, TRAIN[0], str(workspace), *TRAIN[1:]]
    command[command.index("3")] = "200"  # epochs: far longer than the test waits
    process = private_network.popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not history.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert history.exists() and len(_vemo_processes(str(workspace))) >= 3, "training never got going"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 20
    while _vemo_processes(str(workspace)) and time.time() < deadline:
        time.sleep(0.2)
    left = _vemo_processes(str(workspace))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} process(es) outlived their vemo train --nproc"
    epochs = len(pd.read_csv(history))
    time.sleep(2)
    assert len(pd.read_csv(history)) == epochs, "the run went on training"

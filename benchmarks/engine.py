"""What Ray costs: whole `vemo extract` and `vemo predict` commands over one folder job, with the
local engine, with `--engine ray` (the private Ray it starts, start-up included) and with
`--engine ray --address` (joining a head started before the clock), in one run, on the same cores.

Usage: python benchmarks/engine.py [--copies 24]

It renders the tiny synthetic corpus (8 clips, 933 frames) and links it --copies times into one
folder (a job of --copies x 8 inputs: at least a minute of local extraction on 2 cores with the
default), trains a LeNet one epoch for the predictions, then times each command as a user runs
it, each on a fresh output folder, and checks that every engine gave the same faces and verdicts.
Runs as root in a private network namespace (re-executes itself under `unshare -n`), so Ray
listens on loopback only. Needs `pip install 'vemo[ray]'`.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

NAMESPACE_FLAG = "VEMO_BENCH_PRIVATE_NETWORK"
VEMO = [sys.executable, "-m", "vemo", "-q"]
RAY = str(Path(sys.executable).with_name("ray"))


def in_private_network() -> None:
    if os.environ.get(NAMESPACE_FLAG) != "1":
        os.environ[NAMESPACE_FLAG] = "1"
        os.execvp("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", sys.executable, *sys.argv])


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[3:6])}... failed:\n{done.stderr[-3000:]}")
    return seconds


def folder_job(folder: Path, copies: int) -> tuple[Path, Path]:
    """The tiny corpus linked `copies` times into one folder, and a LeNet trained on it."""
    subprocess.run([*VEMO, "synth", str(folder / "corpus"), "--preset", "tiny"], check=True, capture_output=True)
    clips = sorted((folder / "corpus" / "videos").glob("*.mp4"))
    job = folder / "job"
    job.mkdir()
    for copy in range(copies):
        for clip in clips:
            os.link(clip, job / f"{clip.stem}-{copy:03d}.mp4")
    ws = folder / "train-ws"
    for step in (
        ["extract", str(folder / "corpus" / "videos"), "--out", str(ws), "--every", "3"],
        ["label", "apply", str(ws), "--from-clips"],
        ["split", str(ws), "--by", "clip"],
        ["train", str(ws), "--model", "lenet", "--epochs", "1", "--name", "m"],
    ):
        subprocess.run([*VEMO, *step], check=True, capture_output=True)
    return job, ws / "runs" / "m"


def start_head() -> tuple[str, str]:
    """A Ray head of 2 CPUs on loopback, started with `ray start` (not timed); its address and temp folder."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    temp = f"/tmp/vb{os.getpid()}"  # short: Ray's Unix sockets live under it
    subprocess.run(
        [
            RAY,
            "start",
            "--head",
            "--port",
            str(port),
            "--num-cpus",
            "2",
            "--node-ip-address",
            "127.0.0.1",
            "--include-dashboard",
            "false",
            "--temp-dir",
            temp,
            "--disable-usage-stats",
        ],
        check=True,
        capture_output=True,
    )
    return f"127.0.0.1:{port}", temp


def same_results(folder: Path, labels: list[str]) -> bool:
    """Every engine's faces.csv and predictions.csv equal the local engine's (timings aside)."""

    def table(path: Path) -> str:
        frame = pd.read_csv(path)
        return frame.drop(columns=[c for c in ("seconds", "frames_per_second") if c in frame]).to_csv(index=False)

    faces = {table(folder / f"ws-{label}" / "faces.csv") for label in labels}
    verdicts = {table(folder / f"out-{label}" / "predictions.csv") for label in labels}
    return len(faces) == 1 and len(verdicts) == 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=24, help="copies of the 8 tiny clips in the folder job")
    args = parser.parse_args()
    in_private_network()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        job, run = folder_job(folder, args.copies)
        frames = args.copies * int(pd.read_csv(folder / "corpus" / "clips.csv")["n_frames"].sum())
        address, temp = start_head()
        engines = {
            "local": [],
            "ray, private (started by vemo)": ["--engine", "ray"],
            "ray, joined (ray start)": ["--engine", "ray", "--address", address],
        }
        rows = []
        try:
            for number, (label, options) in enumerate(engines.items()):
                extract = timed([*VEMO, "extract", str(job), "--out", str(folder / f"ws-{number}"), *options])
                predict = timed([*VEMO, "predict", str(job), "--model", str(run), "--out", str(folder / f"out-{number}"), *options])
                rows.append({"engine": label, "extract_s": extract, "predict_s": predict})
        finally:
            subprocess.run([RAY, "stop", "--force"], capture_output=True)
            subprocess.run(["rm", "-rf", temp])
        equal = same_results(folder, [str(n) for n in range(len(engines))])
    table = pd.DataFrame(rows)
    local = table.iloc[0]
    table["extract_fps"] = frames / table["extract_s"]
    table["predict_fps"] = frames / table["predict_s"]
    table["extract_overhead"] = table["extract_s"] / local["extract_s"] - 1
    table["predict_overhead"] = table["predict_s"] / local["predict_s"] - 1
    print(
        f"\nfolder job: {args.copies * 8} synthetic clips (320x240, 25 fps), {frames:,} frames, "
        f"{os.cpu_count()} cores; whole commands, 2 workers each"
    )
    print(table.round(3).to_string(index=False))
    print(f"same faces and verdicts on every engine: {equal}")


if __name__ == "__main__":
    main()

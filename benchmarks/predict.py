"""vemo predict beside the real `fer` (the peer in ../shared/peers/fer), on the same files, in one run.

Usage: python benchmarks/predict.py [--peer-venv DIR] [--workers 2] [--detector NAME] [--memory]

Two videos are made by looping ../shared/media/single_face.mp4 (640x360, 30 fps) forward and
backward: a ~20-s clip (600 frames) and a long one (4,032 frames). For each, both tools run as
whole processes on the same machine, one after the other:
  - decode only (OpenCV, this process): the floor;
  - fer 25.10.3 (`run_fer.py`, its default Haar + TFLite model, every frame): wall time of the
    process, and its frames/s after a warm-up call (fer's steady state);
  - `vemo predict --model pretrained:fer2013-minixception`: wall time of the process, and frames/s
    from its first to its last analysed frame (steady state; vemo logs both moments at DEBUG, `-v`).
It prints the ratios, and both tools' labels in the first and last third of the un-looped clips
(a man going from neutral to a broad smile; a title card, then the same man smiling). fer's venv is built by ../shared/peers/fer/setup.sh
(~8 GB, once per machine); without it the fer rows say how to build it.

With --memory it also measures vemo's peak memory on a one-minute, a five-minute and a one-hour
640x360 video made the same way (108,000 frames: about 4 minutes to write and 2 to predict here): the peak of
the proportional set size (Linux's PSS: shared pages split between the processes that map them)
summed over the vemo process and its worker processes, sampled every 50 ms, beside the vemo
process's own peak resident memory (wait4). Memory must not grow with the video's length.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import pandas as pd

from vemo.faces.recipe import DETECTORS

SHARED = Path(__file__).resolve().parents[2] / "shared"
CLIP = SHARED / "media" / "single_face.mp4"
PEER = SHARED / "peers" / "fer"
DEFAULT_VENV = Path(os.environ.get("VEMO_PEER_VENV", Path.home() / ".cache" / "vemo-peer" / "venv"))
FER_NAMES = {
    "happy": "happiness",
    "sad": "sadness",
    "surprise": "surprise",
    "disgust": "disgust",
    "neutral": "neutral",
    "angry": "anger",
    "fear": "fear",
}


def looped(source: Path, frames: int, out: Path) -> Path:
    capture = cv2.VideoCapture(str(source))
    images = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        images.append(image)
    cycle = images + images[::-1]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, images[0].shape[1::-1])
    for i in range(frames):
        writer.write(cycle[i % len(cycle)])
    writer.release()
    return out


def decode_fps(video: Path, threads: int = 0) -> float:
    """Frames/s of OpenCV reading `video` and nothing else, with FFmpeg's own choice of decoding
    threads (0: one per core) or `threads`."""
    capture = cv2.VideoCapture(str(video), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, threads] if threads else [])
    started, count = time.perf_counter(), 0
    while capture.read()[0]:
        count += 1
    return count / (time.perf_counter() - started)


def run_vemo(
    video: Path, out: Path, workers: int, detector: str | None, runtime: str = "auto", model: str = "pretrained:fer2013-minixception"
) -> dict:
    env = dict(os.environ)
    command = [
        sys.executable,
        "-m",
        "vemo",
        "-q",
        "-v",  # no progress bars, DEBUG lines: the first and last frames' moments
        "predict",
        str(video),
        "--model",
        model,
        "--out",
        str(out),
        "--force",
        "--runtime",
        runtime,
    ]
    command += ["--detector", detector] if detector else []
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.time() - started
    if done.returncode != 0:
        raise SystemExit(f"vemo failed: {done.stderr[-400:]}")
    stamps = frame_moments(done.stderr)
    frames = len(pd.read_csv(out / f"{video.stem}.frames.csv"))
    return {
        "wall": wall,
        "steady": (frames - 1) / (stamps["last"] - stamps["first"]),
        "frames": frames,
        "table": pd.read_csv(out / f"{video.stem}.frames.csv"),
    }


def peak_rss(video: Path, out: Path, detector: str | None) -> tuple[float, float, float]:
    """vemo predict on `video` as a whole process: (peak PSS of it and its worker processes in MB,
    its own peak resident memory in MB, wall seconds)."""
    command = [
        sys.executable,
        "-m",
        "vemo",
        "-q",
        "predict",
        str(video),
        "--model",
        "pretrained:fer2013-minixception",
        "--out",
        str(out),
        "--force",
        *(["--detector", detector] if detector else []),
    ]
    started, tree_peak = time.time(), 0
    with open(out / "stderr.txt", "w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)  # this process's own usage, once it ends
            if pid:
                break
            tree_peak = max(tree_peak, sum(pss_kb(pid) for pid in process_tree(process.pid)))
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"vemo failed on {video.name}: {(out / 'stderr.txt').read_text()[-400:]}")
    return tree_peak / 1024, usage.ru_maxrss / 1024, time.time() - started


def process_tree(root: int) -> list[int]:
    """`root` and every process below it (its workers and their helpers), from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():  # self, thread-self and the kernel's files
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree = [root]
    for pid in tree:
        tree.extend(children.get(pid, []))
    return tree


def pss_kb(pid: int) -> int:
    """A process's proportional set size in kB (0 once it has gone)."""
    try:
        found = re.search(r"^Pss:\s+(\d+)", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M)
    except OSError:
        return 0
    return int(found.group(1)) if found else 0


def memory_rows(folder: Path, detector: str | None) -> None:
    """A minute (threads), five minutes and an hour (from 4,000 frames: worker processes)."""
    print(f"{'video':36} {'frames':>7} {'peak PSS, all':>14} {'vemo RSS':>9} {'wall':>7}")
    peaks = {}
    for name, frames in (("one minute", 1800), ("five minutes", 9000), ("one hour", 108_000)):
        video = looped(CLIP, frames, folder / f"{name.replace(' ', '-')}.mp4")
        peaks[name], own, wall = peak_rss(video, folder, detector)
        print(f"{name + ' (single_face looped)':36} {frames:7d} {peaks[name]:12.0f}MB {own:7.0f}MB {wall:6.0f}s")
        video.unlink()
    print(
        f"peak PSS, one hour / five minutes: {peaks['one hour'] / peaks['five minutes']:.3f} (goal: at most 1.10);"
        f" one hour / one minute: {peaks['one hour'] / peaks['one minute']:.3f} (the worker processes start between them)"
    )


def run_fer(video: Path, out: Path, venv: Path) -> dict | None:
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    started = time.time()
    done = subprocess.run(
        [str(python), str(PEER / "run_fer.py"), "--no-ref", "--out", str(out), str(video)],
        capture_output=True,
        text=True,
        env={**os.environ, "FER_PEER_OUT": str(out)},
    )
    wall = time.time() - started
    if done.returncode != 0:
        raise SystemExit(f"fer failed: {done.stderr[-400:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "wall": wall,
        "steady": summary["fer_fps"],
        "frames": summary["frames"],
        "rows": json.loads((out / f"{video.name}.fer.json").read_text())["frames"],
    }


def thirds(labels: list) -> str:
    n = len(labels)
    parts = []
    for name, part in (("first third", labels[: n // 3]), ("last third", labels[2 * n // 3 :])):
        counts = pd.Series([label for label in part if label]).value_counts()
        parts.append(f"{name}: {counts.index[0]} ({counts.iloc[0]}/{len(part)})" if len(counts) else f"{name}: no face")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--detector", default=None, choices=DETECTORS, help="vemo's face detector (default: the model's own, RetinaFace)")
    parser.add_argument("--memory", action="store_true", help="also peak memory on a one-minute and a one-hour video")
    args = parser.parse_args()
    if not (args.peer_venv / "bin" / "python").exists():
        print(
            f"fer's venv is not at {args.peer_venv}: build it with bash {PEER / 'setup.sh'} (~8 GB, once); "
            "the fer columns stay empty until then"
        )
    subprocess.run([sys.executable, "-m", "vemo", "-q", "weights", "fetch", "fer2013-minixception"], check=True)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        print(
            f"{'video':28} {'frames':>6} {'decode fps':>10} {'fer wall':>9} {'vemo wall':>9} {'ratio':>6} "
            f"{'fer fps':>8} {'vemo fps':>9} {'ratio':>6}"
        )
        for name, frames in (("~20-s clip", 600), ("long video", 4032)):
            video = looped(CLIP, frames, folder / f"{name.split()[0].strip('~')}.mp4")
            fer = run_fer(video, folder, args.peer_venv)
            vemo = run_vemo(video, folder, args.workers, args.detector)
            ratio_wall = f"{fer['wall'] / vemo['wall']:5.1f}x" if fer else "-"
            ratio_fps = f"{vemo['steady'] / fer['steady']:5.1f}x" if fer else "-"
            fer_wall = f"{fer['wall']:8.1f}s" if fer else "-"
            fer_fps = f"{fer['steady']:8.0f}" if fer else "-"
            label = name + " (single_face looped)"
            print(
                f"{label:28} {frames:6d} {decode_fps(video):10.0f} {fer_wall:>9} {vemo['wall']:8.1f}s "
                f"{ratio_wall:>6} {fer_fps:>8} {vemo['steady']:9.0f} {ratio_fps:>6}"
            )
        for clip, story in ((CLIP, "neutral -> smile"), (CLIP.parent / "noface_face.mov", "title card, then a smile")):
            vemo = run_vemo(clip, folder, args.workers, args.detector)
            print(f"labels over {clip.name} ({story}), most frequent per third:")
            print(f"  vemo: {thirds(list(vemo['table']['label'].fillna('')))}")
            fer = run_fer(clip, folder, args.peer_venv)
            if fer:
                print(f"  fer:  {thirds([FER_NAMES.get(r['label'], r['label']) if r['label'] else '' for r in fer['rows']])}")
        if args.memory:
            memory_rows(folder, args.detector)
    print(
        f"(vemo: {args.workers} workers, {args.detector or 'its default'} detector; fer: its defaults; both whole processes on this "
        "machine, one after the other; ratio = how many times faster vemo is)"
    )


def frame_moments(stderr: str) -> dict[str, float]:
    """The earliest "first frame analysed" and the latest "last frame analysed" moments of a
    `vemo -v` run (each run of frames logs its own)."""
    found: dict[str, list[float]] = {"first": [], "last": []}
    for which, moment in re.findall(r"(first|last) frame analysed at ([0-9.]+)", stderr):
        found[which].append(float(moment))
    return {which: (min if which == "first" else max)(moments) for which, moments in found.items() if moments}


if __name__ == "__main__":
    main()

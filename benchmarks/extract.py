"""Extraction speed, measured side by side on one video in one run.

Usage: python benchmarks/extract.py [VIDEO] [--repeat 6]

Default video: ../shared/media/single_face.mp4 (640x360, real face), played forward and
backward `--repeat` times into a temporary file so that timings are not dominated by start-up.
Prints frames/s and recall (frames with a face found) of:
  1. decode only;
  2. a bare loop: decode + Haar detection on the full-resolution frame (OpenCV, 1 thread);
  3. vemo's detector alone (downscaled frame, search near the last face, 1 thread);
  4. vemo's full extraction (detection + eyes + alignment + PNG crops + tables), 1 worker;
  5. the same with all cores;
and the ratios between them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2

from vemo.extraction import ExtractConfig, extract
from vemo.faces.detect import DetectorSettings, FaceTracker, HaarFaceDetector, load_cascade

DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "media" / "single_face.mp4"


def make_long_video(source: Path, repeat: int, out: Path) -> int:
    capture = cv2.VideoCapture(str(source))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    capture.release()
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    count = 0
    for k in range(repeat):
        for frame in frames if k % 2 == 0 else frames[::-1]:
            writer.write(frame)
            count += 1
    writer.release()
    return count


def timed_loop(video: Path, per_frame) -> tuple[float, int, int]:
    capture = cv2.VideoCapture(str(video))
    started = time.perf_counter()
    frames = found = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames += 1
        found += bool(per_frame(frame))
    seconds = time.perf_counter() - started
    capture.release()
    return frames / seconds, frames, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--repeat", type=int, default=6)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "bench.mp4"
        total = make_long_video(args.video, args.repeat, video)
        print(f"video: {args.video.name} x{args.repeat} = {total} frames")
        cascade = load_cascade("haarcascade_frontalface_default.xml")
        decode_fps, _, _ = timed_loop(video, lambda frame: None)
        bare_fps, n, bare_found = timed_loop(
            video,
            lambda frame: len(
                cascade.detectMultiScale(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
            ),
        )
        tracker = FaceTracker(HaarFaceDetector(DetectorSettings()))
        vemo_detect_fps, _, vemo_found = timed_loop(video, lambda frame: tracker(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)))
        full = {}
        for workers in sorted({1, cores}):
            result = extract([video], Path(tmp) / f"ws{workers}", ExtractConfig(), workers=workers)
            full[workers] = (result.frames_read / result.seconds, result.faces)
    rows = [
        ("decode only", decode_fps, None),
        ("bare decode + Haar, full resolution", bare_fps, bare_found),
        ("vemo detector (downscale + tracking)", vemo_detect_fps, vemo_found),
        *[(f"vemo full extraction, {w} worker(s)", fps, faces) for w, (fps, faces) in full.items()],
    ]
    print(f"{'':42} {'frames/s':>9} {'recall':>7}")
    for name, fps, found in rows:
        recall = f"{found / n:7.1%}" if found is not None else ""
        print(f"{name:42} {fps:9.1f} {recall:>7}")
    print(f"vemo detector / bare loop:               {vemo_detect_fps / bare_fps:6.2f}x")
    print(f"vemo full extraction (1 worker) / bare:  {full[1][0] / bare_fps:6.2f}x")
    print(f"vemo full extraction (1 worker) / decode:{full[1][0] / decode_fps:7.2f}x")
    if cores > 1:
        print(f"vemo full extraction {cores} workers / 1 worker: {full[cores][0] / full[1][0]:6.2f}x")


if __name__ == "__main__":
    main()

"""End-to-end prediction speed, measured side by side on the same files in one run.

Usage: python benchmarks/predict.py [VIDEO ...] [--model pretrained:fer2013-minixception] [--rounds 3]

Default videos: ../shared/media/single_face.mp4 (640x360, 72 frames) and noface_face.mov
(960x540, 169 frames). For each video, frames/s of:
  1. decode only (OpenCV);
  2. a fer-style loop: decode, Haar on the full-resolution frame (scale 1.1, 5 neighbours),
     the grey box cropped and resized to 64x64, one model call per face: what the `fer`
     package does (its TensorFlow model replaced by the same network in PyTorch, so only the
     pipeline differs), on one thread;
  3. vemo's `predict_media` (detection on a downscaled frame, tracking, eye alignment,
     batched channels-last inference, smoothing, tables), 1 worker;
  4. the same with all cores (frame ranges in threads);
and the ratios 3/2, 4/2 and 4/1. The model is loaded once, before timing. Best of --rounds.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from vemo.prediction import predict_media
from vemo.prediction.predictor import load_predictor

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
DEFAULT_VIDEOS = [MEDIA / "single_face.mp4", MEDIA / "noface_face.mov"]


def decode_only(video: Path) -> tuple[float, int]:
    capture = cv2.VideoCapture(str(video))
    started, frames = time.perf_counter(), 0
    while capture.read()[0]:
        frames += 1
    return frames / (time.perf_counter() - started), frames


def fer_style(video: Path, predictor) -> tuple[float, int]:
    """One frame at a time, full-resolution detection, one model call per face."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    capture = cv2.VideoCapture(str(video))
    started, frames, faces = time.perf_counter(), 0, 0
    with torch.inference_mode():
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames += 1
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            for x, y, w, h in cascade.detectMultiScale(gray, 1.1, 5, minSize=(50, 50)):
                face = cv2.resize(gray[max(y - 10, 0) : y + h + 10, max(x - 10, 0) : x + w + 10], (64, 64))
                tensor = torch.from_numpy((face.astype(np.float32) / 255.0 - 0.5) * 2.0)[None, None]
                torch.softmax(predictor.model(tensor.contiguous(memory_format=torch.channels_last)), 1)
                faces += 1
    return frames / (time.perf_counter() - started), faces


def vemo_predict(video: Path, predictor, workers: int) -> tuple[float, int]:
    started = time.perf_counter()
    verdict, table = predict_media(video, predictor, workers=workers)
    return len(table) / (time.perf_counter() - started), verdict.face_frames


def best_of(rounds: int, function, *args) -> tuple[float, int]:
    results = [function(*args) for _ in range(rounds)]
    return max(results, key=lambda r: r[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path, default=DEFAULT_VIDEOS)
    parser.add_argument("--model", default="pretrained:fer2013-minixception")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    predictor = load_predictor(args.model, torch.device("cpu"))
    print(f"model {args.model}; {cores} cores; torch {torch.__version__}, OpenCV {cv2.__version__}; best of {args.rounds}")
    for video in args.videos:
        decode, frames = best_of(args.rounds, decode_only, video)
        previous = cv2.getNumThreads()
        cv2.setNumThreads(1)
        torch.set_num_threads(1)
        fer, fer_faces = best_of(args.rounds, fer_style, video, predictor)
        cv2.setNumThreads(previous)
        torch.set_num_threads(cores)
        one, faces_one = best_of(args.rounds, vemo_predict, video, predictor, 1)
        many, faces_many = best_of(args.rounds, vemo_predict, video, predictor, cores)
        width, height = (int(cv2.VideoCapture(str(video)).get(p)) for p in (cv2.CAP_PROP_FRAME_WIDTH,
                                                                           cv2.CAP_PROP_FRAME_HEIGHT))
        print(f"\n{video.name} ({width}x{height}, {frames} frames)")
        print(f"  1. decode only                  {decode:8.1f} frames/s")
        print(f"  2. fer-style loop, 1 thread     {fer:8.1f} frames/s  ({fer_faces} faces)")
        print(f"  3. vemo predict, 1 worker       {one:8.1f} frames/s  ({faces_one} frames with a face)")
        print(f"  4. vemo predict, {cores} workers      {many:8.1f} frames/s  ({faces_many} frames with a face)")
        print(f"  vemo / fer-style: {one / fer:.1f}x (1 worker), {many / fer:.1f}x ({cores} workers); "
              f"vemo / decode-only: {many / decode:.2f}")


if __name__ == "__main__":
    main()

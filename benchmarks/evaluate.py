"""Scoring against predicting: `vemo evaluate --on` over N labelled photos beside `vemo predict`
over the same files, whole processes, one after the other, in one run.

Usage: python benchmarks/evaluate.py [--images 1000]

The photos are the hand-labelled real faces of the tests (benchmarks/face_set.py), copied until
there are N files, each copy its own file (nothing is cached between files).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from face_set import EMOTIONS, load_face_set

MODEL = "pretrained:fer2013-minixception"


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command[:4])}: {done.stderr[-500:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    photos = [item for item in load_face_set() if item.name in EMOTIONS]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        rows = ["path,label"]
        for number in range(args.images):
            item = photos[number % len(photos)]
            path = folder / f"{number:05d}.png"
            if number < len(photos):
                cv2.imwrite(str(path), item.image)
            else:
                shutil.copy(folder / f"{number % len(photos):05d}.png", path)
            rows.append(f"{path},{EMOTIONS[item.name]}")
        (Path(tmp) / "labels.csv").write_text("\n".join(rows) + "\n")
        vemo = [sys.executable, "-m", "vemo", "-q"]
        predicting = timed([*vemo, "predict", str(folder), "--model", MODEL, "--out", str(Path(tmp) / "predicted")])
        scoring = timed([*vemo, "evaluate", MODEL, "--on", str(Path(tmp) / "labels.csv"), "--out", str(Path(tmp) / "scored")])
    print(f"{args.images} labelled photos ({len(photos)} real faces, copied), the pretrained FER2013 model, whole processes:")
    print(f"   vemo predict  {predicting:7.1f} s  ({args.images / predicting:6.1f} images/s)")
    print(f"   vemo evaluate {scoring:7.1f} s  ({args.images / scoring:6.1f} images/s)   evaluate / predict: {scoring / predicting:.2f}")


if __name__ == "__main__":
    main()

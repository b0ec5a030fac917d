"""Every face detector side by side, in one run: real-face recall and precision, alignment on
the synthetic corpus, and speed.

Usage: python benchmarks/detectors.py [--corpus DIR] [--media DIR] [--workers 2] [--loop 4032]

1. The real-face set (`benchmarks/face_set.py`: photos read out of packages on the index, boxes
   drawn by hand; group photos, turned, tilted, small, shadowed and occluded faces, glasses,
   photos without a face): recall and precision at IoU 0.5 with each detector's default
   settings, and the median milliseconds of a full detection, one thread.
2. The synthetic demo corpus (`vemo synth DIR --preset demo`, rendered first when DIR is empty),
   every 4th frame: recall against `frames.csv` (a detection centred in the true box), detections
   that match no true face, the share of crops aligned and the worse true eye's distance from its
   canonical place (crop pixels), and extraction frames/s, each detector with tracking.
3. Speed on `single_face.mp4` (640x360) looped to --loop frames: each detector's face pipeline
   alone (milliseconds a frame, tracking on, one thread, the pretrained model's crops), and whole
   `vemo predict --detector NAME` processes (pretrained FER2013, every core) in steady state beside
   decoding alone on the same video (OpenCV's default decoding threads and one thread; the ratio
   is to the faster).
Every figure on the synthetic corpus is about drawn faces, not a real-world result.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from face_set import load_face_set
from predict import decode_fps, looped, run_vemo
from scipy.optimize import linear_sum_assignment

from vemo.extraction import ExtractConfig, extract
from vemo.faces.recipe import DETECTORS, CropRecipe
from vemo.io.media import open_media
from vemo.prediction import load_predictor
from vemo.prediction.onnx.crops import check_crops
from vemo.prediction.onnx.export import export_predictor
from vemo.synth import generate_corpus, plan_corpus
from vemo.synth.corpus import face_found
from vemo.synth.truth import eye_errors
from vemo.weights import build_detector, face_pipeline
from vemo.weights.catalog import PRETRAINED_EMOTION_RECIPE

SHARED = Path(__file__).resolve().parents[2] / "shared" / "media"


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    width = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def matched(truth: list[tuple[int, int, int, int]], found: list[tuple[int, int, int, int]]) -> int:
    """True faces matched one to one by a found box at IoU 0.5 or more."""
    if not truth or not found:
        return 0
    overlaps = np.array([[overlap(t, f) for f in found] for t in truth])
    rows, cols = linear_sum_assignment(-overlaps)
    return int(sum(overlaps[r, c] >= 0.5 for r, c in zip(rows, cols)))


def real_faces() -> dict[str, float]:
    """Part 1; returns each detector's recall."""
    items = load_face_set()
    faces = sum(len(item.boxes) for item in items)
    print(f"1. real-face set: {len(items)} photos ({faces} faces by hand; {sum(not i.boxes for i in items)} without a face), IoU 0.5")
    print(f"   {'detector':11} {'recall':>7} {'precision':>9} {'missed':>7} {'false':>6} {'ms/photo':>9}  missed in")
    cv2.setNumThreads(1)
    recalls = {}
    for detector in DETECTORS:
        finder = build_detector(CropRecipe(detector))
        hits = found_total = 0
        times, missed = [], []
        for item in items:
            gray = cv2.cvtColor(item.image, cv2.COLOR_BGR2GRAY)
            started = time.perf_counter()
            boxes = [(b.x, b.y, b.w, b.h) for b in finder.find(item.image, gray)]
            times.append(time.perf_counter() - started)
            hit = matched(item.boxes, boxes)
            hits, found_total = hits + hit, found_total + len(boxes)
            if hit < len(item.boxes):
                missed.append(item.name)
        recalls[detector] = hits / faces
        print(
            f"   {detector:11} {hits / faces:7.1%} {hits / max(found_total, 1):9.1%} {faces - hits:7d} {found_total - hits:6d} "
            f"{1000 * float(np.median(times)):9.1f}  {', '.join(missed) or '-'}"
        )
    return recalls


def corpus_detection(corpus: Path, workers: int) -> None:
    truth = pd.read_csv(corpus / "frames.csv").set_index(["clip_id", "frame"])
    print(f"2. synthetic demo corpus ({corpus}), every 4th frame, tracking on, {workers} workers")
    print(
        f"   {'detector':8} {'recall':>7} {'no subject':>10} {'aligned':>8} {'eye error: aligned crops':>25} "
        f"{'all crops':>17} {'frames/s':>9}"
    )
    for detector in DETECTORS:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            result = extract([corpus], folder, ExtractConfig(every=4, detector=detector), workers=workers)
            seconds = time.perf_counter() - started
            faces = pd.read_csv(Path(folder) / "faces.csv")
            errors = eye_errors(Path(folder), corpus)
        rows = truth[truth.index.get_level_values("frame") % 4 == 0]
        present = rows[rows["face_present"]]
        found = faces.set_index(["source_id", "frame"])
        hits = sum(
            key in found.index
            and face_found(found.loc[[key], ["x", "y", "w", "h"]].to_numpy(), (row.face_x, row.face_y, row.face_w, row.face_h))
            for key, row in zip(present.index, present.itertuples())
        )
        false = sum(not truth.loc[key, "face_present"] for key in found.index)
        aligned, every = errors[errors["aligned"]]["error"], errors["error"]
        print(
            f"   {detector:8} {hits / len(present):7.1%} {false:10d} {errors['aligned'].mean():8.1%} "
            f"{aligned.median():8.1f} px, {(aligned <= 8).mean():6.1%} <= 8 px "
            f"{every.median():4.1f} px, {(every <= 8).mean():6.1%} {result.frames_read / seconds:9.0f}"
        )
    print(
        "   (no subject: detections in frames where the subject's face is away or covered; a smaller face in the\n"
        "   background is there in some of those frames. Eye error: the worse true eye's distance from its place)"
    )


def speed(media: Path, loop: int) -> None:
    """Part 3: the pipeline alone and whole predictions, beside decoding alone (OpenCV's default
    decoding threads and one thread, before and after the predictions: the ratio is to the
    faster, the limit a frame loop on these cores can reach)."""
    with tempfile.TemporaryDirectory() as folder:
        video = looped(media / "single_face.mp4", loop, Path(folder) / "loop.mp4")
        decoding = {threads: [decode_fps(video, threads)] for threads in (0, 1)}
        frames = [frame for frame in open_media(video).frames()]
        before = paper_recipe_model(media, Path(folder) / "before.onnx")
        runs = {name: (PRETRAINED_EMOTION_RECIPE.with_detector(name), "pretrained:fer2013-minixception", name) for name in DETECTORS}
        runs["haar, before"] = (CropRecipe("haar"), str(before), None)
        rows = []
        cv2.setNumThreads(1)
        for name, (recipe, model, detector) in runs.items():
            pipeline = face_pipeline(recipe, "largest", gray_crops=True)
            list(pipeline.run(frames[:20]))  # warm-up: sessions and first allocations
            started = time.perf_counter()
            with_face = sum(bool(faces) for _, faces in pipeline.run(frames))
            per_frame = 1000 * (time.perf_counter() - started) / len(frames)
            rows.append((name, per_frame, run_vemo(video, Path(folder) / name, 0, detector, model=model), with_face))
        cv2.setNumThreads(0)
        for threads in decoding:
            decoding[threads].append(decode_fps(video, threads))
        default, single = (sum(decoding[t]) / 2 for t in (0, 1))
        limit = max(default, single)
        print(
            f"3. single_face.mp4 looped to {len(frames)} frames (640x360): decoding alone {default:.0f} frames/s with OpenCV's"
            f" default threads, {single:.0f} on one thread"
        )
        print(f"   {'detector':13} {'pipeline ms/frame':>18} {'vemo predict frames/s':>22} {'/ decoding':>10} {'frames with a face':>19}")
        for name, per_frame, whole, with_face in rows:
            print(f"   {name:13} {per_frame:18.2f} {whole['steady']:22.0f} {whole['steady'] / limit:10.2f} {with_face:>13d}/{len(frames)}")
        print(
            "   (each detector as `vemo predict --detector NAME` cuts the pretrained model's faces; 'haar, before': the\n"
            "   default before the CNN detectors, Haar with 227 px crops and a detection every 10 frames, as an ONNX file)"
        )


def paper_recipe_model(media: Path, target: Path) -> Path:
    """The pretrained FER2013 model exported with the paper's Haar recipe (227 px crops, a detection
    every 10 frames): `vemo predict`'s default before the CNN detectors, run as a whole process."""
    loaded = load_predictor("pretrained:fer2013-minixception", device="cpu", runtime="torch")
    predictor = dataclasses.replace(loaded, crop_recipe=CropRecipe("haar"))
    export_predictor(predictor, target, check_crops(predictor, [media / "single_face.jpg"])[0])
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "vemo-bench-demo-corpus")
    parser.add_argument("--media", type=Path, default=SHARED)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loop", type=int, default=4032, help="frames of the looped clip of part 3")
    parser.add_argument("--skip-corpus", action="store_true", help="leave part 2 out")
    args = parser.parse_args()
    real_faces()
    if not args.skip_corpus:
        if not (args.corpus / "corpus.json").is_file():
            generate_corpus(plan_corpus("demo", seed=0), args.corpus, workers=args.workers)
        corpus_detection(args.corpus, args.workers)
    if args.media.is_dir():
        speed(args.media, args.loop)
    else:
        print(f"3. skipped: no real media at {args.media}")


if __name__ == "__main__":
    main()

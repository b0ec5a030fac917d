"""Haar and MTCNN side by side, in one run: recall, false positives, alignment, speed.

Usage: python benchmarks/detectors.py [--corpus DIR] [--media DIR] [--workers 2]

1. Real media (`../shared/media`): per file, frames with a face found, faces in the group photo,
   detections on the clip without a face; each detector with and without tracking.
2. The synthetic demo corpus (`vemo synth DIR --preset demo`, rendered first when DIR is empty),
   every 4th frame: recall against `frames.csv` (a detection centred in the true box), detections
   that match no true face, the share of crops aligned and the worse true eye's distance from its
   canonical place (crop pixels), and extraction frames/s, for both detectors with tracking.
3. Speed on a 640x360 real clip looped 4x: extraction and prediction frames/s with each
   detector, same workers, and the ratio MTCNN / Haar.
Every figure on the synthetic corpus is about drawn faces, not a real-world result.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import pandas as pd

from vemo.extraction import ExtractConfig, extract
from vemo.faces.detect import DetectorSettings
from vemo.faces.recipe import CropRecipe
from vemo.io.media import open_media
from vemo.prediction import load_predictor, predict_media
from vemo.synth import generate_corpus, plan_corpus
from vemo.synth.corpus import face_found
from vemo.synth.truth import eye_errors
from vemo.weights import face_pipeline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "media"


def real_media(media: Path) -> None:
    print("1. real media: frames with a face found (of analysed frames); faces found in multi_face.jpg")
    print(f"   {'file':22} {'haar':>9} {'haar+track':>11} {'mtcnn':>9} {'mtcnn+track':>12}")
    for name in ("single_face.mp4", "noface_face.mov", "no_face.mp4", "single_face.jpg", "multi_face.jpg"):
        cells = []
        for detector in ("haar", "mtcnn"):
            for track in (False, True):
                recipe = CropRecipe(detector, DetectorSettings(track=track, detect_width=0 if name.endswith(".jpg") else 320))
                pipeline = face_pipeline(recipe, "all" if name == "multi_face.jpg" else "largest")
                found = [len(faces) for _, faces in pipeline.run(open_media(media / name).frames())]
                cells.append(f"{sum(found)} faces" if name == "multi_face.jpg" else f"{sum(map(bool, found))}/{len(found)}")
        print(f"   {name:22} {cells[0]:>9} {cells[1]:>11} {cells[2]:>9} {cells[3]:>12}")
    print("   (multi_face.jpg shows 5 people; no_face.mp4 has no face: every hit there is a false positive)")


def corpus_detection(corpus: Path, workers: int) -> None:
    truth = pd.read_csv(corpus / "frames.csv").set_index(["clip_id", "frame"])
    print(f"2. synthetic demo corpus ({corpus}), every 4th frame, tracking on, {workers} workers")
    print(
        f"   {'detector':8} {'recall':>7} {'no subject':>10} {'aligned':>8} {'eye error: aligned crops':>25} "
        f"{'all crops':>17} {'frames/s':>9}"
    )
    for detector in ("haar", "mtcnn"):
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


def speed(media: Path, workers: int) -> None:
    source = media / "single_face.mp4"
    frames = [frame.image for frame in open_media(source).frames()]
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "loop.mp4"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, frames[0].shape[1::-1])
        for image in (frames + frames[::-1]) * 2:
            writer.write(image)
        writer.release()
        rates, predicted = {}, {}
        predictor = load_predictor("pretrained:fer2013-minixception", device="cpu", runtime="torch")
        for detector in ("haar", "mtcnn"):
            started = time.perf_counter()
            result = extract([video], Path(folder) / detector, ExtractConfig(detector=detector), workers=workers)
            rates[detector] = result.frames_read / (time.perf_counter() - started)
            started = time.perf_counter()
            _, table = predict_media(video, predictor, workers=workers, detector=detector)
            predicted[detector] = len(table) / (time.perf_counter() - started)
    print(
        f"3. {source.name} looped to {4 * len(frames)} frames (640x360), {workers} workers, tracking on:\n"
        f"   extraction: Haar {rates['haar']:.0f} frames/s, MTCNN {rates['mtcnn']:.0f} frames/s, "
        f"ratio MTCNN / Haar {rates['mtcnn'] / rates['haar']:.2f}\n"
        f"   prediction (pretrained FER2013, model loaded once): Haar {predicted['haar']:.0f} frames/s, MTCNN "
        f"{predicted['mtcnn']:.0f} frames/s, ratio {predicted['mtcnn'] / predicted['haar']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "vemo-bench-demo-corpus")
    parser.add_argument("--media", type=Path, default=SHARED)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.media.is_dir():
        real_media(args.media)
    else:
        print(f"1. skipped: no real media at {args.media}")
    if not (args.corpus / "corpus.json").is_file():
        generate_corpus(plan_corpus("demo", seed=0), args.corpus, workers=args.workers)
    corpus_detection(args.corpus, args.workers)
    if args.media.is_dir():
        speed(args.media, args.workers)


if __name__ == "__main__":
    main()

"""PyTorch against ONNX Runtime (float and int8) for vemo's networks, and whole `vemo predict`
with each runtime, in one run on this machine. (Not named onnx.py: a script of that name would
shadow the onnx package it imports.)

Usage: python benchmarks/onnx_runtime.py [--frames 4032] [--seconds 3] [--repeats 5]

1. Images/s of each network, at batch 1 and 64, on one thread (as each of predict's threads runs
   it): PyTorch as predict runs it (batch norms folded, channels-last, inference mode), the
   exported float file and the int8 file (calibrated on face crops of ../shared/media) with ONNX
   Runtime. The FER2013 mini-Xception (its pretrained weights when at hand), LeNet and AlexNet.
2. `vemo predict --model pretrained:fer2013-minixception` (Haar) on a loop of
   ../shared/media/single_face.mp4, as a whole process with --runtime torch and --runtime onnx:
   steady frames/s (first to last analysed frame), the share of equal frame labels, and the
   network's share of a frame's time on one core.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict import CLIP, looped, run_vemo  # noqa: E402  (the same looped clip and process runner)

from vemo.faces.recipe import DEFAULT_RECIPE  # noqa: E402
from vemo.models import create_model, model_info  # noqa: E402
from vemo.models.inputs import preprocess_for  # noqa: E402
from vemo.prediction import Predictor, load_predictor  # noqa: E402
from vemo.prediction.loader import prepare_network  # noqa: E402
from vemo.prediction.onnx.crops import check_crops  # noqa: E402
from vemo.prediction.onnx.export import export_predictor  # noqa: E402


def predictor_for(name: str) -> Predictor:
    if name == "minixception":
        try:
            return load_predictor("pretrained:fer2013-minixception", device="cpu", runtime="torch")
        except Exception as error:  # no weights at hand: the same network, random weights
            print(f"(FER2013 weights not at hand: {error}; random weights)")
    classes = ("disgust", "happiness", "sadness", "surprise")
    return Predictor(
        network=prepare_network(create_model(name, 4), "cpu"),
        preprocess=preprocess_for(model_info(name), "vemo"),
        model_classes=classes,
        classes=classes,
        description=name,
        corpus={},
        crop_recipe=DEFAULT_RECIPE,
        architecture=name,
    )


def images_per_second(run, batch: np.ndarray, seconds: float) -> float:
    run(batch)  # warm-up
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run(batch)
        count += len(batch)
    return count / (time.perf_counter() - started)


def network_rows(folder: Path, seconds: float) -> dict[str, float]:
    """Prints the table of part 1; returns ms per image at batch 64 of the mini-Xception per runtime."""
    torch.set_num_threads(1)
    print(
        f"{'network':<13} {'batch':>5} {'torch img/s':>12} {'onnx float':>11} {'onnx int8':>10} "
        f"{'float/torch':>11} {'int8/torch':>10} {'int8 labels':>11}"
    )
    per_image = {}
    for name in ("minixception", "lenet", "alexnet"):
        predictor = predictor_for(name)
        crops, _ = check_crops(predictor, [CLIP, CLIP.parent / "multi_face.jpg"])
        export_predictor(predictor, folder / f"{name}.onnx", crops)
        report = export_predictor(predictor, folder / f"{name}.int8.onnx", crops, int8=True)
        exported = {kind: load_predictor(folder / f"{name}{kind}.onnx", classes=",".join(predictor.classes)) for kind in ("", ".int8")}
        for size in (1, 64):
            batch = np.resize(crops, (size, *crops.shape[1:]))
            figures = [images_per_second(lambda b, p=predictor: p._compute(b, 64), batch, seconds)]
            for kind in ("", ".int8"):
                figures.append(images_per_second(lambda b, p=exported[kind]: p._compute(b, 64), batch, seconds))
            if name == "minixception" and size == 64:
                per_image = {"torch": 1000 / figures[0], "onnx": 1000 / figures[1]}
            print(
                f"{name:<13} {size:>5} {figures[0]:>12.0f} {figures[1]:>11.0f} {figures[2]:>10.0f} "
                f"{figures[1] / figures[0]:>10.2f}x {figures[2] / figures[0]:>9.2f}x "
                f"{report.int8_agreement:>10.1%}"
            )
    return per_image


def predict_rows(folder: Path, frames: int, per_image: dict[str, float], repeats: int) -> None:
    """Whole processes, the two runtimes taking turns `repeats` times: medians, and the ratio of
    each pair of neighbouring runs (this machine's frames/s vary by up to 25 % from one minute to
    the next; neighbours share the conditions)."""
    video = looped(CLIP, frames, folder / f"loop{frames}.mp4")
    workers = os.cpu_count() or 1
    runs: dict[str, list[dict]] = {"torch": [], "onnx": []}
    for _ in range(repeats):
        for runtime, results in runs.items():
            results.append(run_vemo(video, folder / runtime, workers, "haar", runtime))
    steady = {runtime: float(np.median([r["steady"] for r in results])) for runtime, results in runs.items()}
    same = float(np.mean(runs["torch"][0]["table"]["label"].astype(str).values == runs["onnx"][0]["table"]["label"].astype(str).values))
    print(
        f"\nvemo predict, FER2013 mini-Xception, Haar, {frames} frames of {CLIP.name} looped, {workers} cores, "
        f"median of {repeats} runs each, taking turns:"
    )
    for runtime, results in runs.items():
        frame_ms = 1000 * workers / steady[runtime]  # one core's time per frame
        every = ", ".join(f"{r['steady']:.0f}" for r in results)
        print(
            f"  --runtime {runtime:<6} {steady[runtime]:7.0f} frames/s steady ({every}), "
            f"{np.median([r['wall'] for r in results]):5.1f} s whole; network {per_image[runtime]:.2f} of "
            f"{frame_ms:.2f} ms a frame on one core ({per_image[runtime] / frame_ms:.0%})"
        )
    walls = {runtime: float(np.median([r["wall"] for r in results])) for runtime, results in runs.items()}
    print(
        f"  whole process (start-up included; with the export cached, --runtime onnx never loads torch): "
        f"torch {walls['torch']:.1f} s, onnx {walls['onnx']:.1f} s: {walls['torch'] / walls['onnx']:.2f}x frames/s"
    )
    ratios = [o["steady"] / t["steady"] for t, o in zip(runs["torch"], runs["onnx"])]
    print(
        f"  onnx / torch: {steady['onnx'] / steady['torch']:.2f}x frames/s (medians); per pair of neighbouring runs "
        f"{', '.join(f'{r:.2f}x' for r in ratios)}, median {np.median(ratios):.2f}x; equal frame labels {same:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4032)
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per figure of the network table")
    parser.add_argument("--repeats", type=int, default=5, help="whole predict runs per runtime")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; torch {torch.__version__}")
    with tempfile.TemporaryDirectory(prefix="vemo-bench-onnx-") as folder:
        per_image = network_rows(Path(folder), args.seconds)
        predict_rows(Path(folder), args.frames, per_image, args.repeats)


if __name__ == "__main__":
    main()

"""The accelerator path against the same machine's CPU, in one run: prediction and training.

Usage: python benchmarks/gpu.py [--frames 4032] [--model pretrained:fer2013-minixception]
                                [--workspace WS] [--paper] [--reduced]

Prints, each figure measured here and now (rows for a GPU say "no GPU" on a machine without one):
  1. prediction: decoding alone, then whole `vemo predict` processes on a loop of
     ../shared/media/single_face.mp4 (--frames long), Haar and MTCNN, with --device cuda, cpu
     and auto: wall time and steady frames/s (first to last analysed frame), and cuda / cpu;
  2. training: images/s of vemo's `train()` (paper recipe: no augmentation, the same work as the
     bare loop) and of a bare PyTorch loop on the same uint8 tensors (on the device, scaled there,
     forward, cross-entropy, backward, SGD step), LeNet and AlexNet, batch 10 and 100, fp32 and
     amp (bfloat16 autocast where the GPU has it); both timed on their second epoch;
  3. with --paper: the paper's whole grid (LeNet and AlexNet, SGD / RMSprop / Adam, batch 10 and
     100, 25 epochs, the LGBP baseline) on the `ised` preset, synthesis and extraction included,
     timed per stage, with Table IX and per-class accuracy of the run (synthetic faces).
--reduced: a 300-frame loop, LeNet only, 200 training images (the test suite runs this on a CPU).
Training needs a split workspace (--workspace; else the `tiny` preset is rendered and split here).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cv2  # noqa: E402
from predict import CLIP, frame_moments, looped  # noqa: E402  (the looped clip of the peer benchmark)

NO_GPU = "no GPU"


def decode_fps(video: Path) -> float:
    capture, count, started = cv2.VideoCapture(str(video)), 0, time.perf_counter()
    while capture.grab():
        capture.retrieve()
        count += 1
    return count / (time.perf_counter() - started)


def predict_process(video: Path, model: str, device: str, detector: str, out: Path) -> dict:
    """A whole `vemo predict` process: wall seconds, steady frames/s and where auto put the network."""
    env = dict(os.environ)
    started = time.time()
    done = subprocess.run(
        [
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
            "--device",
            device,
            "--detector",
            detector,
            "--force",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.time() - started
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    moments = frame_moments(done.stderr)
    verdict = json.loads((out / f"{video.stem}.json").read_text())
    frames = verdict["frames"]
    steady = frames / (moments["last"] - moments["first"]) if {"first", "last"} <= moments.keys() else float("nan")
    return {"wall": wall, "fps": steady, "device": verdict.get("device", "?"), "label": verdict["label"]}


def prediction_rows(frames: int, model: str, tmp: Path) -> None:
    video = looped(CLIP, frames, tmp / f"loop{frames}.mp4")
    print(f"\n1. prediction, {frames}-frame 640x360 loop of {CLIP.name}, {model}")
    print(f"   decoding alone: {decode_fps(video):,.0f} frames/s")
    print(f"   {'detector':8} {'device':6} {'ran on':7} {'wall s':>7} {'frames/s':>9} {'vs cpu':>7}  label")
    for detector in ("haar", "mtcnn"):
        cpu = None
        for device in ("cpu", "cuda", "auto"):
            if device == "cuda" and not torch.cuda.is_available():
                print(f"   {detector:8} {device:6} {NO_GPU}")
                continue
            row = predict_process(video, model, device, detector, tmp / f"{detector}-{device}")
            if "error" in row:
                print(f"   {detector:8} {device:6} failed: {row['error']}")
                continue
            cpu = row["fps"] if device == "cpu" else cpu
            ratio = f"{row['fps'] / cpu:6.2f}x" if cpu else "      -"
            print(f"   {detector:8} {device:6} {row['device']:7} {row['wall']:7.1f} {row['fps']:9.1f} {ratio}  {row['label']}")


def bare_images_per_second(name: str, images: torch.Tensor, labels: torch.Tensor, batch: int, device: torch.device, amp: bool) -> float:
    """A bare loop's second epoch on tensors already on `device` (the first warms cuDNN up)."""
    from vemo.models import create_model

    torch.manual_seed(0)
    model = create_model(name, num_classes=4).to(device).train()
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float16
    images, labels = images.to(device), labels.to(device)
    seconds = 0.0
    for _ in range(2):
        order = torch.randperm(len(labels), device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        for i in range(0, len(order), batch):
            index = order[i : i + batch]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=dtype, enabled=amp):
                loss = torch.nn.functional.cross_entropy(model(images[index].float()), labels[index])
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    return len(labels) / seconds


def vemo_images_per_second(workspace: Path, name: str, batch: int, device: str, amp: bool) -> float:
    from vemo.training import TrainConfig, train

    result = train(
        workspace,
        TrainConfig(
            model=name,
            preset="paper",
            epochs=2,
            batch_size=batch,
            device=device,
            amp=amp,
            name=f"bench-{name}-b{batch}-{device}-{'amp' if amp else 'fp32'}",
        ),
    )
    return len_train(workspace) / float(result.history.iloc[-1]["train_seconds"])


def len_train(workspace: Path) -> int:
    import pandas as pd

    splits = pd.read_csv(workspace / "splits.csv")
    return int((splits["split"] == "train").sum())


def training_rows(workspace: Path, models: list[str], batches: list[int], tmp: Path) -> None:
    from vemo.labelling.tensors import split_tensors
    from vemo.models import model_info
    from vemo.models.inputs import preprocess_for

    print(f"\n2. training, {len_train(workspace)} train images of {workspace} (paper recipe, second epoch)")
    print(f"   {'model':8} {'batch':>5} {'device':6} {'amp':5} {'vemo':>9} {'bare':>9} {'vemo/bare':>9}  (images/s)")
    for name in models:
        images, labels = split_tensors(workspace, "train", preprocess_for(model_info(name), "paper").spec)
        for batch in batches:
            for device, amp in (("cuda", False), ("cuda", True), ("cpu", False)):
                if device == "cuda" and not torch.cuda.is_available():
                    print(f"   {name:8} {batch:5} {device:6} {str(amp):5} {NO_GPU}")
                    continue
                ours = vemo_images_per_second(workspace, name, batch, device, amp)
                bare = bare_images_per_second(name, images, labels, batch, torch.device(device), amp)
                print(f"   {name:8} {batch:5} {device:6} {str(amp):5} {ours:9.1f} {bare:9.1f} {ours / bare:9.2f}")


def copied(workspace: Path, tmp: Path) -> Path:
    """The workspace's tables in a folder of ours (its crops linked): the runs land there, not in it."""
    import shutil

    copy = tmp / "ws"
    shutil.copytree(workspace, copy, ignore=shutil.ignore_patterns("runs", "faces"))
    (copy / "faces").symlink_to((workspace / "faces").resolve())
    return copy


def tiny_workspace(tmp: Path, limit: int | None) -> Path:
    """The `tiny` preset rendered, extracted, labelled and split (optionally only `limit` train crops)."""
    import pandas as pd

    from vemo.extraction import ExtractConfig, extract
    from vemo.labelling import apply_labels, labels_from_clips, split_workspace
    from vemo.synth import generate_corpus, plan_corpus

    generate_corpus(plan_corpus("tiny", seed=3), tmp / "corpus")
    workspace = tmp / "ws"
    extract([tmp / "corpus"], workspace, ExtractConfig())
    apply_labels(workspace, labels_from_clips(workspace, window="onset-offset"), "clips:onset-offset")
    split_workspace(workspace, by="subject", seed=0)
    if limit:
        splits = pd.read_csv(workspace / "splits.csv")
        train = splits[splits["split"] == "train"].head(limit)
        pd.concat([train, splits[splits["split"] != "train"]]).to_csv(workspace / "splits.csv", index=False)
    return workspace


def paper_grid(tmp: Path, epochs: int) -> None:
    """The paper's grid on the `ised` preset, every stage timed."""
    from vemo.experiment import ExperimentConfig, run_paper_grid
    from vemo.experiment.report import build_tables
    from vemo.extraction import ExtractConfig, extract
    from vemo.labelling import apply_labels, labels_from_clips, split_workspace
    from vemo.synth import generate_corpus, plan_corpus

    print(f"\n3. the paper's grid on the `ised` preset (SYNTHETIC faces), {epochs} epochs, device auto")
    moments = [time.perf_counter()]
    generate_corpus(plan_corpus("ised", seed=0), tmp / "ised")
    moments.append(time.perf_counter())
    workspace = tmp / "ised-ws"
    extract([tmp / "ised"], workspace, ExtractConfig(every=2))
    apply_labels(workspace, labels_from_clips(workspace, window="onset-offset"), "clips:onset-offset")
    split_workspace(workspace, by="subject", seed=0)
    moments.append(time.perf_counter())
    results = run_paper_grid(
        workspace, ExperimentConfig(models=("lenet", "alexnet"), epochs=epochs, seeds=1, preset="paper", protocol="subject")
    )
    moments.append(time.perf_counter())
    steps = ("synthesis", "extraction, labels, split", "grid")
    print(
        "   "
        + ", ".join(f"{s}: {b - a:.0f} s" for s, a, b in zip(steps, moments, moments[1:]))
        + f"; total {moments[-1] - moments[0]:.0f} s"
    )
    for line in build_tables(results)["IX"].to_string(index=False).splitlines():
        print("   " + line)
    columns = ["accuracy", "balanced_accuracy", *[c for c in results.columns if c.startswith("recall_")]]
    print(results[["model", "optimizer", "batch_size", *columns]].to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4032)
    parser.add_argument("--model", default="pretrained:fer2013-minixception")
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--paper", action="store_true")
    parser.add_argument("--paper-epochs", type=int, default=25)
    parser.add_argument("--reduced", action="store_true")
    args = parser.parse_args()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else NO_GPU
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, GPU: {gpu}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        prediction_rows(300 if args.reduced else args.frames, args.model, tmp)
        workspace = copied(args.workspace, tmp) if args.workspace else tiny_workspace(tmp, 200 if args.reduced else None)
        training_rows(workspace, ["lenet"] if args.reduced else ["lenet", "alexnet"], [10] if args.reduced else [10, 100], tmp)
        if args.paper:
            paper_grid(tmp, args.paper_epochs)


if __name__ == "__main__":
    main()

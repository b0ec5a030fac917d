"""Training speed: vemo's loop against a bare PyTorch loop, same model, tensors and batch size.

Usage: python benchmarks/train.py [WORKSPACE] [--models lenet alexnet] [--batch-size 10] [--limit N]

Needs a split workspace (default ./vemo-demo/workspace from `vemo demo`). For each model it
trains one epoch on (the first --limit images of) the train split:
  - bare: shuffle, scale, forward, cross-entropy, backward, SGD step; nothing else;
  - vemo, paper recipe (same work: no augmentation), images/s from its train.json;
  - vemo, vemo recipe (with augmentation), for reference;
and prints images/s and the ratio vemo / bare.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from vemo.labelling.tensors import split_tensors
from vemo.models import create_model, model_info
from vemo.models.inputs import preprocess_for
from vemo.training import TrainConfig, train


def bare_epoch(name: str, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> float:
    torch.manual_seed(0)
    model = create_model(name, num_classes=4)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    order = torch.randperm(len(labels))
    started = time.perf_counter()
    for i in range(0, len(order), batch_size):
        index = order[i : i + batch_size]
        x = images[index].float()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), labels[index]).backward()
        optimizer.step()
    return len(labels) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", nargs="?", type=Path, default=Path("vemo-demo/workspace"))
    parser.add_argument("--models", nargs="+", default=["lenet", "alexnet"])
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--limit", type=int, default=400, help="train images per epoch (AlexNet on a CPU is slow)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    print(f"{'model':8} {'bare':>9} {'vemo paper':>11} {'vemo+aug':>9} {'vemo/bare':>10}  (images/s)")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        shutil.copytree(args.workspace, workspace, ignore=shutil.ignore_patterns("runs", "faces"))
        (workspace / "faces").symlink_to((args.workspace / "faces").resolve())
        splits = pd.read_csv(workspace / "splits.csv")
        train_rows = splits[splits["split"] == "train"].sample(min(args.limit, (splits["split"] == "train").sum()), random_state=0)
        val_rows = splits[splits["split"] == "val"].sort_values("crop_path").head(20)
        pd.concat([train_rows, val_rows]).to_csv(workspace / "splits.csv", index=False)
        for name in args.models:
            preprocess = preprocess_for(model_info(name), "paper")
            images, labels = split_tensors(workspace, "train", preprocess.spec)
            bare = bare_epoch(name, images, labels, args.batch_size)
            rates = []
            for recipe in ("paper", "vemo"):
                result = train(
                    workspace,
                    TrainConfig(model=name, preset=recipe, epochs=1, batch_size=args.batch_size, name=f"{name}-{recipe}", device="cpu"),
                )
                rates.append(result.images_per_second)
            print(f"{name:8} {bare:9.1f} {rates[0]:11.1f} {rates[1]:9.1f} {rates[0] / bare:10.2f}")


if __name__ == "__main__":
    main()

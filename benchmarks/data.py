"""Training-data loader speed, side by side in one run.

Usage: python benchmarks/data.py [WORKSPACE] [--size 227] [--batch-size 100]

Needs a split workspace (default: ./vemo-demo/workspace, made by `vemo demo`). Prints
samples/s of one epoch over the train split for:
  1. a loader that decodes the PNG crops every epoch (torch DataLoader over files);
  2. vemo's loader over the decoded cache (`split_tensors` + `iterate_batches`, cache warm);
  3. iterating a plain in-memory tensor in the same order (the limit);
each turning batches into float tensors as training does.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from vemo.classes import PAPER_CLASSES
from vemo.labelling.tensors import iterate_batches, load_crop, split_rows, split_tensors
from vemo.models.inputs import InputSpec


class PngDataset(Dataset):
    def __init__(self, workspace: Path, spec: InputSpec) -> None:
        self.workspace, self.spec = workspace, spec
        self.rows = split_rows(workspace, "train")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        row = self.rows.iloc[i]
        return torch.from_numpy(load_crop(self.workspace / row.crop_path, self.spec)), PAPER_CLASSES.index(row.label)


def rate(make_batches, epochs: int = 1) -> float:
    """Samples/s over `epochs` passes of `make_batches()`."""
    started = time.perf_counter()
    seen = 0
    for _ in range(epochs):
        for images, labels in make_batches():
            images.float().div_(255)
            seen += len(labels)
    return seen / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", nargs="?", type=Path, default=Path("vemo-demo/workspace"))
    parser.add_argument("--size", type=int, default=227)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    spec = InputSpec(args.size)
    png = rate(lambda: DataLoader(PngDataset(args.workspace, spec), batch_size=args.batch_size, shuffle=True))
    split_tensors(args.workspace, "train", spec)  # make sure the cache exists
    started = time.perf_counter()
    images, labels = split_tensors(args.workspace, "train", spec)
    load_seconds = time.perf_counter() - started
    generator = torch.Generator().manual_seed(0)
    epochs = 20
    cached = rate(lambda: iterate_batches(images, labels, args.batch_size, shuffle=True, generator=generator), epochs)
    plain = images.clone()

    def plain_batches():
        order = torch.randperm(len(labels), generator=generator)
        return (
            (plain[order[i : i + args.batch_size]], labels[order[i : i + args.batch_size]]) for i in range(0, len(order), args.batch_size)
        )

    limit = rate(plain_batches, epochs)
    print(f"train split: {len(labels)} crops at {args.size}x{args.size}, batch {args.batch_size}")
    print(f"{'PNG decode every epoch':32} {png:10.0f} samples/s")
    print(f"{'vemo cache (load ' + f'{load_seconds:.2f} s)':32} {cached:10.0f} samples/s")
    print(f"{'plain in-memory tensor':32} {limit:10.0f} samples/s")
    print(f"vemo cache / PNG decode: {cached / png:.1f}x;  vemo cache / plain tensor: {cached / limit:.2f}")


if __name__ == "__main__":
    main()

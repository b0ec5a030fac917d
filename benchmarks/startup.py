"""Start-up of `vemo predict`, beside a bare `import torch`, measured in one run.

Usage: python benchmarks/startup.py [VIDEO] [--repeat 3]

Prints, each the best of `--repeat` whole processes:
  1. `python -c "import torch"`: the floor every PyTorch tool pays, from process start until the
     import has returned (the process' exit, slow with torch loaded, is not counted);
  2. `vemo predict VIDEO --model pretrained:fer2013-minixception`: from process start to the first
     analysed frame (vemo logs that moment at DEBUG, `-v`), and
     the whole process; by default (ONNX Runtime from the export cached by the warm-up run, which
     never loads torch) and with `--runtime torch`;
  3. `vemo --help` and `vemo --version`;
and the margin of (2) over (1). The weights are fetched before the first timed run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "media" / "single_face.mp4"
VEMO = [sys.executable, "-m", "vemo"]


def wall(command: list[str], env: dict | None = None) -> tuple[float, str]:
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}")
    return time.time() - started, done.stderr


def torch_imported() -> float:
    """Seconds from process start until `import torch` has returned (not counting the exit)."""
    started = time.time()
    _, stderr = wall([sys.executable, "-c", "import sys, time; import torch; print(time.time(), file=sys.stderr)"])
    return float(stderr.split()[-1]) - started


def first_frame(video: Path, out: Path, runtime: str = "auto") -> tuple[float, float]:
    """(seconds from process start to the first analysed frame, seconds of the whole process)."""
    env = dict(os.environ)
    started = time.time()
    seconds, stderr = wall(
        [
            *VEMO,
            "-q",
            "-v",  # no progress bars, DEBUG lines: the first and last frames' moments
            "predict",
            str(video),
            "--model",
            "pretrained:fer2013-minixception",
            "--out",
            str(out),
            "--force",
            "--runtime",
            runtime,
        ],
        env,
    )
    stamps = [float(found) for found in re.findall(r"first frame analysed at ([0-9.]+)", stderr)]
    if not stamps:
        raise SystemExit("vemo did not report its first analysed frame")
    return stamps[0] - started, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        wall([*VEMO, "-q", "weights", "fetch", "fer2013-minixception"])
        first_frame(args.video, Path(folder))  # warm the file cache once
        torch_import = min(torch_imported() for _ in range(args.repeat))
        best = {}
        for runtime in ("auto", "torch"):
            runs = [first_frame(args.video, Path(folder), runtime) for _ in range(args.repeat)]
            best[runtime] = min(r[0] for r in runs), min(r[1] for r in runs)
        help_time = min(wall([*VEMO, "--help"])[0] for _ in range(args.repeat))
        version = min(wall([*VEMO, "--version"])[0] for _ in range(args.repeat))
    print(f"1. python -c 'import torch': imported at      {torch_import:6.2f} s")
    for runtime, (to_first, whole) in best.items():
        print(
            f"2. vemo predict {args.video.name} --runtime {runtime:<5}: first frame at {to_first:6.2f} s "
            f"({to_first - torch_import:+.2f} s against import torch), whole process {whole:.2f} s"
        )
    print(f"   whole process, torch / auto: {best['torch'][1] / best['auto'][1]:.2f}x")
    print(f"3. vemo --help {help_time:.2f} s, vemo --version {version:.2f} s (goal: under 0.3 s each)")


if __name__ == "__main__":
    main()

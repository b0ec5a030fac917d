"""How long `vemo synth` takes per preset, with one worker and with all cores, in one run.

Usage: python benchmarks/synth.py [--presets tiny demo ised]

Prints frames/s for each preset and worker count, and the speed-up from 1 worker to all.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from vemo.synth import generate_corpus, plan_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "demo"])
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{'preset':8} {'clips':>5} {'frames':>7} {'workers':>7} {'seconds':>8} {'frames/s':>9}")
    for preset in args.presets:
        plan = plan_corpus(preset, seed=0)
        seconds = {}
        for workers in sorted({1, cores}):
            with tempfile.TemporaryDirectory() as out:
                started = time.perf_counter()
                result = generate_corpus(plan, out, workers=workers)
                seconds[workers] = time.perf_counter() - started
            print(
                f"{preset:8} {len(plan.clips):>5} {result.frames:>7} {workers:>7} {seconds[workers]:>8.1f} "
                f"{result.frames / seconds[workers]:>9.0f}"
            )
        if cores > 1:
            print(f"{preset:8} speed-up {cores} workers / 1 worker: {seconds[1] / seconds[cores]:.2f}x")


if __name__ == "__main__":
    main()

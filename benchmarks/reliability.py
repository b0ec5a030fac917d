"""The whole reliability suite, and its table: kills survived, odd inputs handled, attacks refused.

Usage: python benchmarks/reliability.py [--kills 10] [--inputs 10]

Runs `pytest tests/reliability` with VEMO_RELIABILITY_KILLS kills per command (SIGKILL of the
main process or of its process group at seeded random moments, then the same command again)
and VEMO_RELIABILITY_INPUTS truncations and byte flips per real media file (CI runs 1 and 3),
and the tests of hostile ONNX files, damaged prediction folders and concurrent writers, which
live beside their stages; then prints what each test recorded, a line per family. Needs
../shared/media (the odd inputs are made from it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/reliability", "tests/prediction/onnx/test_file.py", "tests/view/test_damaged.py", "tests/prediction/test_folder.py"]
FAMILIES = {"option fuzz": "option fuzz (every numeric option)", "text option fuzz": "option fuzz (text options with numbers or names)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--inputs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.jsonl"
        env = {
            **os.environ,
            "VEMO_RELIABILITY_KILLS": str(args.kills),
            "VEMO_RELIABILITY_INPUTS": str(args.inputs),
            "VEMO_RELIABILITY_REPORT": str(report),
        }
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", *TESTS], cwd=ROOT, env=env)
        rows = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    families: dict[str, list[int]] = {}  # the option fuzzes record one row per option: one line for each fuzz
    for row in rows:
        what = FAMILIES.get(row["what"].split(":")[0], row["what"])
        tried, held = families.setdefault(what, [0, 0])
        families[what] = [tried + row["tried"], held + row["held"]]
    print(f"\n{'what':50} {'tried':>6} {'held':>6}")
    for what, (tried, held) in families.items():
        print(f"{what:50} {tried:6d} {held:6d}")
    total_tried, total_held = sum(r["tried"] for r in rows), sum(r["held"] for r in rows)
    print(f"{'all':50} {total_tried:6d} {total_held:6d}   (pytest exit code {done.returncode})")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()

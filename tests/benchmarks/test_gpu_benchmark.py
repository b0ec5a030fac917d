"""benchmarks/gpu.py runs on a machine without a GPU: its GPU rows say so, its CPU rows are measured."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # whole prediction processes

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


@pytest.mark.network
def test_the_reduced_gpu_benchmark_runs_on_a_cpu(cached_weights, split_tiny_workspace: Path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--reduced", "--workspace", str(split_tiny_workspace)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert re.search(r"decoding alone: [\d,]+ frames/s", out)
    for detector in ("haar", "mtcnn"):
        cpu = re.search(rf"^\s+{detector}\s+cpu\s+cpu\s+[\d.]+\s+([\d.]+)", out, re.M)
        assert cpu and float(cpu.group(1)) > 0, out
        auto = re.search(rf"^\s+{detector}\s+auto\s+(\w+)", out, re.M)
        assert auto and auto.group(1) == ("cuda" if torch.cuda.is_available() and detector == "mtcnn" else "cpu")
    training = re.search(r"^\s+lenet\s+10 cpu\s+False\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert training and min(float(v) for v in training.groups()) > 0, out
    if not torch.cuda.is_available():
        assert out.count("no GPU") >= 4  # the header, cuda prediction twice, cuda training twice
    assert not (split_tiny_workspace / "runs").exists() or not any((split_tiny_workspace / "runs").glob("bench-*"))

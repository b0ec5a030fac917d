"""The reliability suite: kill, corrupt and attack every command, and count what held.

The fast part runs in CI; `python benchmarks/reliability.py` runs it all (10 kills per command)
and prints the table. Each test records (what, tried, held) through `record`, into the file
named by $VEMO_RELIABILITY_REPORT when it is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

VEMO = [sys.executable, "-m", "vemo", "-q"]


@pytest.fixture(scope="session")
def record() -> Callable[[str, int, int], None]:
    """record(what, tried, held): one line of the printed table."""
    report = os.environ.get("VEMO_RELIABILITY_REPORT")

    def write(what: str, tried: int, held: int) -> None:
        if report:
            with open(report, "a") as handle:
                handle.write(json.dumps({"what": what, "tried": tried, "held": held}) + "\n")

    return write


@pytest.fixture(scope="session")
def trained_run(split_tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LeNet trained one epoch on the tiny workspace (the model of the predict cases)."""
    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path_factory.mktemp("reliable") / "ws"))
    subprocess.run([*VEMO, "train", str(workspace), "--model", "lenet", "--epochs", "1", "--batch-size", "32",
                    "--name", "r"], check=True, capture_output=True)
    return workspace / "runs" / "r"

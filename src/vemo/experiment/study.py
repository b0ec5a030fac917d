"""The paper's study in one call: the grid of runs (on one split protocol or both), then the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from vemo.engine import LOCAL, EngineSettings
from vemo.experiment.grid import ExperimentConfig, run_paper_grid
from vemo.experiment.report import write_report
from vemo.io.files import clean_partial_files


def run_study(
    workspace: Path | str,
    config: ExperimentConfig,
    out: Path | str,
    *,
    progress: bool = False,
    on_run: Callable[[dict], None] | None = None,
    engine: EngineSettings = LOCAL,
) -> tuple[pd.DataFrame, Path]:
    """Run (or reuse) every run of `config` and write the report into `out`.

    Args:
        engine: where the runs train and how many at once (see `run_paper_grid`).

    Returns:
        (one row per run, the path of report.html)
    """
    started = time.perf_counter()
    for folder in (Path(out), Path(out) / "figures"):
        clean_partial_files(folder)  # what a killed study left in its report
    results = run_paper_grid(workspace, config, progress=progress, on_run=on_run, engine=engine)
    report = write_report(results, Path(workspace), Path(out), config, time.perf_counter() - started)
    return results, report

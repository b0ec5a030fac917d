"""The grid of the paper's experiments, run through `vemo.train` and `vemo.evaluate`.

Tables IV-VI: each model with SGD, RMSprop and Adam at batch 10. Tables VII-VIII: each model's
best optimizer, chosen on the validation split (never on test), at batch 100. Table IX: the
best of each model beside the LGBP + PCA + LDA baseline. The transfer table (beyond the paper):
each pretrained model fine-tuned, the same architecture trained from scratch with the same
settings, on the same split as the rest. Finished runs are reused.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import pandas as pd
import torch

from vemo.checks import require_number
from vemo.classes import PAPER_CLASSES
from vemo.engine import LOCAL, EngineSettings, check_shared_workspace, run_units
from vemo.errors import ConfigError
from vemo.evaluation import evaluate
from vemo.io.files import clean_partial_files
from vemo.io.runs import RunFolder
from vemo.io.workspace import require_workspace
from vemo.labelling.split import read_split_fingerprint, split_workspace
from vemo.training import OPTIMIZERS, TrainConfig, train
from vemo.weights import cache_dir, get_entry

log = logging.getLogger(__name__)

PROTOCOLS = {"subject": "subject", "paper": "frame"}  # protocol -> how `split_workspace` splits


@dataclass(frozen=True)
class ExperimentConfig:
    """The study: defaults follow the authors' notebook (25 epochs, paper preset)."""

    models: tuple[str, ...] = ("lenet", "alexnet")
    epochs: int = 25
    seeds: int = 1
    preset: str = "paper"  # the training preset of every run (`TrainConfig.preset`)
    protocol: str = "subject"
    batch_sizes: tuple[int, int] = (10, 100)
    baseline: bool = True
    classes: tuple[str, ...] = field(default=PAPER_CLASSES)
    model_epochs: tuple[tuple[str, int], ...] = ()  # per-model override of `epochs`, e.g. (("alexnet", 1),)
    transfer: tuple[str, ...] = ()  # pretrained weights to fine-tune (`vemo weights list`), each beside its scratch twin
    transfer_epochs: int = 5
    freeze_epochs: int = 1
    transfer_optimizer: str = "adam"

    def epochs_for(self, model: str) -> int:
        return dict(self.model_epochs).get(model, self.epochs)

    def __post_init__(self) -> None:
        if self.protocol not in (*PROTOCOLS, "both"):
            raise ConfigError(f"protocol must be one of {', '.join(PROTOCOLS)} or both, not {self.protocol!r}", "protocol")
        require_number(self.seeds, "seeds", 1, 1000)
        require_number(self.epochs, "epochs", 1, 1_000_000)
        require_number(self.transfer_epochs, "transfer_epochs", 1, 1_000_000)
        if not 0 <= self.freeze_epochs < self.transfer_epochs:
            raise ConfigError("freeze_epochs must be at least 0 and less than transfer_epochs", "freeze_epochs", "transfer_epochs")

    @property
    def protocols(self) -> tuple[str, ...]:
        """The protocols to run, in order: with "both", the subject split is run last and left in place."""
        return ("paper", "subject") if self.protocol == "both" else (self.protocol,)

    @property
    def report_protocol(self) -> str:
        """The protocol the paper's tables are made from ("both": the honest one)."""
        return "subject" if self.protocol == "both" else self.protocol


def run_name(protocol: str, preset: str, model: str, optimizer: str, batch_size: int, epochs: int, seed: int) -> str:
    return f"exp-{protocol}-{preset}-{model}-{optimizer}-b{batch_size}-e{epochs}-s{seed}"


def _result_row(run: RunFolder, **keys) -> dict:
    report = run.read_eval("test")
    trained = run.read_summary()
    history = run.read_history()
    row = {
        **keys,
        "run": str(run.path),
        "epochs_run": trained["epochs_run"],
        "best_epoch": trained["best_epoch"],
        "train_seconds": trained["seconds_total"],
        "val_accuracy": float(history["val_accuracy"].max()),
        "accuracy": report["accuracy"],
        "balanced_accuracy": report["balanced_accuracy"],
        "balanced_ci_low": (report.get("balanced_accuracy_ci95") or [float("nan")] * 2)[0],
        "balanced_ci_high": (report.get("balanced_accuracy_ci95") or [float("nan")] * 2)[1],
        "macro_f1": report["macro_f1"],
        "loss": report["loss"],
        "test_samples": report["samples"],
    }
    for name, values in report["per_class"].items():
        row[f"recall_{name}"] = values["recall"]
    supports = [values["support"] for values in report["per_class"].values()]
    # a constant predictor: the test's most frequent class every time (its balanced accuracy is 1 / classes)
    row["constant_accuracy"] = max(supports) / max(sum(supports), 1)
    row["chance_balanced"] = 1 / max(sum(1 for support in supports if support), 1)
    return row


def _run_one(task: tuple[int, TrainConfig, dict], workspace: Path, progress: bool, threads: int | None) -> dict:
    """Train and evaluate one run of the grid, or reuse it when it is finished on the current
    split. In a worker process, `threads` is its share of the cores for torch."""
    _, config, keys = task
    if threads is not None:
        torch.set_num_threads(threads)
    run = RunFolder(workspace / "runs" / config.run_name)
    clean_partial_files(run.path)  # a reused run too: what a killed training or evaluation left
    if run.has_config() and run.read_config().get("split_fingerprint") != read_split_fingerprint(workspace):
        log.info("labels or split changed since %s was trained; training it again", run.path)
        shutil.rmtree(run.path)  # a grid run folder: its name is the grid's own, and its data is stale
    trained = run.status() == "finished"
    done = trained and run.eval_file("test").exists()
    if not trained:
        train(workspace, config, progress=progress)
    if not done:  # a run killed after its training and before its evaluation is only evaluated
        evaluate(run.path, "test")
    else:
        log.info("reusing finished run %s", run.path)
    return {**_result_row(run, **keys), "reused": done}


def _run_batch(
    workspace: Path, tasks: list[tuple[TrainConfig, dict]], engine: EngineSettings, progress: bool, on_run: Callable[[dict], None] | None
) -> list[dict]:
    """Run independent runs, `workers` at a time; rows come back in task order."""
    rows: list[dict | None] = [None] * len(tasks)
    workers = engine.workers or 1
    # with workers > 1 every run gets cores // workers torch threads, a lone run too: a run's
    # weights then do not depend on how many others ran beside it (nor on the engine: a Ray
    # task of one CPU has one thread)
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    work = partial(_run_one, workspace=workspace, progress=progress and workers == 1, threads=threads)
    units = [(i, config, keys) for i, (config, keys) in enumerate(tasks)]
    threads_here = torch.get_num_threads()  # a lone unit runs in this process
    try:
        for (i, _, _), row in run_units(work, units, workers=workers, engine=engine):
            rows[i] = row
            if on_run:
                on_run(row)
    finally:
        torch.set_num_threads(threads_here)
    return rows  # type: ignore[return-value]


def run_paper_grid(
    workspace: Path | str,
    config: ExperimentConfig = ExperimentConfig(),
    *,
    progress: bool = False,
    on_run: Callable[[dict], None] | None = None,
    engine: EngineSettings = LOCAL,
) -> pd.DataFrame:
    """Run (or reuse) every run of the study; returns one row per run.

    With protocol "both", the whole grid runs on the paper's frame split, then on the subject
    split, so the report can show what the leaky split adds.

    Args:
        engine: where the runs train, and how many at once (`workers`): each in its own process
            with its share of the cores (torch threads = cores // workers). The default: one run
            at a time here, on all cores.

    Raises:
        WorkspaceError: the workspace has no labels or subjects for the protocol.
    """
    workspace = require_workspace(workspace)
    check_shared_workspace(workspace, engine)
    parts = [_run_protocol(workspace, replace(config, protocol=protocol), progress, on_run, engine) for protocol in config.protocols]
    return pd.concat(parts, ignore_index=True)


def _run_protocol(
    workspace: Path, config: ExperimentConfig, progress: bool, on_run: Callable[[dict], None] | None, engine: EngineSettings
) -> pd.DataFrame:
    split_workspace(workspace, by=PROTOCOLS[config.protocol], seed=0, classes=config.classes)

    def task(model: str, optimizer: str, batch_size: int, seed: int, table: str) -> tuple[TrainConfig, dict]:
        epochs = config.epochs_for(model)
        name = run_name(config.protocol, config.preset, model, optimizer, batch_size, epochs, seed)
        if model == "lgbp":  # fitted once: no optimizer, batches or epochs
            train_config = TrainConfig(model=model, epochs=1, preset=config.preset, name=name, classes=config.classes)
        else:
            train_config = TrainConfig(
                model=model,
                optimizer=optimizer,
                batch_size=batch_size,
                epochs=epochs,
                seed=seed,
                preset=config.preset,
                name=name,
                classes=config.classes,
            )
        keys = {
            "table": table,
            "protocol": config.protocol,
            "preset": config.preset,
            "model": model,
            "optimizer": optimizer,
            "batch_size": batch_size,
            "epochs": epochs,
            "seed": seed,
        }
        return train_config, keys

    small, large = config.batch_sizes
    first = [task(m, o, small, s, "IV-VI") for m in config.models for o in OPTIMIZERS for s in range(config.seeds)]
    if config.baseline:
        first.append(task("lgbp", "fit", 0, 0, "IX"))
    rows = _run_batch(workspace, first, engine, progress, on_run)
    frame = pd.DataFrame(rows)
    second = []
    for model in config.models:  # each model's best optimizer, chosen on validation accuracy, at the large batch
        chosen = frame[frame["model"] == model].groupby("optimizer")["val_accuracy"].mean().idxmax()
        second += [task(model, chosen, large, s, "VII-VIII") for s in range(config.seeds)]
    rows += _run_batch(workspace, second, engine, progress, on_run)
    rows += _run_batch(workspace, _transfer_tasks(config), engine, progress, on_run)
    return pd.DataFrame(rows)


def _transfer_tasks(config: ExperimentConfig) -> list[tuple[TrainConfig, dict]]:
    """Each pretrained model fine-tuned, and its architecture from scratch with the same settings."""
    tasks = []
    batch_size = config.batch_sizes[0]
    for weights in config.transfer:
        model = get_entry(weights, cache_dir()).model
        for start in (weights, None):
            for seed in range(config.seeds):
                label = f"{weights}-ft{config.freeze_epochs}" if start else f"{model}-scratch"
                name = run_name(config.protocol, "vemo", label, config.transfer_optimizer, batch_size, config.transfer_epochs, seed)
                train_config = TrainConfig(
                    model=model,
                    optimizer=config.transfer_optimizer,
                    batch_size=batch_size,
                    epochs=config.transfer_epochs,
                    seed=seed,
                    preset="vemo",
                    name=name,
                    classes=config.classes,
                    weights=start,
                    freeze_epochs=config.freeze_epochs if start else 0,
                )
                keys = {
                    "table": "transfer",
                    "protocol": config.protocol,
                    "preset": "vemo",
                    "model": model,
                    "optimizer": config.transfer_optimizer,
                    "batch_size": batch_size,
                    "epochs": config.transfer_epochs,
                    "seed": seed,
                    "weights": start or "scratch",
                }
                tasks.append((train_config, keys))
    return tasks

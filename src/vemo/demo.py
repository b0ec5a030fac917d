"""`vemo demo`: the whole paper end to end on a small synthetic corpus.

synth -> extract -> label -> split -> a reduced grid of the paper's experiments (both
networks, the three optimizers, both batch sizes, few epochs) and the LGBP baseline -> report
-> the emotion of one held-out clip, with its timeline and annotated video. When the package
index can be reached, the grid also fine-tunes the FER2013 mini-Xception beside the same
network from scratch (the transfer table). A second run reuses everything it can.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from vemo.checks import require_number
from vemo.errors import WeightsError
from vemo.experiment import ExperimentConfig, run_paper_grid
from vemo.experiment.report import build_tables, write_report
from vemo.extraction import ExtractConfig, extract
from vemo.labelling import apply_labels, format_split_table, labels_from_clips, split_workspace
from vemo.prediction import predict_to_folder
from vemo.synth import generate_corpus, plan_corpus
from vemo.synth.plan import DEFAULT_FPS, CorpusPlan
from vemo.weights import fetch

DEMO_SEED = 0
# The default demo trains LeNet (about 2,500 images/s on 2 CPU cores: 10 epochs in seconds) and
# leaves AlexNet (about 10 images/s there: 70 s an epoch) to `--full`, so a first run ends in
# under 3 minutes; the report says what it left out.
DEMO_GRID = ExperimentConfig(
    models=("lenet",),
    epochs=10,
    seeds=1,
    preset="paper",
    protocol="subject",
    transfer=("fer2013-minixception",),
    transfer_epochs=3,
    freeze_epochs=1,
)
FULL_GRID = ExperimentConfig(
    models=("lenet", "alexnet"),
    epochs=5,
    model_epochs=(("alexnet", 1),),
    seeds=1,
    preset="paper",
    protocol="subject",
    transfer=("fer2013-minixception",),
    transfer_epochs=3,
    freeze_epochs=1,
)
DEMO_NOTE = (
    "vemo demo: LeNet only, 10 epochs (the paper: LeNet and AlexNet, 25 epochs); AlexNet, at about 10 "
    "images/s on 2 CPU cores, runs with `vemo demo --full` (1 epoch) or `vemo experiment paper`."
)
# The corpus is rendered at half the frame rate and every frame extracted: the crops of every 2nd
# frame at 25 fps (neighbouring frames are near-duplicates) for half the rendering.
DEMO_FPS = 12.5
FULL_EVERY = 2
# Each stage's usual share of the demo's time on 2 cores (measured), for the remaining-time estimate
STAGE_SHARES = {"corpus": 0.22, "extract": 0.12, "label and split": 0.01, "experiments": 0.63, "report": 0.01, "predict": 0.01}
# `quick`: 6 subjects with one clip of each emotion (so a subject split keeps every class in every
# split), at the demo's half frame rate, LeNet for 2 epochs and the baseline, no transfer: every
# stage in well under a minute
QUICK_SUBJECTS, QUICK_CLIPS = 6, 24  # the quick demo's corpus, at DEMO_FPS
QUICK_GRID = ExperimentConfig(models=("lenet",), epochs=2, seeds=1, preset="paper", protocol="subject")


class StageClock:
    """Prints, before each stage, its number, the time so far and about how long the rest takes
    (from each stage's usual share of the demo's time)."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo, self.started, self.done_share = echo, time.perf_counter(), 0.0

    def stage(self, name: str) -> None:
        elapsed = time.perf_counter() - self.started
        left = f", about {elapsed / self.done_share - elapsed:.0f} s left" if self.done_share else ""
        self.echo(f"[{list(STAGE_SHARES).index(name) + 1}/{len(STAGE_SHARES)} {name}: {elapsed:.0f} s so far{left}]")
        self.done_share += STAGE_SHARES[name]


def run_demo(
    out: Path | str,
    *,
    workers: int | None = None,
    progress: bool = False,
    quick: bool = False,
    full: bool = False,
    echo: Callable[[str], None] = print,
) -> None:
    """Run every stage on the demo corpus and print what was made where.

    Every figure this prints is measured on synthetic faces, and it says so. `quick` runs every
    stage on a smaller corpus (6 subjects, 24 clips, at 12.5 fps) with a smaller grid (LeNet and the baseline);
    `full` adds AlexNet (1 epoch) to the grid and renders the corpus at its full frame rate.
    """
    require_number(workers, "workers", 1, 4096)
    clock = StageClock(echo)
    out = Path(out)
    echo("vemo demo — on a SYNTHETIC corpus (drawn faces, not people); no figure here is a real-world result")
    plan = (
        plan_corpus(None, subjects=QUICK_SUBJECTS, clips=QUICK_CLIPS, fps=DEMO_FPS, seed=DEMO_SEED)
        if quick
        else plan_corpus("demo", seed=DEMO_SEED, fps=DEFAULT_FPS if full else DEMO_FPS)
    )
    workspace = _prepare_workspace(out, plan, workers, progress, echo, every=FULL_EVERY if full else 1, clock=clock)
    grid = QUICK_GRID if quick else _grid_with_reachable_weights(FULL_GRID if full else DEMO_GRID, echo)
    clock.stage("experiments")
    echo(_grid_words(grid, quick))
    results = run_paper_grid(
        workspace,
        grid,
        progress=progress,
        on_run=lambda row: echo(
            f"   {_run_label(row):34} batch {row['batch_size']:>3}: test accuracy {100 * row['accuracy']:5.1f}%, "
            f"balanced {100 * row['balanced_accuracy']:5.1f}% (95% CI {_interval(row)})"
            f"{'  (reused)' if row['reused'] else ''}"
        ),
    )
    clock.stage("report")
    note = "" if quick or full else DEMO_NOTE
    report = write_report(results, workspace, out / "report", grid, time.perf_counter() - clock.started, note=note)
    echo("6. report: Table IX of the demo corpus")
    for line in build_tables(results)["IX"].to_string(index=False).splitlines():
        echo("   " + line)
    echo(f"   -> {report} (Tables IV to IX beside the paper's figures, confusion matrices, curves, Fig. 2, machine)")
    clock.stage("predict")
    _predict_held_out_clip(workspace, results, out / "predictions", echo)
    echo(
        f"demo finished in {time.perf_counter() - clock.started:.0f} s. Every figure above is measured on a small synthetic "
        f"corpus ({len(plan.subjects)} subjects): it shows that "
        "the pipeline runs, not how well emotions are recognised in real videos."
    )


def _prepare_workspace(
    out: Path, plan: CorpusPlan, workers: int | None, progress: bool, echo: Callable[[str], None], every: int, clock: StageClock
) -> Path:
    """Stages 1 and 2: render the corpus, extract, label and split; returns the workspace."""
    clock.stage("corpus")
    corpus = generate_corpus(plan, out / "corpus", workers=workers, progress=progress)
    echo(
        f"1. corpus: {len(plan.clips)} clips of {len(plan.subjects)} subjects, {corpus.frames} frames "
        f"({corpus.clips_rendered} rendered now, {corpus.clips_skipped} already there) -> {out / 'corpus'}"
    )
    echo(f"   Haar detection on rendered frames: {corpus.detection_rate:.1%}; look at {out / 'corpus' / 'preview.png'}")
    if corpus.mtcnn_detection_rate is not None:
        echo(
            f"   face detectors on the same frames: Haar (the paper's) {corpus.detection_rate:.1%}, "
            f"MTCNN {corpus.mtcnn_detection_rate:.1%} (per skin-tone group and sex: {out / 'corpus' / 'corpus.json'})"
        )
    workspace = out / "workspace"
    clock.stage("extract")
    result = extract([out / "corpus"], workspace, ExtractConfig(every=every), workers=workers, progress=progress)
    sampled = "every 2nd frame" if every == 2 else f"every frame, at {plan.fps:g} fps"
    echo(
        f"2. extract ({sampled}): {result.faces} aligned face crops from {result.frames_read} frames "
        f"of {result.sources_done} video(s) ({result.sources_skipped} already done), "
        f"{result.frames_per_second:.0f} frames/s -> {workspace}/faces/, faces.csv, sources.csv, clips.csv"
    )
    if result.failures:
        echo(f"   {len(result.failures)} input(s) failed: see {workspace / 'sources.csv'}")
    clock.stage("label and split")
    labels = apply_labels(workspace, labels_from_clips(workspace, window="onset-offset"), "clips:onset-offset")
    echo(f"3. label: clip emotions propagated from onset to offset: {labels.total_labelled} crops labelled -> {workspace}/labels.csv")
    split = split_workspace(workspace, by="subject", seed=0)
    echo(f"4. split by subject (no subject in two splits) -> {workspace}/splits.csv; Table II of the demo corpus:")
    for line in format_split_table(split).splitlines():
        echo("   " + line)
    return workspace


def _run_label(row: dict) -> str:
    weights = row.get("weights")
    start = "" if not isinstance(weights, str) else " (scratch)" if weights == "scratch" else " (fine-tuned)"
    return f"{row['model']}{start} {row['optimizer']}"


def _grid_with_reachable_weights(grid: ExperimentConfig, echo: Callable[[str], None]) -> ExperimentConfig:
    """`grid`, without the transfer runs when the pretrained weights cannot be fetched."""
    try:
        for name in grid.transfer:
            fetch(name)
    except WeightsError as error:
        echo(f"   (no transfer table: {error})")
        return replace(grid, transfer=())
    return grid


def _grid_words(grid: ExperimentConfig, quick: bool) -> str:
    networks = " and ".join(
        f"{'LeNet' if m == 'lenet' else 'AlexNet'} ({grid.epochs_for(m)} epoch{'s' if grid.epochs_for(m) > 1 else ''})" for m in grid.models
    )
    transfer = (
        ("; then the FER2013 mini-Xception fine-tuned (3 epochs, the first head-only) beside the same network from scratch")
        if grid.transfer
        else ""
    )
    return (
        f"5. the paper's experiments, {'quick' if quick else 'reduced'}: {networks} x SGD, RMSprop, Adam at batch "
        f"10, the best (on validation) at batch 100, and the LGBP + PCA + LDA baseline{transfer}"
    )


def _interval(row: dict) -> str:
    low, high = row.get("balanced_ci_low", float("nan")), row.get("balanced_ci_high", float("nan"))
    return f"{100 * low:.0f}-{100 * high:.0f}%" if low == low else "n/a"


def _predict_held_out_clip(workspace: Path, results: pd.DataFrame, out: Path, echo: Callable[[str], None]) -> None:
    """Stage 5: the label of one test-split clip (its subject was never trained on), with its
    per-frame table, timeline and annotated video."""
    networks = results[results["model"] != "lgbp"]
    best = networks.loc[networks["val_accuracy"].idxmax()]
    splits = pd.read_csv(workspace / "splits.csv")
    clips = pd.read_csv(workspace / "clips.csv").set_index("source_id")
    source_id = sorted(splits[splits["split"] == "test"]["source_id"].unique())[0]
    video = Path(clips.loc[source_id, "corpus"]) / clips.loc[source_id, "file"]
    (verdict,), _ = predict_to_folder([video], best["run"], out, annotate=True)
    shown = ", ".join(f"{c} {p:.2f}" for c, p in verdict.probabilities.items())
    echo(
        f"7. predict a held-out clip ({video.name}, true emotion {clips.loc[source_id, 'emotion']}) with "
        f"{_run_label(best.to_dict())} batch {best['batch_size']} (best on validation): {verdict.label} ({shown})"
    )
    echo(f"   -> {out}/{video.stem}.frames.csv, .json, .timeline.png, .annotated.mp4 (look at it: vemo view {out})")

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
from vemo.synth.plan import CorpusPlan
from vemo.weights import fetch

DEMO_SEED = 0
# AlexNet trains at about 10 images/s on 2 CPU cores: one epoch each keeps the demo near 6 minutes.
DEMO_GRID = ExperimentConfig(models=("lenet", "alexnet"), epochs=5, model_epochs=(("alexnet", 1),), seeds=1,
                             recipe="paper", protocol="subject", transfer=("fer2013-minixception",),
                             transfer_epochs=3, freeze_epochs=1)
DEMO_EVERY = 2  # every 2nd frame: neighbouring frames are near-duplicates, and this halves the training time
# `quick`: 6 subjects with one clip of each emotion (so a subject split keeps every class in every
# split), LeNet for 2 epochs and the baseline, no transfer: every stage in about a minute
QUICK_CORPUS = {"subjects": 6, "clips": 24}
QUICK_GRID = ExperimentConfig(models=("lenet",), epochs=2, seeds=1, recipe="paper", protocol="subject")


def run_demo(out: Path | str, *, workers: int | None = None, progress: bool = False, quick: bool = False,
             echo: Callable[[str], None] = print) -> None:
    """Run every stage on the demo corpus and print what was made where.

    Every figure this prints is measured on synthetic faces, and it says so. `quick` runs every
    stage on a smaller corpus (6 subjects, 24 clips) with a smaller grid (LeNet and the baseline).
    """
    require_number(workers, "workers", 1, 4096)
    started = time.perf_counter()
    out = Path(out)
    echo("vemo demo — on a SYNTHETIC corpus (drawn faces, not people); no figure here is a real-world result")
    plan = plan_corpus(None, **QUICK_CORPUS, seed=DEMO_SEED) if quick else plan_corpus("demo", seed=DEMO_SEED)
    workspace = _prepare_workspace(out, plan, workers, progress, echo)
    grid = QUICK_GRID if quick else _grid_with_reachable_weights(echo)
    if quick:
        echo("5. the paper's experiments, quick: LeNet (2 epochs) x SGD, RMSprop, Adam at batch 10, the best "
             "(on validation) at batch 100, and the LGBP + PCA + LDA baseline")
    else:
        echo("5. the paper's experiments, reduced: LeNet (5 epochs) and AlexNet (1 epoch) x SGD, RMSprop, Adam at "
             "batch 10, each one's best (on validation) at batch 100, and the LGBP + PCA + LDA baseline"
             + ("; then the FER2013 mini-Xception fine-tuned (3 epochs, the first head-only) beside the same network "
                "from scratch" if grid.transfer else ""))
    results = run_paper_grid(workspace, grid, progress=progress, on_run=lambda row: echo(
        f"   {_run_label(row):34} batch {row['batch_size']:>3}: test accuracy {100 * row['accuracy']:5.1f}%, "
        f"balanced {100 * row['balanced_accuracy']:5.1f}%{'  (reused)' if row['reused'] else ''}"))
    report = write_report(results, workspace, out / "report", grid, time.perf_counter() - started)
    echo("6. report: Table IX of the demo corpus")
    for line in build_tables(results)["IX"].to_string(index=False).splitlines():
        echo("   " + line)
    echo(f"   -> {report} (Tables IV to IX beside the paper's figures, confusion matrices, curves, Fig. 2, machine)")
    _predict_held_out_clip(workspace, results, out / "predictions", echo)
    echo(f"demo finished in {time.perf_counter() - started:.0f} s. Every figure above is measured on a small synthetic "
         f"corpus ({len(plan.subjects)} subjects): it shows that "
         "the pipeline runs, not how well emotions are recognised in real videos.")


def _prepare_workspace(out: Path, plan: CorpusPlan, workers: int | None, progress: bool,
                       echo: Callable[[str], None]) -> Path:
    """Stages 1 and 2: render the corpus, extract, label and split; returns the workspace."""
    corpus = generate_corpus(plan, out / "corpus", workers=workers, progress=progress)
    echo(f"1. corpus: {len(plan.clips)} clips of {len(plan.subjects)} subjects, {corpus.frames} frames "
         f"({corpus.clips_rendered} rendered now, {corpus.clips_skipped} already there) -> {out / 'corpus'}")
    echo(f"   Haar detection on rendered frames: {corpus.detection_rate:.1%}; look at {out / 'corpus' / 'preview.png'}")
    if corpus.mtcnn_detection_rate is not None:
        echo(f"   face detectors on the same frames: Haar (the paper's) {corpus.detection_rate:.1%}, "
             f"MTCNN {corpus.mtcnn_detection_rate:.1%} (per skin-tone group and sex: {out / 'corpus' / 'corpus.json'})")
    workspace = out / "workspace"
    result = extract([out / "corpus"], workspace, ExtractConfig(every=DEMO_EVERY), workers=workers, progress=progress)
    echo(f"2. extract (every {DEMO_EVERY}nd frame): {result.faces} aligned face crops from {result.frames_read} frames "
         f"of {result.sources_done} video(s) ({result.sources_skipped} already done), "
         f"{result.frames_per_second:.0f} frames/s -> {workspace}/faces/, faces.csv, sources.csv, clips.csv")
    if result.failures:
        echo(f"   {len(result.failures)} input(s) failed: see {workspace / 'sources.csv'}")
    labels = apply_labels(workspace, labels_from_clips(workspace, window="onset-offset"), "clips:onset-offset")
    echo(f"3. label: clip emotions propagated from onset to offset: {labels.total_labelled} crops labelled "
         f"-> {workspace}/labels.csv")
    split = split_workspace(workspace, by="subject", seed=0)
    echo(f"4. split by subject (no subject in two splits) -> {workspace}/splits.csv; Table II of the demo corpus:")
    for line in format_split_table(split).splitlines():
        echo("   " + line)
    return workspace


def _run_label(row: dict) -> str:
    weights = row.get("weights")
    start = "" if not isinstance(weights, str) else " (scratch)" if weights == "scratch" else " (fine-tuned)"
    return f"{row['model']}{start} {row['optimizer']}"


def _grid_with_reachable_weights(echo: Callable[[str], None]) -> ExperimentConfig:
    """The demo grid, without the transfer runs when the pretrained weights cannot be fetched."""
    try:
        for name in DEMO_GRID.transfer:
            fetch(name)
    except WeightsError as error:
        echo(f"   (no transfer table: {error})")
        return replace(DEMO_GRID, transfer=())
    return DEMO_GRID


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
    echo(f"7. predict a held-out clip ({video.name}, true emotion {clips.loc[source_id, 'emotion']}) with "
         f"{_run_label(best.to_dict())} batch {best['batch_size']} (best on validation): {verdict.label} ({shown})")
    echo(f"   -> {out}/{video.stem}.frames.csv, .json, .timeline.png, .annotated.mp4")

"""`vemo demo`: every stage built so far, on a small synthetic corpus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vemo.data.label import apply_labels, labels_from_clips
from vemo.data.split import format_split_table, split_workspace
from vemo.evaluate import evaluate, format_report
from vemo.extract import ExtractConfig, extract
from vemo.train import TrainConfig, train
from vemo.synth import generate_corpus, plan_corpus

DEMO_SEED = 0
DEMO_TRAINING = (("lenet", 10), ("alexnet", 1))  # AlexNet trains at ~10 images/s on 2 CPU cores


def run_demo(out: Path | str, *, workers: int | None = None, progress: bool = False,
             echo: Callable[[str], None] = print) -> None:
    """Render the demo corpus, extract, label, split, train LeNet and AlexNet, and evaluate them.

    Every figure this prints is measured on synthetic faces, and it says so. Re-running
    reuses finished work.
    """
    out = Path(out)
    plan = plan_corpus("demo", seed=DEMO_SEED)
    corpus = generate_corpus(plan, out / "corpus", workers=workers, progress=progress)
    echo("vemo demo — on a SYNTHETIC corpus (drawn faces, not people); no figure here is a real-world result")
    echo(f"1. corpus: {len(plan.clips)} clips of {len(plan.subjects)} subjects, {corpus.frames} frames "
         f"({corpus.clips_rendered} rendered now, {corpus.clips_skipped} already there) -> {out / 'corpus'}")
    echo(f"   Haar detection on rendered frames: {corpus.detection_rate:.1%}; look at {out / 'corpus' / 'preview.png'}")
    workspace = out / "workspace"
    result = extract([out / "corpus"], workspace, ExtractConfig(), workers=workers, progress=progress)
    echo(f"2. extract: {result.faces} aligned face crops from {result.frames_read} frames of "
         f"{result.sources_done} video(s) ({result.sources_skipped} already done), "
         f"{result.frames_per_second:.0f} frames/s -> {workspace}/faces/, faces.csv, sources.csv, clips.csv")
    if result.failures:
        echo(f"   {len(result.failures)} input(s) failed: see {workspace / 'sources.csv'}")
    labels = apply_labels(workspace, labels_from_clips(workspace, window="onset-offset"), "clips:onset-offset")
    echo(f"3. label: clip emotions propagated from onset to offset: {labels.total_labelled} crops labelled -> {workspace}/labels.csv")
    split = split_workspace(workspace, by="subject", seed=DEMO_SEED)
    echo(f"4. split by subject (no subject in two splits) -> {workspace}/splits.csv; Table II of the demo corpus:")
    for line in format_split_table(split).splitlines():
        echo("   " + line)
    for step, (model, epochs) in enumerate(DEMO_TRAINING, start=5):
        config = TrainConfig(model=model, optimizer="adam", epochs=epochs, batch_size=10, seed=DEMO_SEED,
                             name=f"demo-{model}")
        result = train(workspace, config, progress=progress)
        echo(f"{step}. train {model} (Adam, lr 0.001, batch 10, {result.epochs_run} epochs, {result.seconds:.0f} s, "
             f"{result.images_per_second:.0f} images/s) -> {result.run_dir}")
        report = evaluate(result.run_dir, "test")
        for line in format_report(report).splitlines():
            echo("   " + line)
    echo("Every figure above is measured on a small synthetic corpus (12 subjects): it shows that the pipeline runs, "
         "not how well emotions are recognised in real videos.")

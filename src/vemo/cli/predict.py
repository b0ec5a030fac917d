"""`vemo predict`: the emotion of new videos and images (stage 5 of the paper)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from vemo.cli.common import AddressOption, EngineOption, GpusOption, engine_settings, expected_errors, show_progress
from vemo.cli.live import (
    DurationOption,
    HostOption,
    LiveOption,
    PortOption,
    RealtimeOption,
    RetriesOption,
    SaveEveryOption,
    ServeOption,
    VerdictSecondsOption,
    predict_live,
)
from vemo.errors import VemoError
from vemo.prediction.reference import DEFAULT_MODEL, DEFAULT_OUT

RuntimeOption = Annotated[
    str,
    typer.Option(
        help="What runs the network on the CPU: auto (ONNX Runtime, from an export "
        "cached by the weights' hash and checked against PyTorch; PyTorch when "
        "that fails), onnx, or torch. A .onnx model always runs with ONNX "
        "Runtime."
    ),
]


ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="A run folder (WS/runs/NAME) or pretrained:NAME (see `vemo weights list`), or an exported FILE.onnx "
        f"(default: {DEFAULT_MODEL}, trained on the real faces of FER2013).",
    ),
]
SmoothOption = Annotated[float, typer.Option(help="Smooth per-frame probabilities over this many seconds.")]
ClassesOption = Annotated[
    Optional[str],
    typer.Option(help="Classes to report, renormalised: 'paper' (the four; default for pretrained models), 'all', or a comma list."),
]
AllFacesOption = Annotated[
    bool,
    typer.Option("--all-faces", help="Every face, linked into tracks: one timeline and verdict per track (default: the largest face)."),
]
DeviceOption = Annotated[
    str, typer.Option(help="Where the network runs (auto: the GPU only where it is measured to pay, docs/gpu.md; the verdict says why).")
]
AlignOption = Annotated[
    Optional[bool],
    typer.Option(
        "--align/--no-align",
        help="Override the model's crop recipe: eye-aligned or box crops (default: as the model was trained; a different choice warns).",
    ),
]
DetectorOption = Annotated[
    Optional[str],
    typer.Option(
        help="Override the model's face detector: haar, centerface, retinaface or mtcnn (default: the model's recorded one; a different "
        "one warns when it changes the crops)."
    ),
]


@expected_errors
def predict(
    ctx: typer.Context,
    inputs: Annotated[Optional[list[str]], typer.Argument(help="Videos, images, folders or globs.")] = None,
    model: ModelOption = DEFAULT_MODEL,
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help=f"Folder for <name>.frames.csv and <name>.json (default: ./{DEFAULT_OUT}; with --live: instead of JSON lines on stdout).",
        ),
    ] = None,
    every: Annotated[int, typer.Option(help="Analyse every N-th frame.")] = 1,
    smooth: SmoothOption = 0.5,
    annotate: Annotated[bool, typer.Option(help="Also write <name>.timeline.png and <name>.annotated.mp4.")] = False,
    classes: ClassesOption = None,
    all_faces: AllFacesOption = False,
    device: DeviceOption = "auto",
    runtime: RuntimeOption = "auto",
    align: AlignOption = None,
    detector: DetectorOption = None,
    force: Annotated[bool, typer.Option(help="Predict again inputs already predicted with this model and these options.")] = False,
    engine: EngineOption = None,
    address: AddressOption = None,
    workers: Annotated[
        Optional[int],
        typer.Option(help="With --engine ray: prediction actors, each with the model loaded once (default: the cluster's CPUs)."),
    ] = None,
    gpus_per_worker: GpusOption = 0.0,
    live: LiveOption = None,
    realtime: RealtimeOption = False,
    duration: DurationOption = None,
    verdict_seconds: VerdictSecondsOption = 3.0,
    retries: RetriesOption = 5,
    save_every: SaveEveryOption = 60.0,
    serve: ServeOption = False,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8766,
) -> None:
    """The emotion of new videos (stage 5 of the paper), with a probability per frame; or of a
    camera or stream as it plays (--live)."""
    with collections_paused():
        from vemo.io.files import ensure_writable_dir
        from vemo.io.media import find_inputs
        from vemo.prediction import PredictConfig, predict_to_folder

    settings = engine_settings(engine, address, workers, gpus_per_worker)  # checked in either mode
    config = PredictConfig(
        device=device,
        runtime=runtime,
        classes=classes,
        align=align,
        detector=detector,
        every=every,
        smooth=smooth,
        all_faces=all_faces,
        annotate=annotate,
        engine=settings,
    )
    if live is not None:
        predict_live(
            live,
            model,
            out,
            config,
            verdict_seconds=verdict_seconds,
            realtime=realtime,
            duration=duration,
            retries=retries,
            serve=(host, port) if serve else None,
            inputs=inputs,
            save_every=save_every,
        )
        return
    if not inputs:
        raise VemoError("give the videos, images or folders to predict (or --live SOURCE)")
    out = DEFAULT_OUT if out is None else out
    candidates, unmatched = find_inputs(inputs)
    ensure_writable_dir(out)
    verdicts, failures = predict_to_folder(candidates, model, out, config, force=force, progress=show_progress(ctx))
    failures += [(name, "no such file or folder") for name in unmatched]
    _print_outcome(verdicts, failures, all_faces, out)


@expected_errors
def live(
    source: Annotated[
        str, typer.Argument(help="A camera index (0), a device (/dev/video0), a stream URL (rtsp://, http:// MJPEG) or a video file.")
    ],
    model: ModelOption = DEFAULT_MODEL,
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Folder for the session's tables and verdicts (default: JSON lines on stdout).")
    ] = None,
    smooth: SmoothOption = 0.5,
    classes: ClassesOption = None,
    all_faces: AllFacesOption = False,
    device: DeviceOption = "auto",
    runtime: RuntimeOption = "auto",
    align: AlignOption = None,
    detector: DetectorOption = None,
    realtime: RealtimeOption = False,
    duration: DurationOption = None,
    verdict_seconds: VerdictSecondsOption = 3.0,
    retries: RetriesOption = 5,
    save_every: SaveEveryOption = 60.0,
    serve: ServeOption = False,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8766,
) -> None:
    """The emotion of a camera, a stream or a file as it plays, with a verdict over the last
    seconds; the same as `vemo predict --live SOURCE`."""
    from vemo.prediction import PredictConfig

    config = PredictConfig(
        device=device, runtime=runtime, classes=classes, align=align, detector=detector, smooth=smooth, all_faces=all_faces
    )
    predict_live(
        source,
        model,
        out,
        config,
        verdict_seconds=verdict_seconds,
        realtime=realtime,
        duration=duration,
        retries=retries,
        serve=(host, port) if serve else None,
        inputs=None,
        save_every=save_every,
    )


@contextmanager
def collections_paused() -> Iterator[None]:
    """Importing torch makes many objects and no garbage: 0.2-0.4 s faster without collections;
    what was imported stays (frozen), so later collections skip it."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _print_outcome(verdicts: list, failures: list[tuple[str, str]], all_faces: bool, out: Path) -> None:
    """A line per verdict (per track with --all-faces), the summary, and the failures (exit code 1)."""
    for verdict in verdicts:
        for summary in verdict.tracks if all_faces else [t for t in verdict.tracks if t["track"] == verdict.track]:
            shown = ", ".join(f"{c} {p:.2f}" for c, p in summary["probabilities"].items())
            label = summary["label"] or "no face found"
            track = f" track {summary['track']}" if all_faces else ""
            typer.echo(f"{verdict.source}{track}: {label} ({shown}; {summary['face_frames']}/{verdict.frames} frames with a face)")
    if verdicts and verdicts[0].corpus_of_model.get("synthetic"):
        typer.echo("note: this model was trained on a SYNTHETIC corpus; its verdicts on real faces mean little")
    typer.echo(f"-> {out}/predictions.csv ({len(verdicts)} predicted, {len(failures)} failed)")
    for path, reason in failures:
        typer.echo(f"failed: {path}: {reason}", err=True)
    if failures:
        raise typer.Exit(1)

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
from vemo.errors import VemoError

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
    from vemo.extract import ExtractConfig, extract as run_extract
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

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
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    app()

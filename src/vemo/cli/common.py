"""What every command shares: the Typer app, global options, and errors in the CLI's words.

The library's errors name Python parameters (`crop_size`); `expected_errors` rewrites the ones
an error lists into this command line's flags (`--size`) and prints one line, exit code 1.
"""

from __future__ import annotations

import errno
import functools
import logging
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer

from vemo import __version__
from vemo.cli.metavars import CommandLine
from vemo.errors import VemoError

app = CommandLine(
    name="vemo",
    help="Video-based facial emotion recognition: synthetic corpus, face extraction, training, prediction.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
F = TypeVar("F", bound=Callable)

# library parameter -> flag, where the flag is not the parameter's name with dashes
FLAGS = {
    "target_fps": "--fps",
    "crop_size": "--size",
    "clips_file": "--clips",
    "subjects_file": "--subjects",
}
CacheOption = Annotated[
    Optional[Path], typer.Option("--cache-dir", help="Weights cache (default: $VEMO_CACHE_DIR or ~/.cache/vemo/weights).")
]
EngineOption = Annotated[
    Optional[str],
    typer.Option(
        "--engine",
        help="Where units of work run: local (processes here) or ray (a Ray cluster; pip install "
        "'vemo\\[ray]'). Default: $VEMO_ENGINE or local.",
    ),
]  # \\[: Rich markup would eat [ray]
AddressOption = Annotated[
    Optional[str], typer.Option("--address", help="With --engine ray: none starts a private Ray here; 'auto' or HOST:PORT joins a cluster.")
]
GpusOption = Annotated[float, typer.Option("--gpus-per-worker", help="With --engine ray: GPUs each unit asks for.")]


def engine_settings(engine: str | None, address: str | None, workers: int | None, gpus_per_worker: float = 0.0):
    """The engine the options name (the environment's VEMO_ENGINE when --engine is not given)."""
    from vemo.engine import EngineSettings

    name = engine or os.environ.get("VEMO_ENGINE") or "local"
    if name == "local" and (address is not None or gpus_per_worker):
        raise VemoError("--address and --gpus-per-worker go with --engine ray")
    return EngineSettings(name, address, workers, gpus_per_worker)


def flag_for(parameter: str) -> str:
    return FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def in_cli_words(error: VemoError) -> str:
    """The error's message with each parameter it names written as its flag."""
    message = str(error)
    for parameter in getattr(error, "parameters", ()):
        message = re.sub(rf"(?<![\w\-/.]){re.escape(parameter)}(?![\w\-/])", flag_for(parameter), message)
    return message


WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def expected_errors(command: F) -> F:
    """Turn a `VemoError`, or a failed write (full disk, read-only folder), into a one-line
    message on stderr and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        for parameter, value in kwargs.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise typer.BadParameter(f"must be a finite number, not {value}", param_hint=f"'{flag_for(parameter)}'")
        try:
            return command(*args, **kwargs)
        except VemoError as error:
            typer.echo(f"vemo: error: {in_cli_words(error)}", err=True)
            raise typer.Exit(1) from None
        except OSError as error:
            if error.errno not in WRITE_ERRORS:
                raise
            where = f"{error.filename}: " if error.filename else ""
            typer.echo(
                f"vemo: error: cannot write {where}{error.strerror or error} (what was finished is kept; "
                "run the command again once there is room)",
                err=True,
            )
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


def show_progress(ctx: typer.Context) -> bool:
    """Progress bars, unless -q (the app's options reach every command through `ctx.obj`)."""
    return bool((ctx.obj or {}).get("progress", True))


def serve_page(application, host: str, port: int, title: str, exposure: str) -> None:
    """Serve a local page (`vemo.io.local_page`) until Ctrl+C: bound first (a bad or taken port is
    one error), a warning when `host` reaches beyond this machine (anyone with the link can
    `exposure`), then the link with the session's secret."""
    import uvicorn

    from vemo.io.local_page import bind_page_socket, is_loopback, page_link

    listener = bind_page_socket(host, port)
    if not is_loopback(host):
        typer.echo(f"warning: binding {host}: anyone who can reach this machine and has the link below can {exposure}", err=True)
    link = page_link(host, listener.getsockname()[1], application.state.token)
    typer.echo(f"{title}: {link}  (open this link: it carries the session's secret; Ctrl+C to stop)")
    uvicorn.Server(uvicorn.Config(application, log_level="warning")).run(sockets=[listener])

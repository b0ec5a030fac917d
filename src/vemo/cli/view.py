"""`vemo view` and `vemo report`: looking at what `vemo predict --out OUT` wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vemo.cli.common import expected_errors, serve_page
from vemo.prediction.reference import DEFAULT_OUT


@expected_errors
def view(
    out: Annotated[Path, typer.Argument(help="A predictions folder (vemo predict --out OUT).")] = DEFAULT_OUT,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 8767,
    host: Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps the page to this machine.")] = "127.0.0.1",
) -> None:
    """A local page over a predictions folder: the inputs as a table; each one played with its
    faces, smoothed labels and timeline (frames decoded by vemo, so every video it reads plays)."""
    from vemo.checks import require_number
    from vemo.view.app import create_view_app
    from vemo.view.folder import PredictionsFolder

    require_number(port, "port", 0, 65535)  # before the folder is read
    folder = PredictionsFolder(out)
    application = create_view_app(folder, host=host)
    try:
        serve_page(application, host, port, f"vemo view of {out} ({len(folder.rows)} inputs)", "see these inputs")
    finally:
        application.state.frames.close()


@expected_errors
def report(
    out: Annotated[Path, typer.Argument(help="A predictions folder (vemo predict --out OUT).")] = DEFAULT_OUT,
    to: Annotated[Optional[Path], typer.Option("--to", help="The HTML file (default: OUT/report.html).")] = None,
    thumbnails: Annotated[int, typer.Option(help="Frames shown per input, with their faces.", min=0, max=12)] = 4,
) -> None:
    """One self-contained HTML file of a predictions folder (no server, no network): the verdict
    table and, per input, its timeline and a few frames with their faces."""
    from vemo.io.files import require_file_destination
    from vemo.view.folder import PredictionsFolder
    from vemo.view.report import write_report

    target = to or out / "report.html"
    require_file_destination(target, "to" if to else None)
    written = write_report(PredictionsFolder(out), target, thumbnails=thumbnails)
    typer.echo(f"-> {target} ({written / 2**20:.1f} MB)")

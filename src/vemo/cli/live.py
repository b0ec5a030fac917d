"""`vemo live SOURCE` (`vemo predict --live SOURCE`): results as they happen, as JSON lines, files, or a local page.

Ctrl-C and SIGTERM end the session after the frame in analysis; the outputs are then written
whole. The summary (analysed fps, dropped frames, latency) goes to stderr, so stdout carries
only results.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from vemo.errors import VemoError

if TYPE_CHECKING:  # imported when a live session starts: torch & co. stay off every other command's start-up
    from vemo.live import LiveSession
    from vemo.prediction.config import PredictConfig

PANEL = "Live"
LiveOption = Annotated[
    Optional[str],
    typer.Option(
        "--live",
        help="Analyse a live SOURCE as it plays: a camera index (0), a device (/dev/video0), a stream URL "
        "(rtsp://, http:// MJPEG) or a video file.",
        rich_help_panel=PANEL,
    ),
]
RealtimeOption = Annotated[
    bool,
    typer.Option(
        help="With --live FILE: play it at its own frame rate, dropping the frames the machine cannot keep up with, as a "
        "camera would (default: every frame, as fast as it goes).",
        rich_help_panel=PANEL,
    ),
]
DurationOption = Annotated[Optional[float], typer.Option(help="With --live: stop after this many seconds.", min=0, rich_help_panel=PANEL)]
VerdictSecondsOption = Annotated[
    float, typer.Option(help="With --live: the current verdict covers this many last seconds.", min=0.1, rich_help_panel=PANEL)
]
RetriesOption = Annotated[
    int,
    typer.Option(
        help="With --live: reopen a dropped stream this many times (waiting 0.5, 1, 2, 4, 4... s) before giving up.",
        min=0,
        rich_help_panel=PANEL,
    ),
]
ServeOption = Annotated[
    bool,
    typer.Option(
        "--serve", help="With --live: show the frame, the emotion bars and the last minute on a local page.", rich_help_panel=PANEL
    ),
]
HostOption = Annotated[str, typer.Option(help="With --serve: the address to bind.", rich_help_panel=PANEL)]
PortOption = Annotated[int, typer.Option(help="With --serve: the port (0: any free one).", rich_help_panel=PANEL)]
SaveEveryOption = Annotated[
    float,
    typer.Option(
        help="With --live --out: also save the outputs every this many seconds while it runs (0: only at the end).",
        min=0,
        rich_help_panel=PANEL,
    ),
]


def predict_live(
    source: str,
    model: str,
    out: Path | None,
    config: PredictConfig,
    *,
    serve: tuple[str, int] | None,
    retries: int,
    inputs: list[str] | None,
    save_every: float,
    **session: Any,
) -> None:
    """`vemo live` (`vemo predict --live`): check the options, make the session, run it."""
    from vemo.checks import require_number
    from vemo.io.files import ensure_writable_dir
    from vemo.io.local_page import is_loopback
    from vemo.live import LiveSession, Retries

    require_number(save_every, "save_every", 0, 10**6)
    require_number(retries, "retries", 0, 1000)
    if serve is not None:
        require_number(serve[1], "port", 0, 65535)  # before the model loads, not after
    if inputs:
        raise VemoError("give either inputs or --live SOURCE, not both")
    if out is not None:
        ensure_writable_dir(out)
    if serve is not None and not is_loopback(serve[0]):
        typer.echo(f"warning: binding {serve[0]}: anyone who can reach this machine and has the link can watch", err=True)
    run_live(LiveSession(source, model, config, retries=Retries(tries=retries), **session), out, serve, save_every)


@contextmanager
def stopped_by_signals(session: LiveSession) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the session gracefully; a second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def graceful(number: int, _frame) -> None:
        session.stop("stopped by Ctrl-C" if number == signal.SIGINT else "stopped by SIGTERM")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {number: signal.signal(number, graceful) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_live(session: LiveSession, out: Path | None, serve: tuple[str, int] | None, save_every: float = 60.0) -> None:
    """Analyse until the source ends, the duration passes or a signal comes; write or print the
    results; print the summary. Raises typer.Exit(1) when the source failed."""
    from vemo.live.outputs import PeriodicSaver

    saver = PeriodicSaver(session, out, save_every) if out is not None else None
    page = None
    if serve is not None:
        from vemo.live.page import LivePageServer

        page = LivePageServer(session, *serve)
        page.start()
        typer.echo(f"vemo live page: {page.link}  (open this link: it carries the session's secret; Ctrl+C to stop)", err=True)
    with stopped_by_signals(session):
        for result in session:
            if page is not None:
                page.board.publish(result)
            if saver is not None:
                saver.tick()
            else:
                sys.stdout.write(json.dumps(result.to_json()) + "\n")
                sys.stdout.flush()
    if session.stats.failure and not session.stats.captured:  # nothing ever came: the error says it all
        typer.echo(f"vemo: error: {session.stats.failure}", err=True)
        raise typer.Exit(1)
    if saver is not None:
        verdict, paths = saver.finish()
        typer.echo(
            f"{session.source.text}: {verdict.label or 'no face found'} "
            f"({verdict.face_frames}/{verdict.frames} frames with a face) -> {paths[0].parent}",
            err=True,
        )
    _print_summary(session)
    if page is not None:
        page.hold_until_stopped()
    if session.stats.failure:
        typer.echo(f"vemo: error: {session.stats.failure}", err=True)
        raise typer.Exit(1)


def _print_summary(session: LiveSession) -> None:
    stats = session.stats
    typer.echo(
        f"live: {stats.analysed} frames analysed in {stats.seconds:.1f} s ({stats.analysed_fps:.1f} fps), "
        f"{stats.dropped} of {stats.captured} captured dropped, latency p50 {stats.latency(50):.0f} ms, "
        f"p95 {stats.latency(95):.0f} ms, {stats.reconnects} reconnects; ended: {stats.ended}",
        err=True,
    )

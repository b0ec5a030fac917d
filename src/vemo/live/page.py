"""`vemo predict --live SOURCE --serve`: the current frame with its faces, the emotion bars and
the last minute, on a local page.

Results are pushed to the page by server-sent events; the frame is fetched as a JPEG when the
page is ready for the next one, so a slow browser skips frames instead of queueing them, as the
analysis does. The page has the protection of every vemo page (`vemo.io.local_page`), serves
only its own three files (no CDN) and the newest frame, and binds 127.0.0.1 by default.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections import deque
from pathlib import Path

import cv2
import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response, StreamingResponse

from vemo.errors import VemoError
from vemo.io.local_page import bind_page_socket, guard_local_app, page_link, serve_own_files
from vemo.live.session import LiveResult, LiveSession
from vemo.prediction.overlay import COLOURS, draw_face, draw_no_face

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"index.html": "text/html", "live.js": "text/javascript", "live.css": "text/css"}
HISTORY_SECONDS = 60.0
EVENT_POLL_S = 0.04


class LiveBoard:
    """What the page shows, shared between the analysis thread and the server: the newest result,
    the main face's smoothed probabilities over the last minute, and the session's state."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.version = 0
        self.history: deque[tuple[float, dict]] = deque()
        self._jpeg: tuple[int, bytes] | None = None
        self._lock = threading.Lock()

    def publish(self, result: LiveResult) -> None:
        main = next((face for face in result.faces if face["track"] == result.verdict.get("track")), None)
        with self._lock:
            self.history.append((result.time_s, main["smoothed"] if main else {}))
            while self.history and self.history[0][0] < result.time_s - HISTORY_SECONDS:
                self.history.popleft()
            self.version += 1

    def history_points(self) -> list[list]:
        """[time_s, smoothed probabilities of the main face] over the last minute."""
        with self._lock:
            return [[t, p] for t, p in self.history]

    def state(self) -> dict:
        """The page's view of the session: running, or how it ended with its figures."""
        latest = self.session.latest
        stats = self.session.stats
        running = not stats.ended
        return {
            "version": self.version,
            "running": running,
            "result": latest[1].to_json() if latest else None,
            "summary": None if running else stats.to_json(),
        }

    def frame_jpeg(self) -> bytes | None:
        """The newest analysed frame with its faces drawn, encoded once per frame."""
        latest = self.session.latest
        if latest is None:
            return None
        item, result = latest
        with self._lock:
            if self._jpeg is not None and self._jpeg[0] == result.frame:
                return self._jpeg[1]
        image = item.frame.image.copy()
        classes = list(self.session.predictor.classes)
        for face in result.faces:
            smoothed = np.array([face["smoothed"][c] for c in classes])
            draw_face(image, tuple(face["box"]), face["track"], smoothed, classes, self.session.all_faces)
        if not result.faces:
            draw_no_face(image)
        data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
        with self._lock:
            self._jpeg = (result.frame, data)
        return data


def create_live_app(board: LiveBoard, host: str = "127.0.0.1", token: str | None = None) -> FastAPI:
    """The page's app (`app.state.token`: the session secret)."""
    app = FastAPI(title="vemo live", docs_url=None, redoc_url=None, openapi_url=None)
    guard_local_app(app, host, token, "vemo predict --live --serve")
    session = board.session

    serve_own_files(app, STATIC, STATIC_FILES)

    @app.get("/api/meta")
    def meta() -> dict:
        return {
            "source": session.source.text,
            "model": session.predictor.description,
            "classes": list(session.predictor.classes),
            "colours": COLOURS,
            "synthetic_model": bool(session.predictor.corpus.get("synthetic")),
            "smooth_seconds": session.smooth,
            "verdict_seconds": session.verdict_seconds,
            "history_seconds": HISTORY_SECONDS,
        }

    @app.get("/api/history")
    def history() -> dict:
        return {"points": board.history_points()}

    @app.get("/api/frame.jpg")
    def frame() -> Response:
        data = board.frame_jpeg()
        if data is None:
            raise HTTPException(404, "no frame analysed yet")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.get("/api/events")
    async def events() -> StreamingResponse:
        return StreamingResponse(_event_stream(board, app), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    return app


async def _event_stream(board: LiveBoard, app: FastAPI):
    """A `state` event whenever a new result is in, then an `end` event when the session ends."""
    seen = -1
    while not getattr(app.state, "closing", False):
        state = board.state()
        if state["version"] != seen and state["result"] is not None:
            seen = state["version"]
            yield f"event: state\ndata: {json.dumps(state)}\n\n"
        if not state["running"]:
            yield f"event: end\ndata: {json.dumps(state)}\n\n"
            return
        await asyncio.sleep(EVENT_POLL_S)


class LivePageServer:
    """The page, served by uvicorn in a thread of its own while the session runs."""

    def __init__(self, session: LiveSession, host: str = "127.0.0.1", port: int = 8766) -> None:
        self.board = LiveBoard(session)
        self.app = create_live_app(self.board, host)
        self.host = host
        self._listener = bind_page_socket(host, port)  # a bad or taken port fails here, before any link
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", timeout_graceful_shutdown=2))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._listener]}, name="vemo-live-page", daemon=True)

    def start(self) -> None:
        """Serve; returns once it listens. Raises VemoError: the port is taken."""
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise VemoError(f"cannot serve the live page on {self.host} (is the port taken?)")
            self._thread.join(0.05)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    @property
    def link(self) -> str:
        return page_link(self.host, self.port, self.app.state.token)

    def hold_until_stopped(self) -> None:
        """Keep the final state on the page until Ctrl-C or SIGTERM, then stop serving."""
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            print("the page keeps the final state: Ctrl+C to stop serving it", file=sys.stderr, flush=True)
            previous = {n: signal.signal(n, lambda *_: stop.set()) for n in (signal.SIGINT, signal.SIGTERM)}
            try:
                while not stop.wait(0.2):
                    pass
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)
        self.close()

    def close(self) -> None:
        self.app.state.closing = True
        self._server.should_exit = True
        self._thread.join(timeout=5)

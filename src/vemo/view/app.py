"""`vemo view OUT`: a local page over a predictions folder.

The inputs of predictions.csv as a table; one input played with its faces and smoothed labels
drawn over each frame and its timeline under it. The page asks for inputs by number and for
frames by index: only the sources the table names are ever read, the frames decoded by the
server (`vemo.view.frames`). It has the protection of every vemo page (`vemo.io.local_page`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

from vemo.errors import VemoError
from vemo.io.local_page import guard_local_app, serve_own_files
from vemo.prediction.overlay import COLOURS
from vemo.view.folder import PredictionsFolder
from vemo.view.frames import FrameServer

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"index.html": "text/html", "view.js": "text/javascript", "view.css": "text/css"}


def create_view_app(folder: PredictionsFolder, host: str = "127.0.0.1", token: str | None = None) -> FastAPI:
    """The page's app (`app.state.token`: the session secret; `app.state.frames`: the decoder)."""
    app = FastAPI(title="vemo view", docs_url=None, redoc_url=None, openapi_url=None)
    guard_local_app(app, host, token, "vemo view")
    frames = app.state.frames = FrameServer()
    serve_own_files(app, STATIC, STATIC_FILES)

    @app.get("/api/inputs")
    def inputs() -> dict:
        return {"folder": str(folder.out), "classes": folder.classes, "colours": COLOURS, "inputs": [row.to_json() for row in folder.rows]}

    @app.get("/api/inputs/{number}")
    def details(number: int) -> dict:
        try:
            return folder.details(number)
        except VemoError as error:
            raise HTTPException(404, str(error)) from None

    @app.get("/api/inputs/{number}/frame/{index}.jpg")
    def frame(number: int, index: int) -> Response:
        try:
            row = folder.row(number)
            if row.status == "damaged":
                raise VemoError(f"{row.source}: damaged ({row.error})")
            if row.path is None:
                raise VemoError(f"{row.source}: the source file is not there any more")
            data = frames.jpeg(row.path, index)
        except VemoError as error:
            raise HTTPException(404, str(error)) from None
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    return app

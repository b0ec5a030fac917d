"""`vemo label serve`: a local web app to sort and label a workspace's face crops.

Safety: the app serves its own page and scripts (no CDN), crop images only from inside the
workspace (each path resolved, symlinks included, and checked to stay inside; `..` refused),
and frames rendered from sources listed in faces.csv. Request bodies are size-limited, labels
are checked against the class list, and nothing from the workspace is ever executed.

Against other web pages the user visits: `vemo.io.local_page` (Host, Origin, the session's
secret), as for every page vemo serves.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from vemo.classes import REJECTED
from vemo.errors import VemoError, VideoOpenError
from vemo.io.local_page import guard_local_app, serve_own_files
from vemo.io.media import open_media
from vemo.io.workspace import source_file
from vemo.labelling.store import LabelStore

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"index.html": "text/html", "app.js": "text/javascript", "app.css": "text/css"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
THUMB_SIZE = 96
FILTERS = ("all", "unlabelled", "labelled", REJECTED)


class LabelRequest(BaseModel):
    """Label `crops`, or the crops of `source` from frame `from_frame` on (the rest of a clip)."""

    label: str | None = Field(description="a class, 'rejected', or null to remove the label")
    crops: list[str] = Field(default_factory=list, max_length=50_000)
    source: str | None = None
    from_frame: int = Field(default=0, ge=0, le=10**9)
    client: str = Field(default="", max_length=64)


class UndoRequest(BaseModel):
    client: str = Field(default="", max_length=64)


def create_app(workspace: Path | str, classes: tuple[str, ...], *, host: str = "127.0.0.1", token: str | None = None) -> FastAPI:
    """The labelling app for one workspace, bound to `host`, with the session secret `token`
    (a new random one when None; `app.state.token` has it, `page_link` makes the link).

    Raises:
        WorkspaceError: not a workspace.
    """
    store = LabelStore(workspace, classes)
    app = FastAPI(title="vemo labelling", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    guard_local_app(app, host, token, "vemo label serve")
    serve_own_files(app, STATIC, STATIC_FILES)
    _add_label_api(app, store, classes)
    _add_images(app, store)
    return app


def _filter_rows(rows, current, filter: str, classes: tuple[str, ...]):
    """The crops of `rows` that `filter` keeps; `current` is each row's label (NaN: none)."""
    if filter == "unlabelled":
        return rows[current.isna()]
    if filter == "labelled":
        return rows[current.notna() & (current != REJECTED)]
    if filter == REJECTED:
        return rows[current == REJECTED]
    if filter.startswith("class:") and filter[6:] in classes:
        return rows[current == filter[6:]]
    if filter != "all":
        raise HTTPException(400, f"unknown filter {filter!r}; use one of {', '.join(FILTERS)} or class:NAME")
    return rows


def _add_label_api(app: FastAPI, store: LabelStore, classes: tuple[str, ...]) -> None:
    faces = store.faces

    @app.get("/api/meta")
    def meta() -> dict:
        sources = faces.groupby("source_id", sort=True).size()
        return {
            "workspace": str(store.workspace),
            "classes": list(classes),
            "rejected": REJECTED,
            "sources": [{"id": s, "crops": int(n)} for s, n in sources.items()],
            "version": store.version,
            "filters": list(FILTERS) + [f"class:{c}" for c in classes],
        }

    @app.get("/api/progress")
    def progress() -> dict:
        return {**store.progress(), "version": store.version}

    @app.get("/api/crops")
    def crops(filter: str = "all", source: str | None = None, offset: int = Query(0, ge=0), limit: int = Query(300, ge=1, le=2000)) -> dict:
        labels = store.snapshot()
        rows = faces if source is None else faces[faces["source_id"] == source]
        rows = _filter_rows(rows, rows["crop_path"].map(labels), filter, classes)
        page = rows.iloc[offset : offset + limit]
        items = [
            {
                "crop": row.crop_path,
                "source": row.source_id,
                "frame": int(row.frame),
                "time_s": float(row.time_s) if "time_s" in rows else None,
                "label": labels.get(row.crop_path),
            }
            for row in page.itertuples()
        ]
        return {"total": len(rows), "offset": offset, "items": items, "version": store.version}

    @app.get("/api/changes")
    def changes(since: int = Query(0, ge=0)) -> dict:
        version, changed = store.changes_since(since)
        return {"version": version, "changes": changed}

    @app.post("/api/labels")
    def set_labels(request: LabelRequest) -> dict:
        crops = list(request.crops)
        if request.source is not None:
            rows = faces[(faces["source_id"] == request.source) & (faces["frame"] >= request.from_frame)]
            if rows.empty:
                raise HTTPException(400, f"no crops of source {request.source!r} from frame {request.from_frame}")
            crops += list(rows["crop_path"])
        if not crops:
            raise HTTPException(400, "no crops given")
        try:
            version = store.set_labels(crops, request.label, request.client)
        except VemoError as error:
            raise HTTPException(400, str(error)) from None
        return {"version": version, "changed": len(crops)}

    @app.post("/api/undo")
    def undo(request: UndoRequest) -> dict:
        touched = store.undo(request.client)
        return {"version": store.version, "undone": len(touched), "crops": touched}


def _add_images(app: FastAPI, store: LabelStore) -> None:
    root = store.workspace.resolve()
    by_crop = store.faces.set_index("crop_path")

    def inside(relative: str) -> Path:
        """The crop `relative` names, or 400/404: only crops that faces.csv lists (any other file
        of the workspace, a link planted among the crops included, is not served), and never a
        file outside the workspace."""
        if relative not in store.crops:
            raise HTTPException(404)
        if "\x00" in relative or any(part == ".." for part in Path(relative).parts) or relative.startswith("/"):
            raise HTTPException(400, "bad path")
        path = (root / relative).resolve()  # follows symlinks: one pointing out is caught below
        if not path.is_relative_to(root) or not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            raise HTTPException(404)
        return path

    @app.get("/files/{relative:path}")
    def crop_file(relative: str) -> FileResponse:
        return FileResponse(inside(relative), headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/thumbs/{relative:path}")
    def thumbnail(relative: str) -> Response:
        image = cv2.imread(str(inside(relative)))
        if image is None:
            raise HTTPException(404)
        small = cv2.resize(image, (THUMB_SIZE, THUMB_SIZE), interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
        return Response(data.tobytes(), media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/api/frame")
    def frame(crop: str) -> Response:
        """The original frame of a crop with its face box: decoded from the source that
        faces.csv names for it (only for crops listed there)."""
        if crop not in by_crop.index:
            raise HTTPException(404)
        row = by_crop.loc[crop]
        image = _read_frame(source_file(store.workspace, str(row["source_path"])), int(row["frame"]))
        if image is None:
            raise HTTPException(404, "source video not readable")
        x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 200, 255), max(2, image.shape[1] // 300))
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        return Response(data.tobytes(), media_type="image/jpeg")


def _read_frame(source: Path, index: int) -> np.ndarray | None:
    try:
        frame = open_media(source).frame(index)
    except VideoOpenError:
        return None
    return None if frame is None else frame.image

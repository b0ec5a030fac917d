"""`vemo report OUT`: a predictions folder as one self-contained HTML file (no server, no network):
the verdict table and, per input, its verdict, segments, an inline SVG timeline of the main
face's smoothed probabilities and a few frames with their faces drawn (small inline JPEGs).
The look is the experiment report's."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from vemo.errors import VemoError
from vemo.io.files import write_text_atomic
from vemo.io.report_style import REPORT_STYLE
from vemo.prediction.overlay import COLOURS, draw_face
from vemo.view.folder import InputRow, PredictionsFolder
from vemo.view.frames import FrameServer

THUMB_WIDTH = 200
THUMB_QUALITY = 60
TIMELINE_POINTS = 240  # per class: enough for the eye, small for the file
EXTRA_STYLE = (
    ".input{border-top:1px solid #ccd;margin-top:1.5em}.thumbs img{width:200px;margin:2px}"
    ".failed{color:#a33}table.t td:nth-child(2){text-align:left}.dot{display:inline-block;width:9px;"
    "height:9px;border-radius:50%;margin-right:4px}svg{background:#f6f7fa;max-width:100%}"
)


def write_report(folder: PredictionsFolder, target: Path, thumbnails: int = 4) -> int:
    """Write the report to `target` (atomically); returns its size in bytes."""
    frames = FrameServer()
    try:
        sections = [_section(folder, row, frames, thumbnails) for row in folder.rows]
    finally:
        frames.close()
    failed = sum(row.status == "failed" for row in folder.rows)
    damaged = sum(row.status == "damaged" for row in folder.rows)
    counts = f"{len(folder.rows)} inputs, {failed} failed" + (f", {damaged} damaged" if damaged else "")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>vemo predictions: {html.escape(str(folder.out))}"
        f"</title><style>{REPORT_STYLE}{EXTRA_STYLE}</style></head><body>"
        f"<h1>Predictions of {html.escape(str(folder.out))}</h1>{_provenance(folder)}"
        f"<p>{counts}.</p>{_table(folder)}{''.join(sections)}</body></html>"
    )
    write_text_atomic(target, page)
    return len(page.encode())


def _provenance(folder: PredictionsFolder) -> str:
    """Which model and corpus, from the first verdict; a warning for a synthetic corpus."""
    verdict = next((folder.verdict(row) for row in folder.rows if row.status != "failed"), None)
    if not verdict:
        return ""
    corpus = verdict.get("corpus_of_model", {})
    statement = ("SYNTHETIC corpus: verdicts on real faces mean little. " if corpus.get("synthetic") else "") + str(
        corpus.get("statement", "")
    )
    return (
        f"<p class='prov'>Model: {html.escape(str(verdict.get('model')))}. Trained on: {html.escape(statement)} "
        f"Aggregation: {html.escape(str(verdict.get('aggregation', '')))}.</p>"
    )


def _table(folder: PredictionsFolder) -> str:
    rows = []
    for row in folder.rows:
        probabilities = "".join(f"<td>{'' if p is None else f'{p:.2f}'}</td>" for p in row.probabilities.values())
        status = html.escape(row.status + (f": {row.error}" if row.error else ""))
        rows.append(
            f"<tr class='{'failed' if row.status in ('failed', 'damaged') else ''}'><td>{row.number + 1}</td>"
            f"<td><a href='#input-{row.number}'>{html.escape(row.name or row.source)}</a></td>"
            f"<td>{_dot(folder, row.label)}{html.escape(row.label)}</td>{probabilities}"
            f"<td>{'' if row.face_share is None else f'{row.face_share:.0%}'}</td><td>{row.frames}</td>"
            f"<td>{status}</td></tr>"
        )
    heads = "".join(f"<th>{html.escape(c)}</th>" for c in ["#", "input", "label", *folder.classes, "faces", "frames", "status"])
    return f"<table class='t'><tr>{heads}</tr>{''.join(rows)}</table>"


def _dot(folder: PredictionsFolder, label: str) -> str:
    if label not in folder.classes:
        return ""
    return f"<span class='dot' style='background:{COLOURS[folder.classes.index(label) % len(COLOURS)]}'></span>"


def _section(folder: PredictionsFolder, row: InputRow, frames: FrameServer, thumbnails: int) -> str:
    head = f"<div class='input' id='input-{row.number}'><h2>{row.number + 1}. {html.escape(row.source)}</h2>"
    if row.status in ("failed", "damaged"):
        return f"{head}<p class='failed'>{row.status}: {html.escape(row.error)}</p></div>"
    verdict = folder.verdict(row) or {}
    shown = ", ".join(f"{c} {p:.2f}" for c, p in row.probabilities.items() if p is not None)
    shown = f"{shown}; " if shown else ""
    segments = "".join(
        f"<li>{s['start_s']:.2f}–{s['end_s']:.2f} s: {_dot(folder, s['emotion'])}"
        f"{html.escape(s['emotion'])} ({s['mean_probability']:.2f})</li>"
        for s in verdict.get("segments", [])
    )
    table = folder.frames_table(row)
    track = verdict.get("track", 0)
    main = table[table["track"] == track] if table is not None else None
    return (
        f"{head}<p><b>{html.escape(row.label or 'no face found')}</b> ({shown}faces in {row.face_share or 0:.0%} "
        f"of {row.frames} analysed frames)</p>{_timeline_svg(main, folder.classes)}{_legend(folder)}<ol>{segments}</ol>"
        f"<div class='thumbs'>{_thumbnails(row, table, folder.classes, frames, thumbnails)}</div></div>"
    )


def _legend(folder: PredictionsFolder) -> str:
    return "<p>" + " ".join(f"{_dot(folder, name)}{html.escape(name)}" for name in folder.classes) + "</p>"


def _timeline_svg(table: pd.DataFrame | None, classes: list[str], width: int = 900, height: int = 140) -> str:
    """The main face's smoothed probabilities over time, one polyline per class."""
    if table is None or len(table) < 2:
        return ""
    step = max(1, len(table) // TIMELINE_POINTS)
    sampled = table.iloc[::step]
    end = max(float(table["time_s"].iloc[-1]), 1e-6)
    lines = []
    for index, name in enumerate(classes):
        column = f"{name}_smoothed" if f"{name}_smoothed" in sampled else name
        points = " ".join(
            f"{t / end * (width - 4) + 2:.1f},{4 + (1 - p) * (height - 24):.1f}"
            for t, p in zip(sampled["time_s"], sampled[column])
            if np.isfinite(p)
        )
        lines.append(
            f"<polyline fill='none' stroke='{COLOURS[index % len(COLOURS)]}' stroke-width='1.6' "
            f"points='{points}'><title>{html.escape(name)}</title></polyline>"
        )
    axis = (
        f"<text x='2' y='{height - 4}' font-size='11' fill='#667'>0 s</text><text x='{width - 50}' y='{height - 4}' "
        f"font-size='11' fill='#667'>{end:.1f} s</text>"
    )
    return f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}'>{''.join(lines)}{axis}</svg>"


def _thumbnails(row: InputRow, table: pd.DataFrame | None, classes: list[str], frames: FrameServer, count: int) -> str:
    """`count` frames spread over the input (those with a face first), with their faces drawn."""
    if table is None or row.path is None or count == 0:
        return "" if row.path is not None else "<p>(the source file is not there any more: no frames)</p>"
    with_face = table[table["face_found"].astype(str) == "True"] if "face_found" in table else table
    chosen = sorted(set(_spread((with_face if len(with_face) else table)["frame"].astype(int).tolist(), count)))
    images = []
    for frame in chosen:
        try:
            image = frames.image(row.path, frame)
        except VemoError:
            continue
        scale = THUMB_WIDTH / image.shape[1]  # shrunk first, then drawn: boxes and labels stay legible
        small = cv2.resize(image, (THUMB_WIDTH, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        for face in with_face[with_face["frame"] == frame].itertuples(index=False):
            probabilities = np.array([getattr(face, f"{c}_smoothed", getattr(face, c)) for c in classes], float)
            box = (round(face.x * scale), round(face.y * scale), round(face.w * scale), round(face.h * scale))
            draw_face(small, box, int(face.track), probabilities, classes, False)
        data = base64.b64encode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY])[1].tobytes()).decode()
        images.append(f"<img src='data:image/jpeg;base64,{data}' alt='frame {frame}' title='frame {frame}'>")
    return "".join(images)


def _spread(values: list[int], count: int) -> list[int]:
    if len(values) <= count:
        return values
    return [values[round(i * (len(values) - 1) / max(1, count - 1))] for i in range(count)]

"""`vemo evaluate --on`'s outputs: OUT/eval.json (every figure), OUT/decisions-<n>.csv (every
decision of model n), OUT/report.html (the experiment report's look: the models side by side,
then per model the data, the class match, the tables, the confusion matrix and its worst misses
as small crops with their true and predicted labels, in OUT/misses/)."""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from vemo.evaluation.measure import EvalReport
from vemo.io.files import atomic_path, write_csv_atomic, write_json_atomic
from vemo.io.media import VIDEO_SUFFIXES
from vemo.io.report_style import REPORT_STYLE
from vemo.scoring.run import ModelDecisions

MISSES = 8  # worst misses shown per model
THUMBNAIL = 96


def write_outputs(scored: list[tuple[ModelDecisions, dict[str, EvalReport | None]]], data: str, out: Path) -> Path:
    """Write every output into `out`; returns the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    models: list[dict] = []
    record = {"data": data, "models": models}
    sections = []
    for number, (decisions, levels) in enumerate(scored):
        write_csv_atomic(out / f"decisions-{number}.csv", decisions.frames)
        if len(decisions.clips):
            write_csv_atomic(out / f"clips-{number}.csv", decisions.clips)
        models.append(_model_record(decisions, levels))
        sections.append(_section(number, decisions, levels, _misses(number, decisions, out)))
    write_json_atomic(out / "eval.json", record)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>vemo evaluate</title><style>{REPORT_STYLE}</style></head><body>"
        f"<h1>Models on {html.escape(data)}</h1>{side_by_side_html(scored)}{''.join(sections)}</body></html>"
    )
    with atomic_path(out / "report.html") as temporary:
        temporary.write_text(page, encoding="utf-8")
    return out / "report.html"


def side_by_side(scored: list[tuple[ModelDecisions, dict[str, EvalReport | None]]]) -> pd.DataFrame:
    """One row per model and level: decisions, accuracy, balanced accuracy with its interval, macro F1."""
    rows = []
    for decisions, levels in scored:
        synthetic = " (trained on SYNTHETIC faces)" if decisions.corpus.get("synthetic") else ""
        for level, report in levels.items():
            if report is None:
                continue
            low, high = report.balanced_accuracy_ci95
            rows.append(
                {
                    "model": decisions.model + synthetic,
                    "level": level,
                    "decisions": report.samples,
                    "accuracy %": round(100 * report.accuracy, 1),
                    "balanced %": round(100 * report.balanced_accuracy, 1),
                    "balanced 95% CI": f"{100 * low:.1f}-{100 * high:.1f}",
                    "macro F1": round(report.macro_f1, 3),
                    "classes": ", ".join(decisions.classes.shared),
                }
            )
    return pd.DataFrame(rows)


def side_by_side_html(scored: list[tuple[ModelDecisions, dict[str, EvalReport | None]]]) -> str:
    return side_by_side(scored).to_html(index=False, classes="t", border=0)


def _model_record(decisions: ModelDecisions, levels: dict[str, EvalReport | None]) -> dict:
    return {
        "model": decisions.model,
        "corpus_of_model": decisions.corpus,
        "crop_recipe": decisions.crop_recipe,
        "classes": decisions.classes.to_json(),
        "left_out_for_their_label": decisions.left_out,
        "no_face": decisions.no_face,
        "failed": [{"input": path, "error": error} for path, error in decisions.failed],
        "levels": {level: asdict(report) if report else None for level, report in levels.items()},
    }


def _section(number: int, decisions: ModelDecisions, levels: dict[str, EvalReport | None], misses: list[str]) -> str:
    match = decisions.classes
    notes = [
        f"Trained on: {html.escape(json.dumps(decisions.corpus))}",
        f"Faces found by {html.escape(str(decisions.crop_recipe.get('detector')))}",
        f"Classes scored: {', '.join(match.shared)} (probabilities renormalised over them)",
    ]
    if match.mapping and any(k != v for k, v in match.mapping.items()):
        notes.append("Mapped: " + ", ".join(f"{k} -> {v}" for k, v in match.mapping.items() if k != v))
    if match.dropped:
        notes.append(f"Left out, labels the model does not predict: {', '.join(match.dropped)} ({decisions.left_out} inputs)")
    if match.unused:
        notes.append(f"Model classes the data does not use: {', '.join(match.unused)}")
    notes.append(
        f"Inputs without a face: {len(decisions.no_face)}"
        + (f" ({html.escape(', '.join(decisions.no_face))})" if decisions.no_face else "")
    )
    if decisions.failed:
        notes.append("Failed: " + html.escape("; ".join(f"{p}: {e}" for p, e in decisions.failed)))
    tables = "".join(_level_html(level, report) for level, report in levels.items() if report is not None)
    gallery = "".join(misses) or "No miss."
    heading = f"<h2>{number}. {html.escape(decisions.model)}</h2><div class='prov'>{'<br>'.join(notes)}</div>"
    return f"{heading}{tables}<h3>Worst misses</h3><div>{gallery}</div>"


def _level_html(level: str, report: EvalReport) -> str:
    low, high = report.balanced_accuracy_ci95
    a_low, a_high = report.accuracy_ci95
    head = (
        f"<h3>{level} level: {report.samples} decisions</h3><p>accuracy {100 * report.accuracy:.1f} % "
        f"({100 * a_low:.1f}-{100 * a_high:.1f}), balanced accuracy {100 * report.balanced_accuracy:.1f} % "
        f"({100 * low:.1f}-{100 * high:.1f}), macro F1 {report.macro_f1:.3f}</p>"
    )
    per_class = pd.DataFrame(report.per_class).T[["recall", "precision", "support"]].astype({"support": int}).round(3)
    confusion = pd.DataFrame(report.confusion, index=[f"true {c}" for c in report.classes], columns=[f"as {c}" for c in report.classes])
    return head + per_class.to_html(classes="t", border=0) + confusion.to_html(classes="t", border=0)


def _misses(number: int, decisions: ModelDecisions, out: Path) -> list[str]:
    """The most confident wrong decisions, each as a small crop in OUT/misses/: one per input
    first (a clip's frames would fill the gallery with one face), then the next ones."""
    wrong = decisions.frames[decisions.frames["true"] != decisions.frames["predicted"]].sort_values("confidence", ascending=False)
    first = wrong.drop_duplicates("source")
    wrong = pd.concat([first, wrong.drop(first.index)])
    shown = []
    for rank, row in enumerate(wrong.head(MISSES).itertuples()):
        image = _face_image(row, decisions)
        if image is None:
            continue
        path = out / "misses" / f"{number}-{rank}.png"
        path.parent.mkdir(exist_ok=True)
        with atomic_path(path) as temporary:
            temporary.write_bytes(cv2.imencode(".png", image)[1].tobytes())
        caption = f"{row.true} as {row.predicted} ({row.confidence:.2f})"
        words, name = html.escape(caption), html.escape(Path(str(row.source)).name)
        shown.append(
            f"<figure style='display:inline-block;margin:6px;text-align:center;font-size:12px'><img src='misses/{path.name}' "
            f"alt='{words}'><figcaption>{words}<br>{name}</figcaption></figure>"
        )
    return shown


def _face_image(row, decisions: ModelDecisions) -> np.ndarray | None:
    """The decision's face: a crop of the workspace, or the box cut from its frame."""
    source = Path(str(row.source))
    if not hasattr(row, "x") or pd.isna(getattr(row, "x", np.nan)):
        image = cv2.imread(str(source)) if source.is_file() else None
        return None if image is None else cv2.resize(image, (THUMBNAIL, THUMBNAIL))
    frame = _frame(source, int(row.frame))
    if frame is None:
        return None
    x, y, w, h = (int(getattr(row, name)) for name in ("x", "y", "w", "h"))
    face = frame[max(0, y) : y + h, max(0, x) : x + w]
    return cv2.resize(face, (THUMBNAIL, THUMBNAIL)) if face.size else None


def _frame(source: Path, index: int) -> np.ndarray | None:
    if source.suffix.lower() in VIDEO_SUFFIXES:
        capture = cv2.VideoCapture(str(source))
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        capture.release()
        return frame if ok else None
    try:
        return np.array(Image.open(source).convert("RGB"))[:, :, ::-1].copy()
    except OSError:
        return None

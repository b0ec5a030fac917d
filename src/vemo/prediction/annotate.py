"""What a person looks at after `vemo predict --annotate`: the timeline and the annotated video."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vemo.io.files import atomic_path, write_image_atomic  # noqa: E402
from vemo.io.media import MediaSource  # noqa: E402

COLOURS = ["#8c564b", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#d62728", "#17becf", "#bcbd22", "#7f7f7f"]


def plot_timeline(table: pd.DataFrame, classes: list[str], segments: list[dict], path: Path, title: str = "") -> None:
    """Smoothed class probabilities over time, with each segment shaded in its emotion's colour."""
    figure, axis = plt.subplots(figsize=(10, 3.2), dpi=110)
    for i, name in enumerate(classes):
        axis.plot(table["time_s"], table[f"{name}_smoothed"], color=COLOURS[i % len(COLOURS)], label=name, lw=1.6)
    for segment in segments:
        colour = COLOURS[classes.index(segment["emotion"]) % len(COLOURS)]
        axis.axvspan(segment["start_s"], segment["end_s"], color=colour, alpha=0.12, lw=0)
    no_face = table.loc[~table["face_found"], "time_s"]
    if len(no_face):
        axis.plot(no_face, np.full(len(no_face), -0.03), "|", color="black", label="no face")
    axis.set_ylim(-0.06, 1.02)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("probability (smoothed)")
    axis.set_title(title, fontsize=10)
    axis.legend(loc="upper right", fontsize=8, ncol=len(classes) + 1)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def write_annotated_video(source: MediaSource, table: pd.DataFrame, classes: list[str], path: Path,
                          main_track: int = 0) -> None:
    """The video with each face's box and smoothed label, and the probability bars of the main
    track, on each frame.

    A second decoding pass: the first one (prediction) keeps only crops, not frames.
    """
    by_frame = {index: rows for index, rows in table.groupby("frame")}
    frame_numbers = np.sort(table["frame"].unique())
    every = int(np.diff(frame_numbers).min()) if len(frame_numbers) > 1 else 1
    with atomic_path(path) as tmp:
        writer = None
        for frame in source.frames(every=max(every, 1)):
            image = frame.image.copy()
            if writer is None:
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), source.fps / max(every, 1),
                                         (image.shape[1], image.shape[0]))
            rows = by_frame.get(frame.index)
            if rows is not None:
                faces = rows[rows["face_found"]]
                if faces.empty:
                    _draw_no_face(image)
                for _, row in faces.iterrows():
                    _draw_face(image, row, classes, label_track=len(by_frame[frame.index]) > 1)
                main = faces[faces["track"] == main_track]
                if not main.empty:
                    _draw_bars(image, main.iloc[0], classes)
            writer.write(image)
        if writer is not None:
            writer.release()


def write_annotated_image(source: MediaSource, table: pd.DataFrame, classes: list[str], path: Path,
                          main_track: int = 0) -> None:
    """The photo with each face's box and label, and the probability bars of the main face."""
    image = next(source.frames()).image.copy()
    faces = table[table["face_found"]]
    if faces.empty:
        _draw_no_face(image)
    for _, row in faces.iterrows():
        _draw_face(image, row, classes, label_track=len(faces) > 1)
    main = faces[faces["track"] == main_track]
    if not main.empty:
        _draw_bars(image, main.iloc[0], classes)
    write_image_atomic(path, image)


def _scale(image: np.ndarray) -> float:
    return max(0.4, image.shape[1] / 900)


def _bgr(index: int) -> tuple[int, int, int]:
    colour = COLOURS[index % len(COLOURS)]
    return tuple(int(colour[k : k + 2], 16) for k in (5, 3, 1))  # hex RGB -> BGR


def _draw_no_face(image: np.ndarray) -> None:
    scale = _scale(image)
    cv2.putText(image, "no face", (10, int(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 255), 1, cv2.LINE_AA)


def _draw_face(image: np.ndarray, row: pd.Series, classes: list[str], label_track: bool) -> None:
    probabilities = np.array([row[f"{c}_smoothed"] for c in classes], dtype=float)
    best = int(np.nanargmax(probabilities))
    colour = _bgr(best)
    x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, 2)
    prefix = f"#{int(row['track'])} " if label_track else ""
    cv2.putText(image, f"{prefix}{classes[best]} {probabilities[best]:.2f}", (x, max(12, y - 6)),
                cv2.FONT_HERSHEY_SIMPLEX, 0.55 * _scale(image), colour, 1, cv2.LINE_AA)


def _draw_bars(image: np.ndarray, row: pd.Series, classes: list[str]) -> None:
    scale, width = _scale(image), image.shape[1]
    probabilities = np.array([row[f"{c}_smoothed"] for c in classes], dtype=float)
    bar_width, line = int(width * 0.22), int(16 * scale)
    panel = image[0 : 10 + len(classes) * line, 0 : 12 + bar_width + int(80 * scale)]
    panel[:] = (panel * 0.35).astype(np.uint8)  # darken behind the bars so the labels read on any background
    for i, (name, p) in enumerate(zip(classes, probabilities)):
        top = 6 + i * line
        cv2.rectangle(image, (6, top), (6 + bar_width, top + line - 4), (40, 40, 40), -1)
        cv2.rectangle(image, (6, top), (6 + int(bar_width * p), top + line - 4), _bgr(i), -1)
        cv2.putText(image, name, (10 + bar_width, top + line - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * scale,
                    (255, 255, 255), 1, cv2.LINE_AA)

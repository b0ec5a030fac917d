"""What a person looks at after `vemo predict --annotate`: the timeline and the annotated video."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vemo.io.files import atomic_path  # noqa: E402
from vemo.io.video import iter_video_frames  # noqa: E402

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


def write_annotated_video(source: Path, fps: float, table: pd.DataFrame, classes: list[str], path: Path) -> None:
    """The video with the face box, the smoothed label and a probability bar per class on each frame.

    A second decoding pass: the first one (prediction) keeps only crops, not frames.
    """
    rows = table.set_index("frame")
    every = int(table["frame"].diff().dropna().min()) if len(table) > 1 else 1
    with atomic_path(path) as tmp:
        writer = None
        for frame in iter_video_frames(source, fps, every=max(every, 1)):
            image = frame.image.copy()
            if writer is None:
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps / max(every, 1),
                                         (image.shape[1], image.shape[0]))
            if frame.index in rows.index:
                _draw(image, rows.loc[frame.index], classes)
            writer.write(image)
        if writer is not None:
            writer.release()


def _draw(image: np.ndarray, row: pd.Series, classes: list[str]) -> None:
    height, width = image.shape[:2]
    scale = max(0.4, width / 900)
    if not row["face_found"]:
        cv2.putText(image, "no face", (10, int(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 255), 1, cv2.LINE_AA)
        return
    probabilities = np.array([row[f"{c}_smoothed"] for c in classes], dtype=float)
    best = int(np.nanargmax(probabilities))
    colour = tuple(int(COLOURS[best % len(COLOURS)][k : k + 2], 16) for k in (5, 3, 1))  # hex RGB -> BGR
    x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, 2)
    cv2.putText(image, f"{classes[best]} {probabilities[best]:.2f}", (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX,
                0.55 * scale, colour, 1, cv2.LINE_AA)
    bar_width, line = int(width * 0.22), int(16 * scale)
    panel = image[0 : 10 + len(classes) * line, 0 : 12 + bar_width + int(80 * scale)]
    panel[:] = (panel * 0.35).astype(np.uint8)  # darken behind the bars so the labels read on any background
    for i, (name, p) in enumerate(zip(classes, probabilities)):
        top = 6 + i * line
        cv2.rectangle(image, (6, top), (6 + bar_width, top + line - 4), (40, 40, 40), -1)
        cv2.rectangle(image, (6, top), (6 + int(bar_width * p), top + line - 4),
                      tuple(int(COLOURS[i % len(COLOURS)][k : k + 2], 16) for k in (5, 3, 1)), -1)
        cv2.putText(image, name, (10 + bar_width, top + line - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * scale,
                    (255, 255, 255), 1, cv2.LINE_AA)

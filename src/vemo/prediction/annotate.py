"""What a person looks at after `vemo predict --annotate`: the timeline, and the annotated photo
(videos are annotated while they are scanned: `vemo.prediction.overlay`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vemo.io.files import atomic_path, write_image_atomic  # noqa: E402
from vemo.io.media import MediaSource  # noqa: E402
from vemo.prediction.overlay import COLOURS, draw_bars, draw_face, draw_no_face  # noqa: E402


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


def write_annotated_image(source: MediaSource, table: pd.DataFrame, classes: list[str], path: Path, main_track: int = 0) -> None:
    """The photo with each face's box and label, and the probability bars of the main face."""
    image = next(source.frames()).image.copy()
    faces = table[table["face_found"]]
    if faces.empty:
        draw_no_face(image)
    smoothed = [f"{c}_smoothed" for c in classes]
    for _, row in faces.iterrows():
        x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
        box = (x, y, w, h)
        draw_face(image, box, int(row["track"]), row[smoothed].to_numpy(float), classes, label_track=len(faces) > 1)
    main = faces[faces["track"] == main_track]
    if not main.empty:
        draw_bars(image, main.iloc[0][smoothed].to_numpy(float), classes)
    write_image_atomic(path, image)

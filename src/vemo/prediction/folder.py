"""`vemo predict` over many inputs: one frames table and one verdict per input, into a folder."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from vemo.errors import VemoError
from vemo.io.files import write_csv_atomic, write_json_atomic
from vemo.io.media import open_media
from vemo.models.inputs import resolve_device
from vemo.prediction.predictor import load_predictor
from vemo.prediction.timeline import VideoPrediction, crop_recipe_for, predict_media


def predict_to_folder(inputs: list[Path], model: str | Path, out: Path, *, every: int = 1, device: str = "auto",
                      smooth: float = 0.5, annotate: bool = False, classes: str | None = None,
                      all_faces: bool = False, align: bool | None = None, detector: str | None = None) -> tuple[
                          list[VideoPrediction], list[tuple[str, str]]]:
    """Predict several inputs; write OUT/<name>.frames.csv and OUT/<name>.json for each, and with
    `annotate` a timeline PNG per track and OUT/<name>.annotated.mp4 (videos) or .annotated.png (images).

    Returns the verdicts and the (path, reason) of inputs that failed; one bad input never
    stops the others.

    Raises:
        CheckpointError, ConfigError, WeightsError: an unusable model (before any input is read).
    """
    predictor = load_predictor(model, resolve_device(device), classes)
    if align is not None or detector is not None:
        predictor.recipe = crop_recipe_for(predictor, align, detector)  # warns once, here, when it differs
    verdicts, failures = [], []
    for path in inputs:
        try:
            verdict, table = predict_media(path, predictor, every=every, smooth=smooth, all_faces=all_faces)
        except VemoError as error:
            failures.append((str(path), str(error)))
            continue
        stem = Path(path).stem
        write_csv_atomic(out / f"{stem}.frames.csv", table)
        write_json_atomic(out / f"{stem}.json", asdict(verdict))
        if annotate:
            _annotate(Path(path), verdict, table, out / stem)
        verdicts.append(verdict)
    return verdicts, failures


def _annotate(path: Path, verdict: VideoPrediction, table: pd.DataFrame, stem: Path) -> None:
    # matplotlib is imported only when a timeline is drawn: it would add to every start-up
    from vemo.prediction.annotate import plot_timeline, write_annotated_image, write_annotated_video

    classes = list(verdict.probabilities)
    for summary in verdict.tracks:
        track_table = table[table["track"] == summary["track"]]
        suffix = "" if len(verdict.tracks) == 1 else f".track{summary['track']}"
        plot_timeline(track_table, classes, summary["segments"], Path(f"{stem}{suffix}.timeline.png"),
                      title=f"{path.name}{' track ' + str(summary['track']) if suffix else ''}: {summary['label']}")
    media = open_media(path)
    if media.is_video:
        write_annotated_video(media, table, classes, Path(f"{stem}.annotated.mp4"), main_track=verdict.track)
    else:
        write_annotated_image(media, table, classes, Path(f"{stem}.annotated.png"), main_track=verdict.track)

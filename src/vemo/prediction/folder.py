"""`vemo predict` over many inputs: one frames table and one verdict per input, into a folder.

A folder of a thousand short clips is a normal input: short inputs are predicted side by side,
one per core, with the model loaded once. Each finished input gets a marker
(`OUT/.predict-state/<name>.json`, written last) naming its content hash, the model and the
options; a re-run skips inputs whose marker matches, so a killed run finishes the rest, and
`force` redoes them. `OUT/predictions.csv` sums every input of the call up: the name of its outputs (the file stem,
with a hash suffix when another input has that stem, as extraction's source ids), label,
probabilities, face share, frames, status and the error of those that failed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from vemo import __version__
from vemo.engine import check_shared_workspace, run_units_with_state, thread_pool
from vemo.errors import ConfigError, VemoError
from vemo.io.files import clean_partial_files, exclusive_lock, write_csv_atomic, write_json_atomic
from vemo.io.media import MediaSource, content_hash, open_media, source_name
from vemo.io.predictions import RECORD, STATE_DIR, SUMMARY, summary_columns
from vemo.io.runs import RunFolder
from vemo.prediction.config import PredictConfig
from vemo.prediction.loader import predictor_for
from vemo.prediction.media import VideoPrediction, predict_loaded
from vemo.prediction.predictor import Predictor
from vemo.prediction.reference import DEFAULT_MODEL, DEFAULT_OUT, parse_model
from vemo.prediction.scan import one_thread_per_worker

log = logging.getLogger(__name__)

# Inputs of at most this many analysed frames are predicted side by side, one per core, each on
# one thread (a short clip has too few runs of frames to keep the cores busy by itself); longer
# ones one after the other, each with every core.
SHORT_FRAMES = 300
LOCK = "lock"  # in STATE_DIR: held by the one run writing the folder


def predict_to_folder(
    inputs: Sequence[Path | str] | Path | str,
    model: str | Path | Predictor = DEFAULT_MODEL,
    out: Path | str = DEFAULT_OUT,
    config: PredictConfig | None = None,
    *,
    force: bool = False,
    progress: bool = False,
    **options: Any,
) -> tuple[list[VideoPrediction], list[tuple[str, str]]]:
    """What `vemo predict` does (the library's `vemo.predict`): predict several inputs; write
    OUT/<name>.frames.csv and OUT/<name>.json for each, with `config.annotate` a timeline PNG per
    track and OUT/<name>.annotated.mp4 (videos) or .annotated.png (images), OUT/predictions.csv
    over all of them and OUT/predict.json (the model and config). Inputs already predicted with
    the same content, model and options are reused unless `force`.

    Args:
        model: as `vemo predict --model` (by default the pretrained FER2013 model).
        out: the folder, as `vemo predict --out` (by default ./predictions).
        config: how to predict (`PredictConfig`); `options`: fields of it replacing the config's.

    Returns the verdicts and the (path, reason) of inputs that failed; one bad input never
    stops the others.

    Raises:
        CheckpointError, ConfigError, WeightsError: an unusable model or config (before any input is read).
    """
    config = PredictConfig.with_options(config, options)
    paths = [Path(inputs)] if isinstance(inputs, (str, Path)) else [Path(path) for path in inputs]
    out = Path(out)
    if config.engine.on_ray and isinstance(model, Predictor):
        raise ConfigError("on Ray each actor loads the model itself: give the model's name, not a loaded predictor", "engine")
    load = partial(predictor_for, model, config)  # here, and in each Ray actor
    predictor = load()
    options_key = _options_key(predictor, config)
    (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    busy = f"{out} is being written by another vemo predict: wait for it to end, or give another --out"
    with exclusive_lock(out / STATE_DIR / LOCK, busy=busy):
        for folder in (out, out / STATE_DIR):
            clean_partial_files(folder)  # temporary files of a killed run
        plan = _plan(paths, out, options_key, config.every, force)
        verdicts, failures = _predict_all(paths, out, predictor, load, config, plan, progress)
        write_json_atomic(out / RECORD, {"model": predictor.description, "config": config.to_json(), "vemo": __version__})
        return verdicts, failures


def _predict_all(
    inputs: list[Path],
    out: Path,
    predictor: Predictor,
    load: Callable[[], Predictor],
    config: PredictConfig,
    plan: tuple[dict[int, VideoPrediction | str], dict[int, str], list[tuple], list[tuple]],
    progress: bool,
) -> tuple[list[VideoPrediction], list[tuple[str, str]]]:
    """`predict_to_folder` once it is the folder's only writer: the planned jobs, on Ray actors or
    here (short inputs side by side, long ones each with every core)."""
    outcomes, names, short, long = plan
    job_of = partial(_predict_job, out=out.resolve(), config=config)
    bar = tqdm(total=len(inputs), initial=len(outcomes), desc="predicting", unit="file", disable=not progress)
    if config.engine.on_ray:  # a pool of Ray actors, each with the model loaded once
        check_shared_workspace(out, config.engine)
        for job, outcome in run_units_with_state(load, job_of, short + long, config.engine):
            outcomes[job[0]] = outcome
            bar.update()
        bar.close()
        return _write_summary(inputs, outcomes, names, out, predictor.classes)

    def predict_one(*job, workers: int) -> None:
        outcomes[job[0]] = job_of(predictor, job, workers=workers)
        bar.update()

    cores = config.workers or os.cpu_count() or 1
    with one_thread_per_worker(predictor.crop_recipe):
        pool = thread_pool(cores, "vemo-files")
        for future in [pool.submit(predict_one, *job, workers=1) for job in short]:  # short inputs side by side
            future.result()
    for job in long:  # a long input gets every core to itself
        predict_one(*job, workers=cores)
    bar.close()
    return _write_summary(inputs, outcomes, names, out, predictor.classes)


def _predict_job(predictor: Predictor, job: tuple, *, out: Path, config: PredictConfig, workers: int = 1) -> VideoPrediction | str:
    """One input (position, media, name, marker) predicted and marked done, or why it failed."""
    _, media, name, marker = job
    try:
        verdict = _predict_one(media, out / name, predictor, replace(config, workers=workers))
        write_json_atomic(out / STATE_DIR / f"{name}.json", marker)  # last: the input is done
        return verdict
    except (VemoError, OSError) as error:
        return str(error)


def _plan(
    inputs: list[Path], out: Path, options: str, every: int, force: bool
) -> tuple[dict[int, VideoPrediction | str], dict[int, str], list[tuple], list[tuple]]:
    """Per input (by position): its saved verdict when it is finished, or why it cannot be read;
    its output name; and the jobs (position, opened media, name, marker) to run, short and long."""
    outcomes: dict[int, VideoPrediction | str] = {}
    names: dict[int, str] = {}
    taken = _names_taken(out)
    short: list[tuple] = []
    long: list[tuple] = []
    reused = 0
    for number, path in enumerate(inputs):
        try:
            digest = content_hash(path)
            names[number] = name = source_name(path, digest, taken)
            taken[name] = str(Path(path).resolve())
            marker = {"source": str(path), "key": taken[name], "sha256": digest, "options": options}
            verdict = None if force else _finished(out, name, marker)
            if verdict is not None:
                outcomes[number], reused = verdict, reused + 1
                continue
            media = open_media(path)  # probed once: the prediction reads it from here
        except (VemoError, OSError) as error:
            outcomes[number] = str(error)
            continue
        frames = media.info.frame_count / max(every, 1)
        (short if frames <= SHORT_FRAMES else long).append((number, media, name, marker))
    if reused:
        log.info("%d input(s) already predicted with this model and these options: reused (force redoes them)", reused)
    return outcomes, names, short, long


def _write_summary(
    inputs: list[Path], outcomes: dict, names: dict[int, str], out: Path, classes: tuple[str, ...]
) -> tuple[list[VideoPrediction], list[tuple[str, str]]]:
    """OUT/predictions.csv, a row per input in the order given; returns (verdicts, failures)."""
    verdicts, failures, rows = [], [], []
    for number, path in enumerate(inputs):
        outcome = outcomes[number]
        if isinstance(outcome, str):
            failures.append((str(path), outcome))
            rows.append({"source": str(path), "name": names.get(number, ""), "status": "failed", "error": outcome})
        else:
            verdicts.append(outcome)
            rows.append({**_summary_row(outcome), "name": names[number]})
    write_csv_atomic(out / SUMMARY, pd.DataFrame(rows, columns=summary_columns(classes)))
    return verdicts, failures


def _options_key(predictor: Predictor, config: PredictConfig) -> str:
    """What makes an input's outputs: the model (its files), reported classes, crop recipe, options."""
    model = predictor.description
    if predictor.runtime != "torch" and predictor.weights_file is not None:  # an ONNX file: its bytes say it all
        stat = predictor.weights_file.stat()
        model += f"|{stat.st_size}|{stat.st_mtime_ns}"
    elif parse_model(model).kind == "run":
        run = RunFolder(model)
        stat = run.model_file.stat()
        model += f"|{stat.st_size}|{stat.st_mtime_ns}|{hashlib.sha256(run.config_file.read_bytes()).hexdigest()}"
    options = {"every": config.every, "smooth": config.smooth, "all_faces": config.all_faces, "annotate": config.annotate}
    key = {"model": model, "classes": list(predictor.classes), "recipe": predictor.crop_recipe.to_json(), **options}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _names_taken(out: Path) -> dict[str, str]:
    """Output name -> the resolved path of the input that has it, from earlier runs' markers; the
    record's name is taken by no input (an input `predict.mp4` gets `predict-<hash>`)."""
    taken = {Path(RECORD).stem: ""}
    for marker in (out / STATE_DIR).glob("*.json"):
        try:
            saved = json.loads(marker.read_text())
            taken[marker.stem] = saved.get("key") or str(Path(saved["source"]).resolve())
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: its input is simply predicted again
    return taken


def _finished(out: Path, name: str, marker: dict) -> VideoPrediction | None:
    """The saved verdict when the input's marker says it was predicted as asked, else None."""
    done, saved = out / STATE_DIR / f"{name}.json", out / f"{name}.json"
    if not (done.is_file() and saved.is_file()) or json.loads(done.read_text()) != marker:
        return None
    return VideoPrediction(**json.loads(saved.read_text()))


def _predict_one(media: MediaSource, stem: Path, predictor: Predictor, config: PredictConfig) -> VideoPrediction:
    """Predict one input into STEM.frames.csv, STEM.json (and the annotations)."""
    video = Path(f"{stem}.annotated.mp4") if config.annotate else None
    verdict, table = predict_loaded(media, predictor, config, annotated_video=video)
    write_csv_atomic(Path(f"{stem}.frames.csv"), table)
    write_json_atomic(Path(f"{stem}.json"), asdict(verdict))
    if config.annotate:
        _annotate(media, verdict, table, stem)
    return verdict


def _summary_row(verdict: VideoPrediction) -> dict:
    return {
        "source": verdict.source,
        "status": "ok" if verdict.label else "no_face",
        "label": verdict.label or "",
        **verdict.probabilities,
        "face_share": verdict.face_share,
        "face_frames": verdict.face_frames,
        "frames": verdict.frames,
        "error": "",
    }


def _annotate(media: MediaSource, verdict: VideoPrediction, table: pd.DataFrame, stem: Path) -> None:
    """The timelines, and for an image the annotated photo (a video's was drawn during its scan)."""
    # matplotlib is imported only when a timeline is drawn: it would add to every start-up
    from vemo.prediction.annotate import plot_timeline, write_annotated_image

    classes = list(verdict.probabilities)
    for summary in verdict.tracks:
        track_table = table[table["track"] == summary["track"]]
        suffix = "" if len(verdict.tracks) == 1 else f".track{summary['track']}"
        plot_timeline(
            track_table,
            classes,
            summary["segments"],
            Path(f"{stem}{suffix}.timeline.png"),
            title=f"{media.path.name}{' track ' + str(summary['track']) if suffix else ''}: {summary['label']}",
        )
    if not media.is_video:
        write_annotated_image(media, table, classes, Path(f"{stem}.annotated.png"), main_track=verdict.track)

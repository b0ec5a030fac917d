"""Emotions of a camera or stream as they happen: `vemo live` (`vemo predict --live`), and its Python API.

Analysis takes the newest captured frame whenever it is ready (`vemo.live.capture`), puts it
through the same face pipeline, crop recipe and model as file prediction, and smooths each face's
probabilities over the last `smooth` seconds (the causal version of file mode's centred window:
live, the future is not known). The current verdict is the mean of the main face's smoothed
probabilities over the last `verdict_seconds`. Everything analysed is kept, so the session ends
with the frames table and verdict of file mode (`LiveSession.outcome`).

    for result in watch("0", "pretrained:fer2013-minixception"):
        print(result.time_s, result.verdict["label"])
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vemo.checks import require_number
from vemo.errors import ConfigError, VideoOpenError
from vemo.live.capture import Captured, CaptureThread, NewestFrame, Retries, parse_source
from vemo.models.inputs import crop_to_array
from vemo.prediction.config import PredictConfig
from vemo.prediction.loader import predictor_for
from vemo.prediction.media import VideoPrediction, summarise_scan
from vemo.prediction.predictor import Predictor
from vemo.prediction.runs import FACE_FIELDS, face_row
from vemo.prediction.scan import Scan, one_thread_per_worker
from vemo.prediction.smoothing import TrailingMean
from vemo.weights import face_pipeline

log = logging.getLogger(__name__)

LIVE_AGGREGATION = (
    "mean over the frames with a face of the softmax probabilities (restricted to the reported "
    "classes and renormalised), after a trailing moving average over {smooth} s (live: past frames only)"
)


@dataclass(frozen=True)
class LiveResult:
    """One analysed frame: its time (s since the stream began, or the file's own time), index in
    capture order, faces (track, box, probabilities, smoothed), the current verdict, the latency
    from capture to this result, and the capture counts so far."""

    time_s: float
    frame: int
    faces: list[dict]
    verdict: dict
    latency_ms: float
    captured: int
    dropped: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class LiveStats:
    """What the final summary reports."""

    captured: int = 0
    analysed: int = 0
    dropped: int = 0
    reconnects: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    ended: str = ""
    failure: str | None = None
    started_unix: float | None = None

    @property
    def analysed_fps(self) -> float:
        return self.analysed / self.seconds if self.seconds > 0 else 0.0

    def latency(self, percent: float) -> float:
        return float(np.percentile(self.latencies_ms, percent)) if self.latencies_ms else float("nan")

    def to_json(self) -> dict:
        return {
            "started_unix": self.started_unix,
            "captured": self.captured,
            "analysed": self.analysed,
            "dropped": self.dropped,
            "reconnects": self.reconnects,
            "seconds": round(self.seconds, 3),
            "analysed_fps": round(self.analysed_fps, 2),
            "latency_p50_ms": round(self.latency(50), 1),
            "latency_p95_ms": round(self.latency(95), 1),
            "ended": self.ended or "running",
            "failure": self.failure,
        }


class LiveSession:
    """One live source analysed until it ends, `duration` passes or `stop` is called.

    Iterate over it for the results; then `stats` and `outcome()` (verdict and frames table).
    """

    def __init__(
        self,
        source: str,
        model: str | Path | Predictor,
        config: PredictConfig | None = None,
        *,
        verdict_seconds: float = 3.0,
        realtime: bool = False,
        duration: float | None = None,
        retries: Retries = Retries(),
        **options: Any,
    ) -> None:
        """`config` (or `options`, fields of `PredictConfig` replacing its): the model's loading,
        `smooth` (a trailing window here) and `all_faces`; live analyses every frame it can, so
        `every` stays 1.

        Raises:
            VideoOpenError: not a source.
            ConfigError: `every` other than 1; and the errors of `load_predictor`.
        """
        config = PredictConfig.with_options(config, options)
        if config.every != 1:
            raise ConfigError("live analyses the newest frame whenever it is ready: every must be 1", "every")
        require_number(verdict_seconds, "verdict_seconds", 0.1, 3600)
        require_number(duration, "duration", 0, 10**7, low_open=True)
        self.source = parse_source(source)
        self.config = config
        self.predictor = predictor_for(model, config)
        self.smooth, self.verdict_seconds, self.all_faces, self.duration = config.smooth, verdict_seconds, config.all_faces, duration
        lossless = self.source.kind == "file" and not realtime  # a file not played in real time: every frame
        self.mailbox = NewestFrame(lossless)
        self._capture = CaptureThread(self.source, self.mailbox, realtime, retries)
        self._stop = threading.Event()
        self._stop_reason = ""
        self.stats = LiveStats()
        self.latest: tuple[Captured, LiveResult] | None = None  # for the page: the newest frame and its result
        self._frames: list[tuple[int, float]] = []
        self._faces: list[tuple] = []
        self._probabilities: list[np.ndarray] = []
        self._smoothed: list[np.ndarray] = []

    def stop(self, reason: str = "stopped") -> None:
        """End the session after the frame in analysis (safe from a signal handler or another thread)."""
        self._stop_reason = self._stop_reason or reason
        self._stop.set()

    def __iter__(self) -> Iterator[LiveResult]:
        # one frame at a time on one thread, decoding on the other core: no fight over the cores (fewer drops)
        with one_thread_per_worker(self.predictor.crop_recipe):
            yield from self._results()

    def _results(self) -> Iterator[LiveResult]:
        gray = self.predictor.preprocess.color == "gray"
        pipeline = face_pipeline(self.predictor.crop_recipe, "tracks" if self.all_faces else "largest", self.predictor.device, gray)
        pipeline.reset()
        self._warm_up(pipeline)
        smoothers: dict[int, TrailingMean] = {}
        recent: dict[int, TrailingMean] = {}
        started = time.monotonic()
        self._capture.start()
        try:
            while not self._stop.is_set():
                if self.duration is not None and time.monotonic() - started >= self.duration:
                    self.stop(f"{self.duration:g} s passed")
                    break
                item = self.mailbox.take(0.1)
                if item is None:
                    if self.mailbox.finished:
                        break
                    continue
                result = self._analyse(item, pipeline, smoothers, recent)
                if not self._frames[:-1]:
                    log.info("%s: first frame analysed %.1f s after the start", self.source.text, time.monotonic() - started)
                self.latest = (item, result)
                self._count(started)
                yield result
        finally:
            self.mailbox.close(self._stop_reason or "stopped")
            self._capture.join(timeout=10)
            self._count(started)
            self.stats.ended, self.stats.failure = self.mailbox.ended or "stopped", self.mailbox.failure

    def _warm_up(self, pipeline) -> None:
        """One blank frame and one crop through the detector and the model before capture starts:
        their first calls allocate and compile (oneDNN), which would otherwise drop the first frames."""
        spec = self.predictor.preprocess.spec
        self.predictor.probabilities(np.zeros((1, 1 if spec.color == "gray" else 3, spec.size, spec.size), np.uint8))
        pipeline.faces(np.zeros((360, 640, 3), np.uint8))
        pipeline.reset()

    def _analyse(self, item: Captured, pipeline, smoothers: dict[int, TrailingMean], recent: dict[int, TrailingMean]) -> LiveResult:
        frame = item.frame
        faces = pipeline.faces(frame.image)
        spec = self.predictor.preprocess.spec
        crops = np.stack([crop_to_array(face.crop, spec) for face in faces]) if faces else None
        probabilities = self.predictor.probabilities(crops) if crops is not None else np.zeros((0, 0))
        names = self.predictor.classes
        shown, rows, smoothed_rows = [], [], []
        for face, p in zip(faces, probabilities):
            smoothed = smoothers.setdefault(face.track, TrailingMean(self.smooth)).add(frame.time_s, p)
            recent.setdefault(face.track, TrailingMean(self.verdict_seconds)).add(frame.time_s, smoothed)
            box = face.box
            rows.append(face_row(len(self._frames), face))
            smoothed_rows.append(smoothed)
            shown.append(
                {
                    "track": int(face.track),
                    "box": [int(box.x), int(box.y), int(box.w), int(box.h)],
                    "probabilities": _rounded(names, p),
                    "smoothed": _rounded(names, smoothed),
                }
            )
        # one step, after all the work: a stop in between never leaves a frame half recorded
        self._faces.extend(rows)
        self._probabilities.extend(probabilities)
        self._smoothed.extend(smoothed_rows)
        self._frames.append((frame.index, frame.time_s))
        latency = (time.monotonic() - item.captured_at) * 1000
        self.stats.latencies_ms.append(latency)
        return LiveResult(
            frame.time_s,
            frame.index,
            shown,
            self._verdict(recent, frame.time_s),
            round(latency, 1),
            self.mailbox.captured,
            self.mailbox.dropped,
        )

    def _verdict(self, recent: dict[int, TrailingMean], now_s: float) -> dict:
        """The main face's mean smoothed probabilities over the last `verdict_seconds`."""
        means = {track: window.mean(now_s) for track, window in recent.items()}
        seen = {track: len(recent[track]) for track, mean in means.items() if mean is not None}
        if not seen:
            return {"label": None, "probabilities": {}, "track": None, "seconds": self.verdict_seconds}
        track = max(seen, key=lambda t: (seen[t], -t))
        mean = means[track]
        assert mean is not None  # `seen` holds only tracks with a mean
        names = self.predictor.classes
        return {
            "label": names[int(np.argmax(mean))],
            "probabilities": _rounded(names, mean),
            "track": int(track),
            "seconds": self.verdict_seconds,
        }

    def _count(self, started: float) -> None:
        """The figures so far (saved while the session runs, and at its end)."""
        stats = self.stats
        stats.captured, stats.dropped = self.mailbox.captured, self.mailbox.dropped
        stats.analysed, stats.reconnects = len(self._frames), self._capture.reconnects
        stats.seconds = time.monotonic() - started
        stats.started_unix = self._capture.started_unix

    def scan(self) -> Scan:
        """Everything analysed so far, as file prediction's scan (with the live smoothing). Safe
        while the session runs in another thread: a frame's faces are recorded before the frame,
        so the faces of the first `count` frames are a whole prefix."""
        count = len(self._frames)
        faces = self._faces[:]
        kept = len(faces)
        while kept and faces[kept - 1][0] >= count:
            kept -= 1
        width = len(self.predictor.classes)
        return Scan(
            np.array(self._frames[:count], np.float64).reshape(-1, 2),
            np.array(faces[:kept], np.float64).reshape(-1, len(FACE_FIELDS)),
            np.array(self._probabilities[:kept], np.float64).reshape(-1, width),
            0.0,
            "live",
            np.array(self._smoothed[:kept], np.float64).reshape(-1, width),
        )

    def outcome(self) -> tuple[VideoPrediction, pd.DataFrame]:
        """The verdict and frames table of the session, as file mode writes them."""
        return summarise_scan(self.scan(), self.predictor, self.source.text, self.smooth, 1, LIVE_AGGREGATION, self.config)


def _rounded(classes: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return {c: round(float(v), 4) for c, v in zip(classes, values)}


def watch(source: str, model: str | Path | Predictor, **options) -> Iterator[LiveResult]:
    """The results of a live source as they come (what `vemo live` prints; options: those of
    `LiveSession`).

    Raises:
        VideoOpenError: after the last result, when the source failed (no such camera, a stream
            that did not come back).
    """
    session = LiveSession(source, model, **options)
    yield from session
    if session.stats.failure:
        raise VideoOpenError(session.stats.failure)

"""Frames from a camera, a stream or a file, captured in their own thread as they come.

The capture thread keeps only the newest frame (`NewestFrame`): analysis takes it when it is
ready, so a machine slower than the camera drops frames instead of queueing them, and a result
is never more than one analysis behind the source. A stream that stalls or drops is reopened
with bounded retries and growing waits; an HTTP stream that answers 404 or 410 on reopening has
ended. A file is read at its own frame rate with `realtime` (as a camera would deliver it), else
as fast as analysis takes its frames, every one of them.

OpenCV holds the GIL while it opens a capture, so the other threads pause for that long: the
open timeout is short (5 s) for that reason.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2

from vemo.errors import VideoOpenError
from vemo.io.video import Frame, presentation_time

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://", "srt://")
ENDED_STATUS = (404, 410)  # a stream server answering these on reopening has no more to send


MAX_CAMERA_INDEX = 1023  # OpenCV numbers cameras by backend and index; no machine has more


@dataclass(frozen=True)
class LiveSource:
    """What `SOURCE` names: a camera index, a device path, a stream URL or a video file."""

    text: str
    kind: str  # camera, device, stream or file

    @property
    def target(self) -> int | str:
        return int(self.text) if self.kind == "camera" else self.text

    @property
    def name(self) -> str:
        """A file name for its outputs: camera0, video0, the file's stem, or the URL's host and path."""
        if self.kind == "camera":
            return f"camera{self.text}"
        if self.kind == "file":
            return Path(self.text).stem
        cleaned = "".join(c if c.isalnum() or c in "-." else "_" for c in self.text.split("://", 1)[-1])
        return cleaned.strip("_.")[:80] or "stream"


def parse_source(text: str) -> LiveSource:
    """Raises VideoOpenError: a path that is neither a device nor a file."""
    if text.isascii() and text.isdigit():
        if int(text) > MAX_CAMERA_INDEX:
            raise VideoOpenError(f"camera index {text[:20]} is out of range (0 to {MAX_CAMERA_INDEX})")
        return LiveSource(text, "camera")
    if text.lower().startswith(STREAM_SCHEMES):
        return LiveSource(text, "stream")
    if text.startswith("/dev/"):
        if not Path(text).exists():
            raise VideoOpenError(f"no such camera device: {text}")
        return LiveSource(text, "device")
    if not Path(text).is_file():
        raise VideoOpenError(f"not a camera index, stream URL or video file: {text}")
    return LiveSource(text, "file")


@dataclass(frozen=True)
class Captured:
    """A frame and when it was captured (time.monotonic())."""

    frame: Frame
    captured_at: float


@dataclass(frozen=True)
class Retries:
    """How a dropped stream is reopened: `tries` times, waiting `first_wait` s, then twice as long
    each time up to `longest_wait` s (0.5 + 1 + 2 + 4 + 4 = 11.5 s by default)."""

    tries: int = 5
    first_wait: float = 0.5
    longest_wait: float = 4.0
    open_timeout: float = 5.0

    def waits(self) -> list[float]:
        return [min(self.first_wait * 2**i, self.longest_wait) for i in range(self.tries)]


class NewestFrame:
    """A one-frame mailbox between the capture thread and analysis: `put` replaces a frame not
    yet taken (a dropped frame), or with `lossless` waits until it is taken."""

    def __init__(self, lossless: bool = False) -> None:
        self.lossless = lossless
        self.captured = 0
        self.dropped = 0
        self.newest_index = -1
        self.ended: str | None = None  # why capture ended: a reason, or the error of `failure`
        self.failure: str | None = None
        self._item: Captured | None = None
        self._changed = threading.Condition()

    def put(self, item: Captured) -> bool:
        """False once closed (the capture thread stops)."""
        with self._changed:
            while self.lossless and self._item is not None and self.ended is None:
                self._changed.wait(0.1)
            if self.ended is not None:
                return False
            self.dropped += self._item is not None
            self._item = item
            self.captured += 1
            self.newest_index = item.frame.index
            self._changed.notify_all()
            return True

    def take(self, timeout: float) -> Captured | None:
        """The newest frame, waiting up to `timeout` s; None when there is none (yet, or any more)."""
        with self._changed:
            if self._item is None and self.ended is None:
                self._changed.wait(timeout)
            item, self._item = self._item, None
            self._changed.notify_all()
            return item

    def close(self, reason: str, failure: str | None = None) -> None:
        """End the capture: the first reason given stays."""
        with self._changed:
            if self.ended is None:
                self.ended, self.failure = reason, failure
            self._changed.notify_all()

    @property
    def finished(self) -> bool:
        with self._changed:
            return self.ended is not None and self._item is None


def open_capture(source: LiveSource, open_timeout: float) -> cv2.VideoCapture | None:
    """The opened capture, or None."""
    if source.kind == "camera":
        if sys.platform.startswith("linux") and not Path(f"/dev/video{source.text}").exists():
            return None  # spares the user OpenCV's probing of every backend
        capture = cv2.VideoCapture(source.target)
    else:
        milliseconds = int(open_timeout * 1000)
        capture = cv2.VideoCapture(
            source.text, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, milliseconds, cv2.CAP_PROP_READ_TIMEOUT_MSEC, milliseconds]
        )
    if capture.isOpened():
        return capture
    capture.release()
    return None


def stream_has_ended(url: str, timeout: float = 2.0) -> bool:
    """Whether an HTTP stream's server says the stream is gone (404/410); False when it cannot be
    reached (it may come back) and for other protocols, which cannot tell."""
    if not url.lower().startswith(("http://", "https://")):
        return False
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 (the user's own stream URL)
            return False
    except urllib.error.HTTPError as error:
        return error.code in ENDED_STATUS
    except (OSError, ValueError):
        return False


class CaptureThread(threading.Thread):
    """Reads `source` into `mailbox` until it ends, fails for good, or `mailbox` is closed."""

    def __init__(
        self, source: LiveSource, mailbox: NewestFrame, realtime: bool, retries: Retries, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(name="vemo-capture", daemon=True)
        self.source, self.mailbox, self.realtime, self.retries, self.clock = source, mailbox, realtime, retries, clock
        self.reconnects = 0
        self.started_unix: float | None = None  # the wall-clock time of the first frame (time_s 0 of a stream)
        self._index = 0
        self._started_at: float | None = None

    def run(self) -> None:
        try:
            self._capture()
        except Exception as error:  # noqa: BLE001 (any failure of the thread must reach the user, in one line)
            self.mailbox.close("failed", f"{self.source.text}: capture failed: {error}")

    def _capture(self) -> None:
        capture = open_capture(self.source, self.retries.open_timeout)
        if capture is None and self.source.kind == "stream":
            capture = self._reopen(first=True)
        if capture is None:
            if self.mailbox.ended is None:
                what = {"camera": "no camera", "device": "cannot open camera device"}.get(self.source.kind, "cannot open")
                self.mailbox.close("failed", f"{what} {self.source.text}")
            return
        while capture is not None:
            self._read_all(capture)
            capture.release()
            capture = self._reopen() if self.source.kind in ("stream", "camera", "device") else None
        if self.source.kind == "file":
            self.mailbox.close("the file ended")

    def _read_all(self, capture: cv2.VideoCapture) -> None:
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        while self.mailbox.ended is None:
            ok, image = capture.read()
            if not ok or image is None:
                return
            now = self.clock()
            if self._started_at is None:
                self._started_at, self.started_unix = now, time.time()
            if self.source.kind == "file":
                time_s = presentation_time(capture, self._index, fps)
                if self.realtime:  # deliver it when a camera would have
                    time.sleep(max(0.0, self._started_at + time_s - self.clock()))
                    now = self.clock()
            else:
                time_s = now - self._started_at
            if not self.mailbox.put(Captured(Frame(self._index, round(time_s, 4), image), now)):
                return
            self._index += 1

    def _reopen(self, first: bool = False) -> cv2.VideoCapture | None:
        """A capture again after the stream dropped, or None (the mailbox then says why)."""
        if self.mailbox.ended is not None:
            return None
        if not first and self.source.kind == "stream" and stream_has_ended(self.source.text):
            self.mailbox.close("the stream ended")
            return None
        waits = self.retries.waits()
        for attempt, wait in enumerate(waits, 1):
            log.warning(
                "%s: stream %s; reopening (try %d of %d in %.1f s)",
                self.source.text,
                "not answering" if first else "dropped",
                attempt,
                len(waits),
                wait,
            )
            time.sleep(wait)
            if self.mailbox.ended is not None:
                return None
            capture = open_capture(self.source, self.retries.open_timeout)
            if capture is not None:
                self.reconnects += not first
                return capture
            if not first and self.source.kind == "stream" and stream_has_ended(self.source.text):
                self.mailbox.close("the stream ended")
                return None
        what = "cannot be opened: no stream after" if first else "the stream stopped and did not come back after"
        self.mailbox.close("failed", f"{self.source.text}: {what} {len(waits)} tries over {sum(waits):.1f} s")
        return None

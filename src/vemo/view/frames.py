"""The frames the viewer shows, decoded on the server with OpenCV (every codec vemo reads plays,
the synthetic corpus's MPEG-4 Part 2 included, which browsers do not) and sent as JPEG.

One open capture per input, kept while the page plays it: the next frame is one `read`, a jump
is a seek to it (OpenCV decodes from the key frame before it). A lock per capture, as the
server answers requests from several threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from vemo.errors import VideoOpenError
from vemo.io.media import open_media

OPEN_CAPTURES = 4  # inputs kept open at once (the page shows one; the others are recent ones)
JPEG_QUALITY = 85
MAX_SIDE = 1280  # larger frames are shrunk before encoding: the page shows them at most this wide


class FrameServer:
    """JPEG of frame N of a video (or of the image) at a path the caller has vetted."""

    def __init__(self) -> None:
        self._open: OrderedDict[Path, _Capture] = OrderedDict()
        self._lock = threading.Lock()

    def image(self, path: Path, frame: int) -> np.ndarray:
        """Frame `frame` (BGR, a copy). Raises VideoOpenError: unreadable, or no such frame."""
        return self._capture(path).frame(frame).copy()

    def jpeg(self, path: Path, frame: int) -> bytes:
        """Raises VideoOpenError: the file cannot be read, or has no frame `frame`."""
        image = self._capture(path).frame(frame)
        scale = MAX_SIDE / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise VideoOpenError(f"{path}: frame {frame} could not be encoded")
        return encoded.tobytes()

    def _capture(self, path: Path) -> _Capture:
        with self._lock:
            if path in self._open:
                self._open.move_to_end(path)
                return self._open[path]
            capture = self._open[path] = _Capture(path)
            while len(self._open) > OPEN_CAPTURES:
                self._open.popitem(last=False)[1].close()
            return capture

    def close(self) -> None:
        with self._lock:
            for capture in self._open.values():
                capture.close()
            self._open.clear()


class _Capture:
    """An open video (or a decoded image) that remembers where it is.

    OpenCV's frame seek is exact for most files and not for some (a QuickTime file of
    ../shared/media lands on other frames): on opening, one seek is checked against decoding
    the same frame in order; where it differs, jumps are made by decoding forward (from the
    start for a jump back), exact and slower."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        media = open_media(path)
        self._image = next(media.frames()).image if not media.is_video else None
        self._video: cv2.VideoCapture | None = None
        self._next = 0  # the frame the next read returns
        if media.is_video:
            self._open()
            self.exact_seek = self._seek_is_exact(min(PROBE_FRAME_MAX, max(0, media.info.frame_count * 2 // 3)))

    def _open(self) -> None:
        if self._video is not None:
            self._video.release()
        self._video = cv2.VideoCapture(str(self.path))
        self._next = 0
        if not self._video.isOpened():
            raise VideoOpenError(f"{self.path}: cannot be opened")

    def _seek_is_exact(self, probe: int) -> bool:
        in_order = self._read(probe)
        assert self._video is not None
        self._video.set(cv2.CAP_PROP_POS_FRAMES, probe)
        ok, sought = self._video.read()
        self._open()
        return ok and in_order is not None and np.array_equal(in_order, sought)

    def _read(self, index: int) -> np.ndarray | None:
        """Frame `index` by decoding forward from where the capture is (reopened for a jump back)."""
        if index < self._next:
            self._open()
        assert self._video is not None
        while self._next < index and self._video.grab():
            self._next += 1
        ok, image = self._video.read() if self._next == index else (False, None)
        self._next = index + 1 if ok else 0
        if not ok:
            self._open()
        return image if ok else None

    def frame(self, index: int) -> np.ndarray:
        """Raises VideoOpenError: no frame `index` (an image has frame 0 only; OpenCV would seek
        a negative or huge index to the first frame)."""
        if not 0 <= index <= (0 if self._image is not None else MAX_FRAME_INDEX):
            raise VideoOpenError(f"{self.path}: no frame {str(index)[:24]}")
        if self._image is not None:
            return self._image
        with self._lock:
            if self.exact_seek and not 0 <= index - self._next <= FORWARD_GRAB:
                assert self._video is not None
                self._video.set(cv2.CAP_PROP_POS_FRAMES, index)
                self._next = index
            image = self._read(index)
        if image is None:
            raise VideoOpenError(f"{self.path}: no frame {index}")
        return image

    def close(self) -> None:
        with self._lock:  # not while another request reads from it
            if self._video is not None:
                self._video.release()


PROBE_FRAME_MAX = 600  # a new capture's seek is checked two thirds in, at most this far (a GOP or two in)
FORWARD_GRAB = 8  # a jump this short forward decodes on instead of seeking
MAX_FRAME_INDEX = 2**31 - 1  # OpenCV's frame positions; a later one is past the end of any video

"""What an input file is (video or image, decided by content), its frames, and how to find inputs.

A file's extension is only a hint: a `.mp4` holding text is not a video, and a photo named
`clip.dat` is still a photo. `open_media` is the one frame source of vemo (PySceneDetect's
`open_video` is the model): every stage reads frames through it, never by branching on the
kind of file itself.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import re
import stat
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2

from vemo.errors import VideoOpenError
from vemo.io.video import Frame, FrameBuffer, iter_video_frames, read_image_frame

log = logging.getLogger(__name__)
# OpenCV reads its decoders' pixel limit once, at the first decode: the same limit as ours, for the
# formats whose header Pillow cannot read
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", os.environ.get("VEMO_MAX_IMAGE_PIXELS", "100000000"))

MAX_IMAGE_PIXELS = 100_000_000  # images larger than this are refused from their header (VEMO_MAX_IMAGE_PIXELS raises it)
KINDS = {
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
    stat.S_ISDIR: "a folder",
}

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


@dataclass(frozen=True)
class MediaInfo:
    """What `probe_media` learned about one file."""

    path: Path
    kind: str  # "video" or "image"
    fps: float
    frame_count: int  # as the container reports it (an estimate for some formats); 1 for images
    width: int
    height: int


def probe_media(path: Path | str) -> MediaInfo:
    """Decide whether `path` is an image or a video by reading it.

    Raises:
        VideoOpenError: missing, empty, unreadable, or neither an image nor a video.
    """
    path = Path(path)
    size = regular_file_size(path)
    if size == 0:
        raise VideoOpenError(f"empty file: {path}")
    if cv2.haveImageReader(str(path)):
        width, height = image_size(path)
        return MediaInfo(path, "image", 0.0, 1, width, height)
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok or frame is None:
            raise VideoOpenError(f"not a readable image or video: {path}")
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if not fps or fps != fps or fps > 1000:
        log.warning("%s reports no usable frame rate; assuming 25 fps", path)
        fps = 25.0
    return MediaInfo(path, "video", float(fps), max(count, 1), frame.shape[1], frame.shape[0])


class MediaSource:
    """The frames of one image or video, numbered from 0 and timed by the video's frame rate.

    An image is a one-frame source (frame 0 at time 0). Frame indices always name the same
    picture: ranges are grabbed up to their start, never seeked (see `iter_video_frames`).
    """

    def __init__(self, info: MediaInfo) -> None:
        self.info = info

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def is_video(self) -> bool:
        return self.info.kind == "video"

    def frames(
        self, *, every: int = 1, start: int = 0, stop: int | None = None, into: FrameBuffer | None = None
    ) -> Generator[Frame, None, None]:
        """Every `every`-th frame in [start, stop), counted from frame 0 (`into`: see `iter_video_frames`).

        Raises:
            VideoOpenError: the file cannot be decoded.
        """
        if self.is_video:
            yield from iter_video_frames(self.path, self.fps, every=every, start=start, stop=stop, into=into)
        elif start == 0 and (stop is None or stop > 0):
            yield read_image_frame(self.path)

    def frame(self, index: int) -> Frame | None:
        """One frame, or None past the end."""
        return next(self.frames(start=index, stop=index + 1), None)


def open_media(path: Path | str) -> MediaSource:
    """The frame source of an image or video file, its kind decided by content.

    Raises:
        VideoOpenError: missing, empty, unreadable, or neither an image nor a video.
    """
    return MediaSource(probe_media(path))


def source_name(path: Path | str, digest: str, taken: dict[str, str]) -> str:
    """A readable name for an input that no other input shares: its file stem, plus a hash suffix
    when another file (`taken`: name -> resolved path) has that stem. Extraction's source ids and
    prediction's output names, so two `clip.mp4` of different folders never overwrite each other."""
    path = Path(path)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem) or "source"
    key = str(path.resolve())
    if taken.get(stem, key) == key:
        return stem
    return f"{stem}-{digest[:8]}"


def regular_file_size(path: Path | str) -> int:
    """The size of a regular file (symlinks followed), read before anything opens it: a FIFO,
    a device or a socket would block a reader or never end.

    Raises:
        VideoOpenError: missing, or not a regular file (saying what it is).
    """
    try:
        status = os.stat(path)
    except OSError as error:
        raise VideoOpenError(f"not a file: {path} ({error.strerror or error})") from None
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in KINDS.items() if test(status.st_mode)), "not a regular file")
        raise VideoOpenError(f"not a regular file: {path} is {kind}")
    return status.st_size


def max_image_pixels() -> int:
    """The largest image vemo decodes, in pixels ($VEMO_MAX_IMAGE_PIXELS, default 100 megapixels)."""
    text = os.environ.get("VEMO_MAX_IMAGE_PIXELS", "")
    return int(text) if text.isdigit() and int(text) > 0 else MAX_IMAGE_PIXELS


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of a decodable image, its size first read from the header (Pillow reads it
    without decoding the pixels) and refused above `max_image_pixels`: a 2 MB PNG can claim
    50000 x 50000 pixels, 7.5 GB decoded. Formats Pillow does not know are held to the same
    limit by OpenCV's own.

    Raises:
        VideoOpenError: too large, or not decodable.
    """
    from PIL import Image, UnidentifiedImageError

    limit = max_image_pixels()
    Image.MAX_IMAGE_PIXELS = None  # Pillow's own bomb check would refuse before we read the size; ours follows
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        width = height = 0
    if width * height > limit:
        raise VideoOpenError(
            f"image too large: {path} is {width}x{height} ({width * height / 1e6:.0f} megapixels; "
            f"the limit is {limit / 1e6:.0f}, raise it with VEMO_MAX_IMAGE_PIXELS)"
        )
    try:
        decoded = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error:
        decoded = None
    if decoded is None:
        raise VideoOpenError(f"cannot decode image: {path}")
    return decoded.shape[1], decoded.shape[0]


def content_hash(path: Path | str, chunk: int = 1 << 20) -> str:
    """sha256 of a regular file's bytes, hex: exactly the length it had when stat'ed is read, so
    a file that grows while it is read (or a device) cannot keep the reader going.

    Raises:
        VideoOpenError: not a regular file.
    """
    remaining = regular_file_size(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while remaining > 0 and (block := handle.read(min(chunk, remaining))):
            digest.update(block)
            remaining -= len(block)
    return digest.hexdigest()


def find_inputs(inputs: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Expand files, folders (recursively) and glob patterns into candidate media files.

    A named file is always a candidate. A folder made by `vemo synth` contributes the videos
    its clips.csv lists. Inside other folders, hidden files are skipped, and so are
    files whose extension marks them as neither image nor video (tables, notes) unless their
    content says otherwise; those are returned by name in the second list. A file reached twice
    (by a folder and a glob, or through a symlinked folder) is one candidate.

    Returns:
        (candidates in a stable order without duplicates, names that matched nothing)
    """
    found: dict[Path, None] = {}
    unmatched: list[str] = []
    seen: set[Path] = set()  # by resolved path: a file reached twice (a link, a folder and a glob) counts once

    def add(path: Path) -> None:
        if (resolved := path.resolve()) not in seen:
            seen.add(resolved)
            found[path] = None

    for item in inputs:
        item = str(item)
        paths = expand_pattern(item) if glob.has_magic(item) else [Path(item)]
        if not paths or not any(p.exists() for p in paths):
            unmatched.append(item)
            continue
        for path in paths:
            if path.is_dir() and _is_synth_corpus(path):
                for name in _synth_videos(path):
                    add(path / name)
            elif path.is_dir():
                for child in sorted(path.rglob("*")):
                    hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                    if child.is_file() and not hidden and _looks_like_media(child):
                        add(child)
            elif path.exists():
                add(path)
    return list(found), unmatched


def expand_pattern(pattern: str) -> list[Path]:
    """The paths a glob pattern matches, sorted. `**` never enters a symlinked folder (Python's
    `glob.glob` does, and a link back to a parent made it walk forever), and hidden files and
    folders match only where the pattern names them with a leading dot, as with `glob.glob`."""
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = Path(*parts[:fixed]) if fixed else Path()
    names_hidden = any(part.startswith(".") for part in parts[fixed:])
    return sorted(
        path
        for path in base.glob(str(Path(*parts[fixed:])))
        if names_hidden or not any(part.startswith(".") for part in path.relative_to(base).parts)
    )


def _is_synth_corpus(folder: Path) -> bool:
    return (folder / "corpus.json").is_file() and (folder / "clips.csv").is_file()


def _synth_videos(folder: Path) -> list[str]:
    """The videos a `vemo synth` folder lists in its clips.csv (not its preview image)."""
    import pandas as pd

    return [str(name) for name in pd.read_csv(folder / "clips.csv")["file"]]


def _looks_like_media(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES or suffix in IMAGE_SUFFIXES:
        return True
    if suffix in {".csv", ".json", ".txt", ".md", ".xml", ".yaml", ".yml", ".log", ".py"}:
        return False
    return cv2.haveImageReader(str(path)) or _opens_as_video(path)


def _opens_as_video(path: Path) -> bool:
    capture = cv2.VideoCapture(str(path))
    try:
        return capture.isOpened() and capture.read()[0]
    finally:
        capture.release()

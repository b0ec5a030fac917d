"""An MJPEG stream server of our own on 127.0.0.1 (tests/live/mjpeg_server.py, in a process of
its own), started, stopped and restarted by the tests."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SERVER = Path(__file__).with_name("mjpeg_server.py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stream:
    """One MJPEG stream of `video`, served from a process that the test can stop and restart."""

    video: Path
    options: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> Stream:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), str(self.video), str(self.port), *self.options], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture()
def mjpeg_stream() -> Iterator[Callable[..., Stream]]:
    """`mjpeg_stream(video, *options)`: a started stream (see mjpeg_server.py for the options)."""
    streams: list[Stream] = []

    def start(video: Path, *options: str) -> Stream:
        streams.append(Stream(Path(video), tuple(options)).start())
        return streams[-1]

    yield start
    for stream in streams:
        stream.stop()


@pytest.fixture(scope="session")
def synthetic_clip(tiny_corpus: Path) -> Path:
    """A clip of the tiny synthetic corpus (a face all along), so the stream tests run without ../shared."""
    return sorted((tiny_corpus / "videos").glob("*.mp4"))[0]

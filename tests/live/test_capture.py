"""The capture side of live prediction: sources, the newest-frame mailbox, retries."""

from __future__ import annotations

import threading
import time
import urllib.request

import numpy as np
import pytest

from vemo.errors import VideoOpenError
from vemo.io.video import Frame
from vemo.live.capture import Captured, NewestFrame, Retries, parse_source, stream_has_ended


def captured(index: int) -> Captured:
    return Captured(Frame(index, index / 25, np.zeros((2, 2, 3), np.uint8)), time.monotonic())


def test_sources_are_told_apart(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"x")
    assert parse_source("0").kind == "camera" and parse_source("0").target == 0
    assert parse_source("rtsp://cam.local/live").kind == "stream"
    assert parse_source("HTTP://127.0.0.1:8080/video.mjpg").kind == "stream"
    assert parse_source(str(video)).kind == "file" and parse_source(str(video)).name == "clip"
    assert parse_source("http://127.0.0.1:8080/a/b.mjpg").name == "127.0.0.1_8080_a_b.mjpg"
    with pytest.raises(VideoOpenError, match="not a camera index, stream URL or video file: nowhere.mp4"):
        parse_source("nowhere.mp4")
    with pytest.raises(VideoOpenError, match="no such camera device: /dev/video99"):
        parse_source("/dev/video99")


def test_the_mailbox_keeps_only_the_newest_frame():
    box = NewestFrame()
    for index in range(5):
        assert box.put(captured(index))
    assert box.take(0.01).frame.index == 4
    assert (box.captured, box.dropped) == (5, 4)
    assert box.take(0.01) is None
    box.close("the file ended")
    assert not box.put(captured(5)) and box.finished and box.ended == "the file ended"


def test_a_lossless_mailbox_waits_for_each_frame_to_be_taken():
    box = NewestFrame(lossless=True)
    taken: list[int] = []

    def consume() -> None:
        while len(taken) < 20:
            item = box.take(1.0)
            if item is not None:
                taken.append(item.frame.index)
                time.sleep(0.002)  # slower than the producer

    reader = threading.Thread(target=consume)
    reader.start()
    for index in range(20):
        box.put(captured(index))
    reader.join(5)
    assert taken == list(range(20)) and box.dropped == 0


def test_a_closed_lossless_mailbox_releases_a_waiting_producer():
    box = NewestFrame(lossless=True)
    box.put(captured(0))
    threading.Timer(0.2, box.close, ("stopped",)).start()
    assert box.put(captured(1)) is False  # would wait for ever without the close


def test_retries_wait_longer_each_time_up_to_a_bound():
    assert Retries().waits() == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert Retries(tries=0).waits() == []


def test_a_stream_has_ended_only_when_its_server_says_so(mjpeg_stream, synthetic_clip):
    stream = mjpeg_stream(synthetic_clip, "--fps", "200")
    assert not stream_has_ended(stream.url)  # it plays
    with urllib.request.urlopen(stream.url, timeout=10) as response:  # played to the end
        assert response.read().count(b"Content-Type: image/jpeg") > 10
    assert stream_has_ended(stream.url)  # served once: 410 Gone
    stream.stop()
    assert not stream_has_ended(stream.url)  # nobody answers: it may come back
    assert not stream_has_ended("rtsp://127.0.0.1:1/x")  # other protocols cannot tell

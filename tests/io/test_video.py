"""Decoding: sampling and frame ranges give exactly the frames a plain sequential read gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vemo.io.video import iter_video_frames


def test_ranges_and_steps_match_a_sequential_read(tiny_corpus: Path):
    video = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    everything = list(iter_video_frames(video, 25.0))
    assert [f.index for f in everything] == list(range(len(everything)))
    every_5 = list(iter_video_frames(video, 25.0, every=5))
    assert [f.index for f in every_5] == list(range(0, len(everything), 5))
    assert all(np.array_equal(f.image, everything[f.index].image) for f in every_5)
    middle = list(iter_video_frames(video, 25.0, every=5, start=32, stop=61))
    assert [f.index for f in middle] == [35, 40, 45, 50, 55, 60]
    assert all(np.array_equal(f.image, everything[f.index].image) for f in middle)
    assert middle[0].time_s == 35 / 25.0


def test_a_range_of_a_variable_frame_rate_mov_starts_on_the_right_picture(shared_media: Path):
    """OpenCV's frame seek lands several frames early in this .mov; frame indices must not."""
    video = shared_media / "noface_face.mov"
    every_frame = [frame.image for frame in iter_video_frames(video, 26.5)]
    for start in (60, 85, 120):
        first = next(iter_video_frames(video, 26.5, start=start))
        assert first.index == start
        assert np.array_equal(first.image, every_frame[start])


def test_times_of_a_variable_frame_rate_mov_are_the_containers(shared_media: Path):
    """Its frames are not evenly spaced: `index / fps` would be off by up to a third of a second."""
    video = shared_media / "noface_face.mov"
    frames = list(iter_video_frames(video, 26.5, every=2))
    times = np.array([frame.time_s for frame in frames])
    assert times[0] == 0.0 and np.all(np.diff(times) > 0)
    assert np.abs(times - np.array([frame.index for frame in frames]) / 26.5).max() > 0.1
    assert times[-1] < 169 / 26.5 + 0.1  # within the clip's length


def test_one_decoding_thread_gives_the_pictures_of_ffmpegs_default_threads(shared_media: Path):
    """vemo decodes on one thread (its workers fill the cores); the pictures are the same."""
    import cv2

    for name in ("single_face.mp4", "noface_face.mov"):
        capture = cv2.VideoCapture(str(shared_media / name))
        default = []
        while (read := capture.read())[0]:
            default.append(read[1])
        ours = [frame.image for frame in iter_video_frames(shared_media / name, 30.0)]
        assert len(ours) == len(default) > 0 and all(np.array_equal(a, b) for a, b in zip(ours, default))

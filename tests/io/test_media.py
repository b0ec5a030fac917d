"""Inputs are found in files, folders and globs, and judged by content, not by extension."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from vemo.errors import VideoOpenError
from vemo.io.media import content_hash, find_inputs, probe_media


@pytest.fixture()
def image_file(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.full((40, 50, 3), 120, np.uint8))
    return path


def test_an_image_with_a_strange_extension_is_an_image(tmp_path: Path, image_file: Path):
    renamed = tmp_path / "photo.dat"
    shutil.copy(image_file, renamed)
    info = probe_media(renamed)
    assert (info.kind, info.width, info.height, info.frame_count) == ("image", 50, 40, 1)


def test_a_video_is_a_video(tiny_corpus: Path):
    info = probe_media(next((tiny_corpus / "videos").glob("*.mp4")))
    assert info.kind == "video" and info.fps == 25.0 and (info.width, info.height) == (320, 240)


@pytest.mark.parametrize(("content", "message"), [(b"", "empty file"), (b"not a video at all", "not a readable")])
def test_bad_files_raise_with_their_name(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoOpenError, match=message) as error:
        probe_media(path)
    assert str(path) in str(error.value)


def test_find_inputs_walks_folders_globs_and_skips_tables(tmp_path: Path, image_file: Path):
    (tmp_path / "sub").mkdir()
    shutil.copy(image_file, tmp_path / "sub" / "b.png")
    (tmp_path / "notes.csv").write_text("a,b\n")
    (tmp_path / ".hidden.png").write_bytes(image_file.read_bytes())
    found, unmatched = find_inputs([tmp_path, str(tmp_path / "sub" / "*.png"), tmp_path / "missing.mp4"])
    assert found == [image_file, tmp_path / "sub" / "b.png"]
    assert unmatched == [str(tmp_path / "missing.mp4")]


def test_a_synth_folder_contributes_its_videos_not_its_preview(tiny_corpus: Path):
    found, _ = find_inputs([tiny_corpus])
    assert len(found) == 8 and all(p.suffix == ".mp4" for p in found)


def test_content_hash_changes_with_content(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * 10)
    b.write_bytes(b"x" * 9 + b"y")
    assert content_hash(a) != content_hash(b) and len(content_hash(a)) == 64


def test_open_media_gives_frames_by_content(tmp_path: Path, image_file: Path, tiny_corpus: Path):
    from vemo.io.media import open_media

    renamed = tmp_path / "still.dat"
    shutil.copy(image_file, renamed)
    still = open_media(renamed)
    assert (still.kind, still.is_video) == ("image", False)
    assert [f.index for f in still.frames()] == [0] and still.frame(1) is None
    video = open_media(sorted((tiny_corpus / "videos").glob("*.mp4"))[0])
    every_third = list(video.frames(every=3, start=4, stop=20))
    assert [f.index for f in every_third] == [6, 9, 12, 15, 18]
    assert every_third[0].time_s == pytest.approx(6 / video.fps)
    np.testing.assert_array_equal(video.frame(9).image, every_third[1].image)


def test_a_glob_over_a_symlink_loop_ends_and_finds_each_file_once(tmp_path: Path):
    import os

    from vemo.io.media import expand_pattern, find_inputs

    (tmp_path / "loop" / "a" / "b").mkdir(parents=True)
    image = np.full((32, 32, 3), 128, np.uint8)
    cv2.imwrite(str(tmp_path / "loop" / "a" / "b" / "face.jpg"), image)
    cv2.imwrite(str(tmp_path / "loop" / "a" / ".hidden.jpg"), image)
    for name in ("up", "top"):
        os.symlink("..", tmp_path / "loop" / "a" / "b" / name)  # links back up: a walk that follows them never ends
    os.symlink(str(tmp_path / "loop"), tmp_path / "loop" / "a" / "again")
    found, unmatched = find_inputs([str(tmp_path / "loop" / "**" / "*.jpg")])
    assert found == [tmp_path / "loop" / "a" / "b" / "face.jpg"] and not unmatched
    assert expand_pattern(str(tmp_path / "loop" / "a" / ".*.jpg")) == [tmp_path / "loop" / "a" / ".hidden.jpg"]
    assert find_inputs([str(tmp_path / "loop")])[0] == [tmp_path / "loop" / "a" / "b" / "face.jpg"]

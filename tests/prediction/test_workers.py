"""A long video's runs of frames classified in worker processes: the frames, faces and
probabilities the threads give, and threads wherever processes cannot or should not start."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import sysconfig
import types
from collections import deque
from pathlib import Path

import numpy as np
import pytest

from vemo.io.media import open_media
from vemo.io.video import Frame
from vemo.prediction import scan as scan_module
from vemo.prediction import workers
from vemo.prediction.scan import scan


@pytest.fixture()
def predictor(weights_cache_env):
    from vemo.prediction import load_predictor

    return load_predictor("pretrained:fer2013-minixception", device="cpu")


def scanned(video: Path, predictor, sink=None, all_faces: bool = False):
    return scan(video, predictor, 1, all_faces, 2, 64, sink)


def test_worker_processes_give_the_threads_results(predictor, shared_media: Path, monkeypatch: pytest.MonkeyPatch):
    video = shared_media / "single_face.mp4"
    rings: list[int] = []
    create = workers._Ring.create
    monkeypatch.setattr(workers._Ring, "create", staticmethod(lambda count, shape: rings.append(count) or create(count, shape)))
    monkeypatch.setattr(workers, "PROCESS_MIN_FRAMES", 1)  # a 72-frame clip counts as long
    in_processes = scanned(video, predictor)
    assert rings == [5 * 40]  # two runs of 40 frames per worker and the one being decoded
    monkeypatch.setattr(workers, "PROCESS_MIN_FRAMES", 10**9)
    in_threads = scanned(video, predictor)
    assert len(rings) == 1
    assert len(in_processes.frames) == 72 and len(in_processes.faces) == 72
    for field in ("frames", "faces", "probabilities"):
        assert np.array_equal(getattr(in_processes, field), getattr(in_threads, field), equal_nan=True), field


@pytest.mark.skipif(sys.platform != "linux", reason="the room in /dev/shm is checked on Linux")
def test_threads_where_shared_memory_has_no_room_for_the_ring(predictor, shared_media: Path, monkeypatch: pytest.MonkeyPatch):
    def no_pool(*args, **kwargs):
        raise AssertionError("no worker process may start")

    monkeypatch.setattr(workers, "PROCESS_MIN_FRAMES", 1)
    monkeypatch.setattr(workers.shutil, "disk_usage", lambda path: types.SimpleNamespace(free=64 << 20))  # a container's default
    monkeypatch.setattr(workers, "ProcessPoolExecutor", no_pool)
    assert len(scanned(shared_media / "single_face.mp4", predictor).faces) == 72


def test_a_sink_or_every_face_keeps_threads(predictor, shared_media: Path, monkeypatch: pytest.MonkeyPatch):
    def no_processes(*args, **kwargs):
        raise AssertionError("the frames must reach the sink; tracks must run over the whole video")

    monkeypatch.setattr(workers, "PROCESS_MIN_FRAMES", 1)
    monkeypatch.setattr(scan_module, "process_parts", no_processes)
    received: list[int] = []
    video = shared_media / "single_face.mp4"
    scanned(video, predictor, sink=lambda frames, part: received.extend(frame.index for frame in frames))
    assert received == list(range(72))
    assert len(scanned(video, predictor, all_faces=True).faces) == 72


def test_processes_only_for_long_videos_of_onnx_runtime_networks_on_the_cpu(predictor, shared_media: Path, monkeypatch: pytest.MonkeyPatch):
    video, photo = open_media(shared_media / "single_face.mp4"), open_media(shared_media / "single_face.jpg")
    monkeypatch.setattr(workers, "PROCESS_MIN_FRAMES", 72)
    assert workers.use_processes(video, predictor, 1, 2)
    assert not workers.use_processes(video, predictor, 2, 2)  # 36 frames analysed
    assert not workers.use_processes(video, predictor, 1, 1)
    assert not workers.use_processes(photo, predictor, 1, 2)
    mtcnn = dataclasses.replace(predictor, crop_recipe=predictor.crop_recipe.with_detector("mtcnn"))
    assert not workers.use_processes(video, mtcnn, 1, 2)
    from vemo.prediction import load_predictor

    assert not workers.use_processes(video, load_predictor("pretrained:fer2013-minixception", device="cpu", runtime="torch"), 1, 2)
    monkeypatch.setattr(workers, "spawning_runs_no_script", lambda: False)
    assert not workers.use_processes(video, predictor, 1, 2)


@pytest.mark.parametrize(
    ("spec", "file", "safe"),
    [
        ("vemo.__main__", None, True),  # python -m vemo
        ("pytest.__main__", None, True),
        ("mytool", "/home/someone/mytool.py", False),  # python -m mytool: its body runs again
        (None, str(Path(sysconfig.get_path("scripts")) / "vemo"), True),  # the vemo command
        (None, "/home/someone/analyse.py", False),  # a script of the user's own
        (None, None, True),  # python -c, an interactive session, a notebook
    ],
)
def test_processes_never_run_a_script_of_the_users_again(spec, file, safe, monkeypatch: pytest.MonkeyPatch):
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name=spec) if spec else None
    if file:
        main.__file__ = file
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert workers.spawning_runs_no_script() is safe


def test_a_frame_of_another_size_travels_with_its_run():
    ring = workers._Ring.create(4, (8, 8, 3))
    assert ring is not None
    try:
        images = [np.full((8, 8, 3), 1, np.uint8), np.full((6, 10, 3), 2, np.uint8), np.full((8, 8, 3), 3, np.uint8)]
        free = deque(range(4))
        task = workers._next_task(iter([Frame(i, i / 10, image) for i, image in enumerate(images)]), ring, free, 3)
        assert task is not None
        where, indices, times = task
        assert where[0] == 0 and where[2] == 1 and where[1] is images[1]  # the odd frame goes as it is, the others in slots
        assert (ring.slots[0] == 1).all() and (ring.slots[1] == 3).all()
        assert indices == [0, 1, 2] and times == [0.0, 0.1, 0.2] and list(free) == [2, 3]
    finally:
        ring.close()
        ring.memory.unlink()


def test_a_worker_starts_without_pandas_or_torch(predictor, tmp_path: Path):
    """Each worker imports what it needs again; the tables and torch would cost it ~0.3 s more."""
    setup = tmp_path / "predictor.pickle"
    setup.write_bytes(pickle.dumps(predictor))
    child = (
        "import pickle, sys\n"
        "from vemo.prediction import workers\n"
        f"predictor = pickle.loads(open({str(setup)!r}, 'rb').read())\n"
        "ring = workers._Ring.create(1, (8, 8, 3))\n"
        "workers._start_worker(predictor, True, ring.memory.name, ring.slots.shape)\n"
        "print(sorted({'pandas', 'torch', 'torchvision'} & set(sys.modules)))\n"
        "ring.memory.unlink()\n"
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

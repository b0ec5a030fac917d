"""Faults of the machine, made real: a disk that fills up (a small tmpfs), a read-only folder (a
read-only bind mount: chmod does not stop root, and CI runs as root) and a corrupted weights cache.
Each gets one line and a non-zero exit, and the same command finishes once the fault is gone, with
the outputs of a run that never met it.

The mounts are made in a mount namespace of the test's own (`unshare -m`), so nothing outlives
the test; where one cannot be made (no root, no unshare) the test skips and says why.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # mount namespaces, whole commands twice

VEMO = f"{sys.executable} -m vemo -q"
TIMING = ["seconds", "frames_per_second"]


def _namespace_or_skip(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("no unshare command: cannot make a private mount namespace")
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {probe}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount in a private namespace here (needs root): {done.stderr.strip()}")


def _in_namespace(script: str) -> None:
    subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], check=True, timeout=600)


def _outcome(tmp_path: Path, attempt: int) -> tuple[int, str]:
    return int((tmp_path / f"rc{attempt}").read_text()), (tmp_path / f"err{attempt}").read_text()


def _assert_one_line(code: int, errors: str, *words: str) -> None:
    assert code != 0, "the fault went unnoticed"
    assert "Traceback" not in errors, errors[-2000:]
    failures = [line for line in errors.splitlines() if line.startswith(("failed: ", "vemo: error:"))]
    assert failures and any(word in errors.lower() for word in words), errors[-2000:]


def _extraction(workspace: Path) -> dict[str, str]:
    table = pd.read_csv(workspace / "faces.csv").drop(columns=TIMING, errors="ignore")
    found = {"faces.csv": table.to_csv(index=False)}
    for crop in sorted(workspace.glob("faces/*/*.png")):
        found[str(crop.relative_to(workspace))] = hashlib.sha256(crop.read_bytes()).hexdigest()
    assert not list(workspace.rglob("*vemo-tmp*")), "temporary files left"
    return found


@pytest.fixture(scope="module")
def reference_extraction(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    workspace = tmp_path_factory.mktemp("fault-reference") / "ws"
    subprocess.run(f"{VEMO} extract {tiny_corpus}/videos --out {workspace} --every 3", shell=True, check=True)
    return _extraction(workspace)


def test_a_full_disk_stops_extraction_with_one_line_and_the_rerun_finishes(tiny_corpus: Path, tmp_path: Path, reference_extraction, record):
    _namespace_or_skip(tmp_path)
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    disk.mkdir()
    command = f"{VEMO} extract {tiny_corpus}/videos --out {disk}/ws --every 3"
    _in_namespace(
        f"mount -t tmpfs -o size=4m tmpfs {disk}; {command} 2>{tmp_path}/err1; echo $? >{tmp_path}/rc1; "
        f"mount -o remount,size=200m {disk}; {command} 2>{tmp_path}/err2; echo $? >{tmp_path}/rc2; "
        f"cp -a {disk}/ws {kept}"
    )
    _assert_one_line(*_outcome(tmp_path, 1), "no space")
    assert _outcome(tmp_path, 2)[0] == 0, _outcome(tmp_path, 2)[1][-2000:]
    assert _extraction(kept) == reference_extraction
    record("fault: disk full", 1, 1)


def test_a_read_only_folder_stops_extraction_with_one_line_and_the_rerun_finishes(
    tiny_corpus: Path, tmp_path: Path, reference_extraction, record
):
    _namespace_or_skip(tmp_path)
    workspace = tmp_path / "ws"
    (workspace / "faces").mkdir(parents=True)
    command = f"{VEMO} extract {tiny_corpus}/videos --out {workspace} --every 3"
    _in_namespace(
        f"mount --bind {workspace}/faces {workspace}/faces; "
        f"mount -o remount,bind,ro {workspace}/faces; {command} 2>{tmp_path}/err1; echo $? >{tmp_path}/rc1; "
        f"umount {workspace}/faces; {command} 2>{tmp_path}/err2; echo $? >{tmp_path}/rc2"
    )
    _assert_one_line(*_outcome(tmp_path, 1), "read-only", "permission")
    assert _outcome(tmp_path, 2)[0] == 0, _outcome(tmp_path, 2)[1][-2000:]
    assert _extraction(workspace) == reference_extraction
    record("fault: read-only folder", 1, 1)


def test_a_corrupted_weights_cache_is_refused_in_one_line_and_a_fetch_repairs_it(
    local_weights_entry, tmp_path: Path, split_tiny_workspace: Path, record
):
    cache, _, _ = local_weights_entry
    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path / "ws"))
    subprocess.run(f"{VEMO} weights fetch mine --cache-dir {cache}", shell=True, check=True)
    cached = next(path for path in cache.rglob("*.safetensors"))
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cached.write_bytes(bytes(data))
    train = [*VEMO.split(), "train", str(workspace), "--model", "minixception", "--weights", "mine", "--epochs", "1", "--name", "w"]
    environment = {"VEMO_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"}
    refused = subprocess.run(train, capture_output=True, text=True, env=environment)
    _assert_one_line(refused.returncode, refused.stderr, "mine")
    assert [line for line in refused.stderr.splitlines() if not line.startswith("WARNING")] == [
        line for line in refused.stderr.splitlines() if line.startswith("vemo: error:")
    ], refused.stderr
    subprocess.run(f"{VEMO} weights fetch mine --force --cache-dir {cache}", shell=True, check=True)
    again = subprocess.run(train, capture_output=True, text=True, env=environment)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (workspace / "runs" / "w" / "model.safetensors").exists()
    record("fault: corrupted weights cache", 1, 1)


def test_an_annotated_video_on_a_full_disk_is_never_left_truncated(trained_run: Path, shared_media: Path, tmp_path: Path, record):
    """OpenCV's video writer fails silently on a full disk: the video is checked before it gets its
    name, the message names it, and no undecodable .annotated.mp4 is left behind."""
    _namespace_or_skip(tmp_path)
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    disk.mkdir()
    command = f"{VEMO} predict {shared_media}/single_face.mp4 --model {trained_run} --out {disk}/out --annotate"
    # 1 MB with 100 KB free: the tables fit, the annotated video (about 700 KB) does not
    _in_namespace(
        f"mount -t tmpfs -o size=1m tmpfs {disk}; head -c 900000 /dev/zero >{disk}/filler; "
        f"{command} 2>{tmp_path}/err1; echo $? >{tmp_path}/rc1; cp -a {disk}/out {kept} 2>/dev/null; true"
    )
    code, errors = _outcome(tmp_path, 1)
    _assert_one_line(code, errors, "no space", "disk is full", "incomplete")
    assert "single_face.annotated.mp4" in errors or "single_face" in errors, errors
    assert not list(kept.glob("*.annotated.mp4")), "a truncated video under its final name"
    assert not list(kept.rglob("*vemo-tmp*")), "temporary files left"
    record("fault: disk full while annotating", 1, 1)


def test_the_labelling_page_refuses_a_read_only_workspace_and_a_taken_port_before_its_link(
    split_tiny_workspace: Path, tmp_path: Path, record
):
    import socket

    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path / "ws"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*VEMO.split(), "label", "serve", str(workspace), "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1 and "token=" not in done.stdout
    assert done.stderr.strip() == f"vemo: error: --port {port} on 127.0.0.1 is already in use: choose another (0: any free one)"
    _namespace_or_skip(tmp_path)
    command = f"{VEMO} label serve {workspace} --port 0"
    _in_namespace(
        f"mount --bind {workspace} {workspace}; mount -o remount,bind,ro {workspace}; "
        f"timeout 60 {command} >{tmp_path}/out1 2>{tmp_path}/err1; echo $? >{tmp_path}/rc1"
    )
    code, errors = _outcome(tmp_path, 1)
    _assert_one_line(code, errors, "read-only")
    assert "token=" not in (tmp_path / "out1").read_text()
    record("fault: page on a read-only workspace or a taken port", 2, 2)

"""`--engine ray`: the same outputs as the local engine, a worker killed mid-job retried, the
driver killed and the command run again without redoing finished units, units on two nodes,
and the one-line error without Ray. Every Ray process runs in a private network namespace."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # private Ray clusters

VEMO = [sys.executable, "-m", "vemo", "-q"]
TIMING = ["seconds", "train_seconds", "frames_per_second", "reused", "run"]


def _tables_and_files(root: Path, tables: list[str], files: str) -> dict[str, str]:
    """Tables without their timing columns, and files by content, as one comparable dict."""
    found = {}
    for name in tables:
        table = pd.read_csv(root / name)
        found[name] = table.drop(columns=[c for c in TIMING if c in table.columns]).to_csv(index=False)
    for path in sorted(root.glob(files)):
        if path.name == "predict.json":  # the folder's config names the engine it ran on: compared by `same_record`
            continue
        found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    assert not list(root.rglob("*vemo-tmp*")), "temporary files left"
    return found


def same_record(remote: Path, local: Path) -> bool:
    """The two folders' predict.json say the same but for the engine."""
    recorded = [json.loads((folder / "predict.json").read_text()) for folder in (remote, local)]
    for record in recorded:
        record["config"].pop("engine")
    return recorded[0] == recorded[1]


def _on_ray(
    private_ray, arguments: list[str], tmp_path: Path, kill_once: bool = False, kill_point: str = "unit"
) -> subprocess.CompletedProcess:
    sentinel = tmp_path / "killed-once"
    hook = {"VEMO_TEST_KILL_ONCE": str(sentinel), "VEMO_TEST_KILL_POINT": kill_point} if kill_once else {}
    environment = {**os.environ, **hook}
    done = private_ray.run(
        [*VEMO, *arguments, "--engine", "ray", "--address", private_ray.address],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sentinel.exists() == kill_once, "the test hook did not kill a worker"
    return done


@pytest.mark.ray
def test_extraction_on_ray_with_a_worker_killed_equals_the_local_run(
    private_ray, tiny_corpus: Path, tiny_extracted_every_3rd: Path, tmp_path: Path
):
    remote = tmp_path / "ray"
    _on_ray(private_ray, ["extract", str(tiny_corpus / "videos"), "--out", str(remote), "--every", "3"], tmp_path, kill_once=True)
    assert _tables_and_files(remote, ["faces.csv"], "faces/*/*.png") == _tables_and_files(
        tiny_extracted_every_3rd, ["faces.csv"], "faces/*/*.png"
    )  # the local run's


@pytest.mark.ray
def test_prediction_on_ray_actors_with_one_killed_equals_the_local_run(private_ray, tiny_corpus: Path, trained_run: Path, tmp_path: Path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    arguments = ["predict", str(tiny_corpus / "videos"), "--model", str(trained_run), "--every", "3"]
    subprocess.run([*VEMO, *arguments, "--out", str(local)], check=True, capture_output=True)
    _on_ray(private_ray, [*arguments, "--out", str(remote)], tmp_path, kill_once=True)
    tables = ["predictions.csv", *[p.name for p in local.glob("*.frames.csv")]]
    assert _tables_and_files(remote, tables, "*.json") == _tables_and_files(local, tables, "*.json")
    assert same_record(remote, local)


@pytest.mark.ray
def test_the_grid_on_ray_with_a_run_killed_mid_epoch_equals_the_local_grid(private_ray, split_tiny_workspace: Path, tmp_path: Path):
    """One run's worker dies in the middle of its second epoch; Ray runs the unit again, which
    resumes from the first epoch's checkpoint. Local runs two at a time (one torch thread each,
    as a Ray task of one CPU has): the same metrics and weights."""
    local = Path(shutil.copytree(split_tiny_workspace, tmp_path / "local"))
    remote = Path(shutil.copytree(split_tiny_workspace, tmp_path / "ray"))
    grid = ["--epochs", "2", "--models", "lenet", "--no-baseline"]
    subprocess.run(
        [*VEMO, "experiment", "paper", str(local), "--out", str(local / "report"), *grid, "--workers", "2"], check=True, capture_output=True
    )
    _on_ray(
        private_ray,
        ["experiment", "paper", str(remote), "--out", str(remote / "report"), *grid],
        tmp_path,
        kill_once=True,
        kill_point="mid-epoch",
    )
    assert _tables_and_files(remote, ["report/results.csv"], "runs/exp-*/model.safetensors") == _tables_and_files(
        local, ["report/results.csv"], "runs/exp-*/model.safetensors"
    )


@pytest.mark.ray
def test_a_killed_driver_reruns_without_redoing_finished_sources(private_ray, tiny_corpus: Path, tmp_path: Path):
    workspace = tmp_path / "ws"
    command = [
        *VEMO,
        "extract",
        str(tiny_corpus / "videos"),
        "--out",
        str(workspace),
        "--every",
        "2",
        "--engine",
        "ray",
        "--address",
        private_ray.address,
        "--workers",
        "1",
    ]
    driver = private_ray.popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    markers = workspace / ".extract-state"
    deadline = time.time() + 300
    while len(list(markers.glob("*.json"))) < 2 and time.time() < deadline and driver.poll() is None:
        time.sleep(0.1)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    finished = {path.name: path.stat().st_mtime_ns for path in markers.glob("c*.json")}
    assert 2 <= len(finished) < 8, finished
    again = private_ray.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {name: (markers / name).stat().st_mtime_ns for name in finished} == finished, "finished sources redone"
    assert len(pd.read_csv(workspace / "sources.csv")) == 8
    assert not list(workspace.rglob("*vemo-tmp*"))


@pytest.mark.ray
def test_the_default_private_ray_extracts_and_predicts_as_the_local_engine(
    private_network, tiny_corpus: Path, tiny_extracted_every_3rd: Path, trained_run: Path, tmp_path: Path
):
    """`--engine ray` with no `--address`, as the help promises, starts a Ray of its own (from the
    command's main thread) and gives the local engine's faces and verdicts; the token Ray writes
    in a fresh home is the user's alone."""
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'vemo[ray]'")
    home = tmp_path / "home"
    home.mkdir()
    environment = {**os.environ, "HOME": str(home)}
    environment.pop("RAY_ADDRESS", None)
    extracted, local, remote = tmp_path / "ws", tmp_path / "local", tmp_path / "ray"
    predict = ["predict", str(tiny_corpus / "videos"), "--model", str(trained_run), "--every", "3"]
    subprocess.run([*VEMO, *predict, "--out", str(local)], check=True, capture_output=True)
    for arguments in (["extract", str(tiny_corpus / "videos"), "--out", str(extracted), "--every", "3"], [*predict, "--out", str(remote)]):
        done = private_network.run(
            [*VEMO, *arguments, "--engine", "ray", "--workers", "2"], capture_output=True, text=True, env=environment, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert _tables_and_files(extracted, ["faces.csv"], "faces/*/*.png") == _tables_and_files(
        tiny_extracted_every_3rd, ["faces.csv"], "faces/*/*.png"
    )
    tables = ["predictions.csv", *[p.name for p in local.glob("*.frames.csv")]]
    assert _tables_and_files(remote, tables, "*.json") == _tables_and_files(local, tables, "*.json")
    assert same_record(remote, local)
    token = home / ".ray" / "auth_token"
    if token.exists():  # Ray of 2.59 and later turns token authentication on for a new local Ray
        assert token.stat().st_mode & 0o077 == 0, oct(token.stat().st_mode)
        assert (home / ".ray").stat().st_mode & 0o077 == 0


TWO_NODES = textwrap.dedent("""
    import json, sys, threading, time
    import ray
    from ray.cluster_utils import Cluster
    from vemo.engine import EngineSettings
    from vemo.engine import ray_engine
    from vemo.extraction import extract
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                                            "object_store_memory": 100 * 2**20})
    worker = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=100 * 2**20)
    cluster.wait_for_nodes()
    removed = []

    def remove_the_worker_node_mid_run():
        while len(ray_engine.units_per_node) < 2 and sum(ray_engine.units_per_node.values()) < 20:
            time.sleep(0.05)
        cluster.remove_node(worker)
        removed.append(sum(ray_engine.units_per_node.values()))

    watcher = threading.Thread(target=remove_the_worker_node_mid_run, daemon=True)
    watcher.start()
    result = extract([sys.argv[1]], sys.argv[2], workers=2, engine=EngineSettings("ray", address=cluster.address))
    print(json.dumps({"nodes": len(ray_engine.units_per_node), "faces": result.faces, "failed": len(result.failures),
                      "removed_after_units": removed}))
    ray.shutdown()
    cluster.shutdown()
""")


@pytest.mark.ray
def test_units_run_on_both_nodes_and_a_node_lost_mid_run_is_survived(
    private_network, tiny_corpus: Path, tiny_workspace: Path, tmp_path: Path
):
    """Each node has one CPU and two units run at once, so both nodes get units; removing one
    while units run there makes Ray run them again on the other. (The node is removed only once
    both have run units, so this also shows the units spread over both.)"""
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'vemo[ray]'")
    done = private_network.run(
        [sys.executable, "-c", TWO_NODES, str(tiny_corpus / "videos"), str(tmp_path / "ws")], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["nodes"] == 2 and answer["failed"] == 0
    assert answer["faces"] == len(pd.read_csv(tiny_workspace / "faces.csv"))  # the local run's
    assert answer["removed_after_units"], "the worker node was never removed"


def test_engine_ray_without_ray_installed_says_how_to_get_it(tmp_path: Path):
    hidden = tmp_path / "no-ray"
    hidden.mkdir()
    (hidden / "ray.py").write_text("raise ImportError('No module named ray')\n")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [*VEMO, "extract", str(tmp_path), "--out", str(tmp_path / "ws"), "--engine", "ray"], capture_output=True, text=True, env=environment
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "vemo: error: --engine ray needs: pip install 'vemo[ray]'"

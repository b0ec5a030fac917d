"""Ray's overhead: extraction and prediction frames/s with the local engine and with Ray, on the
same cores, in one run; and on a two-node Ray cluster on this machine (two nodes of one CPU each).

Usage: python benchmarks/engine.py [--clips 16]

It renders a synthetic corpus (`vemo synth`, --clips clips of 4 subjects), trains a LeNet one
epoch, then times, each on a fresh output folder and in this process:
  - `extract` with the local engine (2 processes) / a private local Ray of 2 CPUs / two nodes;
  - `predict` the same way (local: threads; Ray: 2 actors, the model loaded once each).
Ray is started before the clock starts (its own start, ~3 s, is not extraction), but the first
task of each Ray job still starts its worker processes, which import torch: that is counted.
Runs as root in a private network namespace (re-executes itself under `unshare -n`), so Ray
listens on loopback only. Needs `pip install 'vemo[ray]'`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

NAMESPACE_FLAG = "VEMO_BENCH_PRIVATE_NETWORK"


def _in_private_network() -> None:
    if os.environ.get(NAMESPACE_FLAG) != "1":
        os.environ[NAMESPACE_FLAG] = "1"
        os.execvp("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", sys.executable,
                              *sys.argv])


def _timed(job) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def _measure(corpus: Path, run: Path, folder: Path, label: str, engine) -> dict:
    from vemo.engine import use_engine
    from vemo.extraction import extract
    from vemo.prediction import predict_to_folder

    videos = sorted((corpus / "videos").glob("*.mp4"))
    with use_engine(engine):
        extraction = _timed(lambda: extract(videos, folder / f"ws-{label}", workers=2))
        prediction = _timed(lambda: predict_to_folder(videos, run, folder / f"out-{label}"))
    frames = int(pd.read_csv(folder / f"ws-{label}" / "sources.csv")["frames_read"].sum())
    return {"engine": label, "frames": frames, "extract_s": extraction, "extract_fps": frames / extraction,
            "predict_s": prediction, "predict_fps": frames / prediction}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16)
    args = parser.parse_args()
    _in_private_network()
    import ray
    from ray.cluster_utils import Cluster

    from vemo.engine import EngineSettings

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        vemo = [sys.executable, "-m", "vemo", "-q"]
        subprocess.run([*vemo, "synth", str(folder / "corpus"), "--preset", "tiny", "--clips", str(args.clips)],
                       check=True)
        ws = folder / "train-ws"
        for step in (["extract", str(folder / "corpus" / "videos"), "--out", str(ws), "--every", "3"],
                     ["label", "apply", str(ws), "--from-clips"], ["split", str(ws), "--by", "clip"],
                     ["train", str(ws), "--model", "lenet", "--epochs", "1", "--name", "m"]):
            subprocess.run([*vemo, *step], check=True, capture_output=True)
        run = ws / "runs" / "m"
        rows = [_measure(folder / "corpus", run, folder, "local", EngineSettings("local"))]
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 2**20, logging_level="WARNING")
        rows.append(_measure(folder / "corpus", run, folder, "ray", EngineSettings("ray")))
        ray.shutdown()
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 128 * 2**20})
        cluster.add_node(num_cpus=1, object_store_memory=128 * 2**20)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level="WARNING")
        rows.append(_measure(folder / "corpus", run, folder, "ray, 2 nodes", EngineSettings("ray", cluster.address)))
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(folder / "corpus", ignore_errors=True)
    table = pd.DataFrame(rows)
    local = table.iloc[0]
    table["extract_vs_local"] = table["extract_fps"] / local["extract_fps"]
    table["predict_vs_local"] = table["predict_fps"] / local["predict_fps"]
    print(f"\n{args.clips} synthetic clips (320x240, 25 fps), {int(local['frames'])} frames, 2 cores:")
    print(table.round(2).to_string(index=False))


if __name__ == "__main__":
    main()

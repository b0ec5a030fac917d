"""Live prediction on a 30-fps 640x360 stream: sustained analysed fps against the stream's own fps,
dropped frames, and the latency from capture to result (p50/p95), with Haar and with MTCNN.

Usage: python benchmarks/live.py [--seconds 20] [--video PATH]

The stream is an MJPEG stream over HTTP on 127.0.0.1, served by tests/live/mjpeg_server.py in
a process of its own (as an IP camera would serve it) from ../shared/media/single_face.mp4 (a
real face, 640x360 at 30 fps; else a synthetic clip scaled to 640x360 and played at 30 fps), in a
loop for --seconds. Each case runs `vemo predict --live URL -o DIR` as a user would, whole
process; the figures come from its own outputs: <name>.live.json (captured, dropped, latency)
and <name>.frames.csv (the times of the analysed frames: sustained fps over the steady state, the
first second left out). Also a file played with --realtime (no HTTP, no JPEG decoding).
The model is the FER2013 mini-Xception (`vemo weights fetch fer2013-minixception`).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "live" / "mjpeg_server.py"
SHARED_VIDEO = ROOT.parent / "shared" / "media" / "single_face.mp4"
MODEL = "pretrained:fer2013-minixception"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _synthetic_video(folder: Path) -> Path:
    from vemo.synth import generate_corpus, plan_corpus

    generate_corpus(plan_corpus("tiny", seed=3), folder / "corpus")
    return sorted((folder / "corpus" / "videos").glob("*.mp4"))[0]


def _live_case(label: str, source: str, options: list[str], out: Path, stream: list[str] | None) -> dict:
    server = None
    if stream is not None:
        server = subprocess.Popen([sys.executable, str(SERVER), *stream], stdout=subprocess.PIPE, text=True)
        assert server.stdout.readline().strip() == "ready"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vemo", "-q", "predict", "--live", source, "-m", MODEL, "-o", str(out), *options],
            capture_output=True,
            text=True,
        )
    finally:
        if server is not None:
            server.kill()
            server.wait()
    if done.returncode != 0:
        raise SystemExit(f"{label}: vemo failed: {done.stderr.strip()}")
    figures = json.loads(next(out.glob("*.live.json")).read_text())
    times = pd.read_csv(next(out.glob("*.frames.csv")))["time_s"].to_numpy()
    steady = times[times >= times[0] + 1.0]
    sustained = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else float("nan")
    return {
        "case": label,
        "captured": figures["captured"],
        "analysed": figures["analysed"],
        "dropped": figures["dropped"],
        "analysed_fps": round(sustained, 1),
        "p50_ms": figures["latency_p50_ms"],
        "p95_ms": figures["latency_p95_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--video", type=Path, default=None)
    options = parser.parse_args()
    subprocess.run([sys.executable, "-m", "vemo", "-q", "weights", "fetch", "fer2013-minixception", "mtcnn-facenet"], check=True)
    with tempfile.TemporaryDirectory(prefix="vemo-live-bench-") as folder:
        folder = Path(folder)
        video = options.video or (SHARED_VIDEO if SHARED_VIDEO.is_file() else _synthetic_video(folder))
        rows = []
        for detector in ("haar", "mtcnn"):
            port = _free_port()
            stream = [str(video), str(port), "--loop", str(options.seconds), "--size", "640x360", "--fps", "30"]
            rows.append(
                _live_case(
                    f"{detector}, MJPEG stream",
                    f"http://127.0.0.1:{port}/stream.mjpg",
                    ["--detector", detector],
                    folder / f"{detector}-stream",
                    stream,
                )
            )
        rows.append(_live_case("haar, file --realtime", str(video), ["--realtime"], folder / "haar-file", None))
    table = pd.DataFrame(rows)
    table["source_fps"] = 30.0
    table["analysed/source"] = (table["analysed_fps"] / table["source_fps"]).round(2)
    print(f"live prediction of {video.name} (640x360, 30 fps), {MODEL}, on this machine:")
    print(table.to_string(index=False))
    print("(the --realtime case plays the file once, at its own frame rate; latency: capture to result)")


if __name__ == "__main__":
    main()

"""`vemo view` measured: how long a jump to any frame takes, against decoding alone, and how long
the page takes to open a folder of 1,000 inputs, in one run on this machine.

Usage: python benchmarks/view.py [--inputs 1000] [--jumps 60]

1. A 20-s clip (../shared/media/single_face.mp4 looped to 600 frames, 30 fps, 640x360) and a
   synthetic corpus clip (MPEG-4 Part 2): the page's frame request (`/api/inputs/N/frame/F.jpg`,
   through the app, decoding and JPEG included) for random frames, median and worst, beside
   OpenCV decoding the same clip in order (ms a frame).
2. A predictions folder of that clip copied to 100 inputs: `vemo report`'s size and time; then to
   `--inputs` inputs: the server's table answer, and Debian's Chromium from the link to the table
   drawn and the first input's first frame shown.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict import CLIP, looped  # noqa: E402

from vemo.io.local_page import TOKEN_COOKIE  # noqa: E402
from vemo.view.app import create_view_app  # noqa: E402
from vemo.view.folder import PredictionsFolder  # noqa: E402


def decode_ms(video: Path) -> float:
    capture, count, started = cv2.VideoCapture(str(video)), 0, time.perf_counter()
    while capture.read()[0]:
        count += 1
    return 1000 * (time.perf_counter() - started) / count


def predicted(videos: list[Path], out: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "vemo", "-q", "predict", "--model", "pretrained:fer2013-minixception", *map(str, videos), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"vemo predict failed: {done.stderr[-300:]}")
    return out


def jump_rows(out: Path, videos: list[Path], jumps: int) -> None:
    app = create_view_app(PredictionsFolder(out))
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    print(f"{'clip':<28} {'frames':>6} {'decode ms/frame':>15} {'jump median ms':>14} {'jump worst ms':>13}")
    for number, video in enumerate(videos):
        frames = client.get(f"/api/inputs/{number}").json()["timeline"]["frame"]
        client.get(f"/api/inputs/{number}/frame/0.jpg")  # opened (and its seek checked) once, as the page does
        times = []
        for frame in random.Random(0).choices(frames, k=jumps):
            started = time.perf_counter()
            assert client.get(f"/api/inputs/{number}/frame/{frame}.jpg").status_code == 200
            times.append(1000 * (time.perf_counter() - started))
        print(f"{video.name:<28} {len(frames):>6} {decode_ms(video):>15.2f} {np.median(times):>14.1f} {max(times):>13.1f}")


def many_inputs(out: Path, count: int) -> Path:
    """The first input of `out` as `count` inputs (their outputs copied under new names)."""
    table = pd.read_csv(out / "predictions.csv").iloc[:1]
    name = table["name"].iloc[0]
    rows = []
    for number in range(count):
        new = f"{name}-{number:04d}"
        for suffix in (".json", ".frames.csv"):
            shutil.copyfile(out / f"{name}{suffix}", out / f"{new}{suffix}")
        state = out / ".predict-state"
        shutil.copyfile(state / f"{name}.json", state / f"{new}.json")
        rows.append({**table.iloc[0].to_dict(), "name": new})
    pd.DataFrame(rows).to_csv(out / "predictions.csv", index=False)
    return out


def report_row(out: Path, target: Path) -> None:
    from vemo.view.report import write_report

    started = time.perf_counter()
    size = write_report(PredictionsFolder(out), target)
    print(
        f"\nvemo report of 100 inputs (the 20-s clip, 4 frames each): {size / 2**20:.1f} MB, written in "
        f"{time.perf_counter() - started:.1f} s"
    )


def open_rows(out: Path, count: int) -> None:
    started = time.perf_counter()
    app = create_view_app(PredictionsFolder(out))
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    assert len(client.get("/api/inputs").json()["inputs"]) == count
    print(f"\n{count} inputs: folder read and table answered in {1000 * (time.perf_counter() - started):.0f} ms")
    from playwright.sync_api import sync_playwright

    process = subprocess.Popen([sys.executable, "-m", "vemo", "view", str(out), "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        link = re.search(r"http://\S+token=\S+", process.stdout.readline()).group(0)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            started = time.perf_counter()
            page.goto(link)
            page.wait_for_function("document.body.dataset.ready === 'true'")
            table_s = time.perf_counter() - started
            page.wait_for_function("document.body.dataset.frame !== undefined")
            print(
                f"Chromium: table of {count} drawn {1000 * table_s:.0f} ms after the link, first frame shown "
                f"{1000 * (time.perf_counter() - started):.0f} ms after it"
            )
            browser.close()
    finally:
        process.terminate()
        process.communicate(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--jumps", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vemo-bench-view-") as folder:
        work = Path(folder)
        synthetic = work / "corpus"
        subprocess.run([sys.executable, "-m", "vemo", "-q", "synth", str(synthetic), "--preset", "tiny"], check=True)
        videos = [looped(CLIP, 600, work / "clip20s.mp4"), sorted((synthetic / "videos").glob("*.mp4"))[0]]
        out = predicted(videos, work / "predictions")
        jump_rows(out, videos, args.jumps)
        report_row(many_inputs(out, 100), work / "report.html")
        open_rows(many_inputs(out, args.inputs), args.inputs)


if __name__ == "__main__":
    main()

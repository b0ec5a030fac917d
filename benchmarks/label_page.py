"""The labelling page with a large workspace: first page load and a bulk label, timed.

Usage: python benchmarks/label_page.py [--crops 20000]

Builds a throw-away workspace of N crops (hard links to one real crop, so only faces.csv is
big), serves it with `vemo label serve`'s app on 127.0.0.1, and measures, in one run:
  1. building the app (reading faces.csv and labels.csv);
  2. the first page load in headless Chromium (navigation until the grid is drawn and the
     first screen of thumbnails has loaded), then a reload (thumbnails from the browser cache);
  3. one page of the crops API, and one key press (label one crop: a full atomic rewrite of
     labels.csv);
  4. a bulk label of 1,000 crops (one request), and the labels.csv row count after it;
  5. a bulk label of every crop, then one key press with every crop labelled.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pandas as pd
import uvicorn

from vemo.classes import PAPER_CLASSES
from vemo.labelling.app import create_app


def make_workspace(folder: Path, crops: int) -> Path:
    ws = folder / "ws"
    (ws / "faces" / "v").mkdir(parents=True)
    first = ws / "faces" / "v" / "000000.png"
    image = np.random.default_rng(0).integers(0, 255, (227, 227, 3), dtype=np.uint8)
    cv2.imwrite(str(first), image)
    per_source = 500
    rows = []
    for i in range(crops):
        source = f"s{i // per_source:03d}"
        path = ws / "faces" / source / f"{i % per_source:06d}.png"
        path.parent.mkdir(exist_ok=True)
        if path != first:
            os.link(first, path)
        rows.append(
            {
                "source_id": source,
                "source_path": "none.mp4",
                "frame": i % per_source,
                "time_s": (i % per_source) / 25,
                "face_index": 0,
                "x": 0,
                "y": 0,
                "w": 227,
                "h": 227,
                "crop_path": f"faces/{source}/{i % per_source:06d}.png",
            }
        )
    pd.DataFrame(rows).to_csv(ws / "faces.csv", index=False)
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=20_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        ws = make_workspace(Path(folder), args.crops)
        started = time.perf_counter()
        app = create_app(ws, PAPER_CLASSES)
        build = time.perf_counter() - started
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            loads = []
            for _ in range(2):
                started = time.perf_counter()
                page.goto(f"{url}?token={app.state.token}") if not loads else page.reload()
                page.wait_for_selector("body[data-ready='1']")
                page.wait_for_function("[...document.querySelectorAll('.tile img')].slice(0, 40).every(i => i.complete)")
                loads.append(time.perf_counter() - started)
            tiles = page.locator(".tile").count()
            browser.close()
        client = httpx.Client(base_url=url, headers={"X-Vemo-Token": app.state.token})
        started = time.perf_counter()
        client.get("/api/crops", params={"limit": 300}).raise_for_status()
        page_api = time.perf_counter() - started
        crops = pd.read_csv(ws / "faces.csv")["crop_path"].tolist()
        started = time.perf_counter()
        client.post("/api/labels", json={"crops": crops[:1], "label": "happiness"}).raise_for_status()
        one = time.perf_counter() - started
        started = time.perf_counter()
        client.post("/api/labels", json={"crops": crops[1000:2000], "label": "sadness"}).raise_for_status()
        bulk = time.perf_counter() - started
        rows = len(pd.read_csv(ws / "labels.csv"))
        started = time.perf_counter()
        client.post("/api/labels", json={"crops": crops, "label": "surprise"}).raise_for_status()
        everything = time.perf_counter() - started
        started = time.perf_counter()
        client.post("/api/labels", json={"crops": crops[:1], "label": "disgust"}).raise_for_status()
        one_full = time.perf_counter() - started
        server.should_exit = True
    print(f"workspace of {args.crops:,} crops ({tiles} tiles per page)")
    print(f"  1. build the app (read tables)            {build * 1000:8.0f} ms")
    print(f"  2. first page load in Chromium            {loads[0] * 1000:8.0f} ms  (reload, cached thumbnails: {loads[1] * 1000:.0f} ms)")
    print(f"  3. one page of /api/crops                 {page_api * 1000:8.0f} ms;  one key press (label 1 crop): {one * 1000:.0f} ms")
    print(f"  4. bulk label of 1,000 crops              {bulk * 1000:8.0f} ms  (labels.csv now has {rows:,} rows)")
    print(
        f"  5. bulk label of all {len(crops):,} crops         {everything * 1000:8.0f} ms;  then one key press with "
        f"{len(crops):,} labels on disk: {one_full * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()

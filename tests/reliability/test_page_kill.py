"""The labelling page killed while four writers label at once: every label it acknowledged is in
`labels.csv`, which always parses; no process is left; a restarted page sweeps the killed one's
temporary files and takes the rest, and the table ends as if it had never been killed."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from vemo.classes import PAPER_CLASSES

pytestmark = pytest.mark.slow  # a browser session killed and restarted

KILLS = int(os.environ.get("VEMO_RELIABILITY_KILLS", "1"))
WRITERS = 4


class Page:
    """`vemo label serve` in its own process group, on a free port of 127.0.0.1."""

    def __init__(self, workspace: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vemo", "-q", "label", "serve", str(workspace), "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.token = self.process.stdout.readline().split("?token=")[1].split()[0]
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the labelling page did not start")

    def label(self, crop: str, label: str) -> bool:
        """True when the page acknowledged the label."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/labels",
            method="POST",
            data=json.dumps({"crops": [crop], "label": label}).encode(),
            headers={"Content-Type": "application/json", "X-Vemo-Token": self.token},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status == 200
        except (OSError, urllib.error.URLError):
            return False


def _label_all(page: Page, wanted: dict[str, str], acknowledged: dict[str, str]) -> None:
    """Four writers at once, each through its share of the crops, until the page stops answering."""
    crops = sorted(set(wanted) - set(acknowledged))

    def writer(share: list[str]) -> None:
        for crop in share:
            if not page.label(crop, wanted[crop]):
                return
            acknowledged[crop] = wanted[crop]

    threads = [threading.Thread(target=writer, args=(crops[k::WRITERS],)) for k in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _labels(workspace: Path) -> dict[str, str]:
    path = workspace / "labels.csv"
    return dict(pd.read_csv(path)[["crop_path", "label"]].itertuples(index=False)) if path.exists() else {}


def test_the_page_killed_while_labelling_loses_no_acknowledged_label(tiny_workspace: Path, tmp_path: Path, record, processes):
    crops = list(pd.read_csv(tiny_workspace / "faces.csv")["crop_path"])
    wanted = {crop: PAPER_CLASSES[k % len(PAPER_CLASSES)] for k, crop in enumerate(crops)}
    reference = Path(shutil.copytree(tiny_workspace, tmp_path / "reference"))
    page, started = Page(reference), time.time()
    _label_all(page, wanted, {})
    duration = time.time() - started
    page.process.terminate()
    page.process.wait()
    assert _labels(reference) == wanted
    held = tried = 0
    try:
        for attempt in range(KILLS):
            tried += 1
            ws = Path(shutil.copytree(tiny_workspace, tmp_path / f"kill{attempt}"))
            page, acknowledged = Page(ws), {}
            writers = threading.Thread(target=_label_all, args=(page, wanted, acknowledged))
            writers.start()
            time.sleep(random.Random(f"page-{attempt}").uniform(0.1, 0.9) * duration)
            os.killpg(page.process.pid, signal.SIGKILL) if attempt % 2 == 0 else page.process.kill()
            page.process.wait()
            writers.join()
            written = _labels(ws)  # parses: never half-written
            assert all(written.get(crop) == label for crop, label in acknowledged.items()), "an acknowledged label was lost"
            assert not [pid for pid, _, group in processes() if group == page.process.pid], "processes left"
            page = Page(ws)
            assert not list(ws.rglob("*vemo-tmp*")), "the restarted page left the killed one's temporary files"
            _label_all(page, wanted, acknowledged)
            page.process.terminate()
            page.process.wait()
            assert _labels(ws) == wanted
            held += 1
    finally:  # a failed kill stops the test: the table says how far it got
        record("kill page", tried, held)

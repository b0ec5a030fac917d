"""`vemo view` and `vemo report` read tables and decode frames: they start, serve and write in a
process where importing torch (or the training stack's scikit-learn) fails."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

# `python -c` this, then vemo's arguments: vemo runs with every import of torch and sklearn failing
WITHOUT_TORCH = (
    "import runpy, sys; sys.modules['torch'] = None; sys.modules['sklearn'] = None; "
    "sys.argv = ['vemo', *sys.argv[1:]]; runpy.run_module('vemo', run_name='__main__')"
)


def test_report_writes_without_torch(predictions: Path, tmp_path: Path):
    target = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, "report", str(predictions), "--to", str(target)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert target.stat().st_size > 10_000 and "<div class='input'" in target.read_text()


def test_view_serves_without_torch(predictions: Path):
    server = subprocess.Popen(
        [sys.executable, "-c", WITHOUT_TORCH, "view", str(predictions), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline() if server.stdout else ""
        link = re.search(r"http://\S+", line)
        assert link, (line, server.stderr.read() if server.poll() is not None and server.stderr else "")
        with httpx.Client(follow_redirects=True, timeout=10) as client:  # keeps the session's cookie
            deadline = time.time() + 30
            while True:
                try:
                    assert client.get(link.group(0)).status_code == 200
                    break
                except httpx.TransportError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
            base = link.group(0).split("/?")[0]
            listed = client.get(f"{base}/api/inputs").json()["inputs"]
            assert len(listed) == 6 and client.get(f"{base}/api/inputs/0/frame/0.jpg").status_code == 200
        assert server.poll() is None  # still serving: nothing it needed imported torch
    finally:
        server.terminate()
        server.wait(timeout=30)

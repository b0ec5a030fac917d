"""The live page (`vemo predict --live --serve`): protected as every vemo page, and end to end in
Debian's Chromium while a stream plays. The screenshot is kept in test-artifacts/live_page.png."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vemo.io.local_page import TOKEN_COOKIE
from vemo.live import LiveSession
from vemo.live.page import LiveBoard, create_live_app

ARTIFACTS = Path(os.environ.get("VEMO_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def test_the_page_needs_its_secret_and_serves_only_its_own_files(trained_run, synthetic_clip):
    session = LiveSession(str(synthetic_clip), trained_run)
    app = create_live_app(LiveBoard(session))
    client = TestClient(app, base_url="http://127.0.0.1")
    assert client.get("/api/meta").status_code == 403
    assert "vemo predict --live --serve" in client.get("/").json()["detail"]
    entered = client.get(f"/?token={app.state.token}", follow_redirects=False)
    assert entered.status_code == 303 and TOKEN_COOKIE in entered.headers["set-cookie"]
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    assert client.get("/api/meta").json()["synthetic_model"] is True
    assert client.get("/api/frame.jpg").status_code == 404  # nothing analysed yet
    for path in ("/static/..%2F..%2Fpage.py", "/static/app.js", "/static/%2Fetc%2Fpasswd"):
        assert client.get(path).status_code == 404
    assert client.get("/api/meta", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.slow  # a stream and a browser
def test_bars_and_timeline_move_while_the_stream_plays(browser, trained_run, synthetic_clip, mjpeg_stream):
    stream = mjpeg_stream(synthetic_clip, "--loop", "8")
    process = subprocess.Popen(
        [sys.executable, "-m", "vemo", "predict", "--live", stream.url, "-m", str(trained_run), "--serve", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        link = None
        for line in process.stderr:
            found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
            if found:
                link = found.group(0)
                break
        assert link, "no page link printed"
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(link)
        page.wait_for_function("document.body.dataset.frame !== undefined", timeout=30_000)
        before = _shown(page)
        time.sleep(1.5)
        after = _shown(page)
        assert after["frame"] > before["frame"]  # the picture follows the stream
        assert after["timeline"] != before["timeline"]  # the last minute scrolls
        assert len(after["bars"]) == 4 and abs(sum(after["bars"]) - 100) < 2  # one bar per class, summing to 1
        assert page.is_visible("#warning")  # a synthetic model says so
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "live_page.png"))
        page.wait_for_function("document.body.dataset.ended === 'true'", timeout=30_000)
        assert "the stream ended" in page.text_content("#state")
        assert "analysed at" in page.text_content("#stats")
    finally:
        process.send_signal(signal.SIGTERM)  # the page keeps the final state until told to stop
        process.communicate(timeout=30)
    assert process.returncode == 0


def _shown(page) -> dict:
    return page.evaluate("""() => ({
        frame: Number(document.body.dataset.frame),
        timeline: document.getElementById('timeline').toDataURL(),
        bars: [...document.querySelectorAll('#bars .fill')].map((b) => parseFloat(b.style.width)),
    })""")

"""End to end in a real browser: Debian's Chromium driven by Playwright labels crops with the
keyboard, rejects one, reloads, and both the page and labels.csv must show the labels.

Skips, with the reason, when Chromium or Playwright is not installed (`.ci/run` installs
Chromium with apt-get). The screenshot is kept in test-artifacts/label_page.png.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from vemo.classes import PAPER_CLASSES
from vemo.labelling.app import create_app

ARTIFACTS = Path(os.environ.get("VEMO_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture()
def server(tiny_workspace: Path, tmp_path: Path):
    """The labelling app on a free port of 127.0.0.1, in a thread; yields (url, workspace)."""
    uvicorn = pytest.importorskip("uvicorn")
    ws = Path(shutil.copytree(tiny_workspace, tmp_path / "ws"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(ws, PAPER_CLASSES)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/", ws, app.state.token
    instance.should_exit = True
    thread.join(timeout=10)


def badges(page) -> list[str]:
    return page.locator(".tile .badge").all_inner_texts()


def test_keyboard_labelling_survives_a_reload(server, browser):
    url, ws, token = server
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(f"{url}?token={token}")  # the link `vemo label serve` prints: the secret becomes a cookie
    assert "token" not in page.url
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    crops = [page.locator(".tile").nth(i).get_attribute("title") for i in range(8)]
    page.keyboard.press("2")  # happiness on the first crop; the cursor moves on
    page.keyboard.press("3")  # sadness on the second
    page.keyboard.press("x")  # the third is rejected
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")  # disgust on a run of three
    page.wait_for_function("document.getElementById('status').textContent.startsWith('disgust: 3')")
    expected = {
        crops[0]: "happiness",
        crops[1]: "sadness",
        crops[2]: "rejected",
        crops[3]: "disgust",
        crops[4]: "disgust",
        crops[5]: "disgust",
    }
    table = pd.read_csv(ws / "labels.csv")
    assert dict(zip(table["crop_path"], table["label"])) == expected
    assert set(table["source"]) == {"manual"}

    page.keyboard.press("u")  # undo the run of three
    page.wait_for_function("document.getElementById('status').textContent.startsWith('undone: 3')")
    table = pd.read_csv(ws / "labels.csv")
    assert dict(zip(table["crop_path"], table["label"])) == {c: expected[c] for c in crops[:3]}
    page.keyboard.press("ArrowRight")
    page.keyboard.press("4")  # surprise on the seventh crop
    page.wait_for_function("document.getElementById('status').textContent.startsWith('surprise: 1')")

    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert badges(page)[:8] == ["happiness", "sadness", "rejected", "—", "—", "—", "—", "surprise"]
    page.wait_for_function("document.getElementById('progress').textContent.startsWith('labelled 4 /')")
    table = pd.read_csv(ws / "labels.csv")
    assert dict(zip(table["crop_path"], table["label"])) == {**{c: expected[c] for c in crops[:3]}, crops[7]: "surprise"}
    # another tab (here: a plain request) labels a crop: this page shows it within its 2 s poll
    body = json.dumps({"crops": [crops[3]], "label": "happiness", "client": "other-tab"}).encode()
    request = urllib.request.Request(url + "api/labels", data=body, headers={"Content-Type": "application/json", "X-Vemo-Token": token})
    urllib.request.urlopen(request).read()
    page.wait_for_function("document.querySelectorAll('.tile .badge')[3].textContent === 'happiness'", timeout=6_000)
    page.wait_for_function("document.getElementById('progress').textContent.startsWith('labelled 5 /')", timeout=6_000)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "label_page.png"))

    page.keyboard.press("Enter")  # the crop large, its neighbours, and the original frame with the box
    page.wait_for_function("document.getElementById('viewer-frame').naturalWidth > 0")
    assert page.locator("#viewer").is_visible() and page.locator("#viewer-neighbours img").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "label_viewer.png"))
    page.keyboard.press("Escape")
    assert not page.locator("#viewer").is_visible()
    page.close()

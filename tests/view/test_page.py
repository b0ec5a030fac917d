"""`vemo view` end to end in Debian's Chromium: the table lists every input, an input plays (its
frames change), the timeline seeks, the keys work; a tampered secret gets nothing. The
screenshot is kept in test-artifacts/view_page.png."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a browser session over a served folder

# the frame on screen is the one the clock names: no request in flight
SHOWN_IS_ASKED = "document.getElementById('clock').textContent.includes('frame ' + document.body.dataset.frame + ' ')"
ARTIFACTS = Path(os.environ.get("VEMO_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def test_the_page_plays_seeks_and_answers_the_keys(browser, predictions: Path):
    process = subprocess.Popen(
        [sys.executable, "-m", "vemo", "view", str(predictions), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        link = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", process.stdout.readline()).group(0)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        tampered = page.goto(link[:-2] + ("AA" if not link.endswith("AA") else "BB"))
        assert tampered.status == 403 and "vemo view" in page.content()
        page.goto(link)
        page.wait_for_function("document.body.dataset.frame !== undefined", timeout=30_000)
        assert page.locator("tbody tr").count() == 6 and "failed" in page.locator("tbody tr.failed").inner_text()
        page.hover("tbody tr:nth-child(6)")  # a file name with quotes and a tag: shown as text, never run
        assert page.evaluate("window.pwned") is None and page.locator("tbody img").count() == 0
        assert page.locator("tbody tr:nth-child(1) .bar i").count() == 4  # every class's probability
        page.click("tbody tr:nth-child(4)")  # the synthetic clip (MPEG-4 Part 2: the browser could not play it)
        page.wait_for_function("document.body.dataset.input === '3' && document.body.dataset.frame === '0'")
        page.keyboard.press(" ")
        time.sleep(1.0)
        page.keyboard.press(" ")
        assert "play" in page.inner_text("#play")  # paused
        page.wait_for_function(SHOWN_IS_ASKED)
        played = int(page.evaluate("document.body.dataset.frame"))
        assert played > 5  # frames changed while it played
        cursor = float(page.evaluate("document.getElementById('timeline').dataset.cursor"))
        box = page.locator("#timeline").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + 40)
        page.wait_for_function(f"Number(document.body.dataset.frame) > {played} && {SHOWN_IS_ASKED}")
        assert float(page.evaluate("document.getElementById('timeline').dataset.cursor")) > cursor + 100
        sought = int(page.evaluate("document.body.dataset.frame"))
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(f"Number(document.body.dataset.frame) === {sought - 1}")  # every frame is analysed
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "view_page.png"))
        page.keyboard.press("k")  # the previous input: the photo
        page.wait_for_function("document.body.dataset.input === '2'")
        page.keyboard.press("j")
        page.wait_for_function("document.body.dataset.input === '3'")
        page.select_option("#status-filter", "failed")
        assert page.locator("tbody tr").count() == 1
    finally:
        process.terminate()
        process.communicate(timeout=30)

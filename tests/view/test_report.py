"""`vemo report`: one HTML file that opens offline in Chromium and shows every input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ARTIFACTS = Path(os.environ.get("VEMO_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.mark.slow  # a report written and opened in a browser
def test_the_report_is_one_file_that_shows_every_input_offline(browser, predictions: Path, tmp_path: Path):
    target = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "vemo", "report", str(predictions), "--to", str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    html = target.read_text()
    assert "http://" not in html and "https://" not in html and "src='/" not in html  # nothing to fetch
    assert "SYNTHETIC" in html  # the model's corpus is said
    context = browser.new_context(offline=True)
    requests: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.goto(target.as_uri())
    assert page.locator("div.input").count() == 6 and page.locator("table.t tr").count() == 7
    assert page.evaluate("window.pwned") is None and "<img src=z" not in html  # a hostile file name stays text
    assert page.locator("div.input svg polyline").count() >= 4  # the clips' timelines
    assert page.locator("div.input img").count() >= 6  # frames of the clips and the photo
    assert "failed" in page.locator("#input-4").inner_text()
    assert all(url.startswith(("file:", "data:")) for url in requests)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report_page.png"), full_page=True)
    context.close()


def test_a_folder_that_is_not_one_is_a_one_line_error(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "vemo", "report", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "not a predictions folder" in done.stderr and not (tmp_path / "report.html").exists()

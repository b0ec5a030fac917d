"""A predictions folder with damaged inputs (a frames table cut short by a partial copy, junk
under vemo's column names, a verdict that is not an object): `vemo view` and `vemo report` show
each as damaged, saying what is wrong, and everything else as usual. Frames outside a video 404."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vemo.io.local_page import TOKEN_COOKIE
from vemo.view.app import create_view_app
from vemo.view.folder import PredictionsFolder


def cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def replace_cell(column: str, value: str, row: int = 2) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        lines = path.read_text().splitlines()
        cells = lines[row].split(",")
        cells[lines[0].split(",").index(column)] = value
        lines[row] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")

    return damage


def write(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text)


DAMAGES = {  # name: (file of the input, what is done to it, what the row says)
    "cut short": (".frames.csv", cut_short, "holds values vemo never writes"),
    "junk frame": (".frames.csv", replace_cell("frame", "abc"), "row 2 of"),
    "negative frame": (".frames.csv", replace_cell("frame", "-5"), "row 2 of"),
    "huge box": (".frames.csv", replace_cell("x", "1e308"), "row 2 of"),
    "probability above 1": (".frames.csv", replace_cell("happiness", "7"), "row 2 of"),
    "not a face flag": (".frames.csv", replace_cell("face_found", "maybe"), "row 2 of"),
    "no column": (".frames.csv", write("a,b\n1,2\n"), "column"),
    "not text": (".frames.csv", lambda path: path.write_bytes(b"\xff\xfe\x00\x01garbage"), "cannot be read"),
    "verdict a list": (".json", write("[1, 2, 3]"), "a list, not a verdict object"),
    "verdict not JSON": (".json", write("{cut"), "cannot be read"),
    "segments a string": (".json", write('{"segments": "x"}'), "segments is a str"),
    "bad segment": (".json", write('{"segments": [{"start_s": "a"}]}'), "a segment"),
}


@pytest.fixture(scope="module")
def damaged(predictions: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, str]]:
    """A copy of the view tests' folder with three inputs damaged, and which got which damage."""
    copy = Path(shutil.copytree(predictions, tmp_path_factory.mktemp("damaged") / "predictions"))
    rows = PredictionsFolder(copy).rows
    chosen = {"single_face.mp4": "cut short", "no_face.mp4": "verdict a list", ".mp4": "junk frame"}
    given = {}
    for ending, name in chosen.items():
        row = next(r for r in rows if r.source.endswith(ending) and r.number not in given and r.status != "failed")
        suffix, damage, _ = DAMAGES[name]
        damage(copy / f"{row.name}{suffix}")
        given[row.number] = name
    return copy, given


def test_each_damaged_input_is_listed_as_damaged_with_its_reason(damaged):
    folder, given = damaged
    rows = PredictionsFolder(folder).rows
    for row in rows:
        if row.number in given:
            assert row.status == "damaged" and DAMAGES[given[row.number]][2] in row.error, (given[row.number], row)
            assert "\n" not in row.error and row.path is None
        else:
            assert row.status != "damaged"


@pytest.mark.parametrize("name", list(DAMAGES))
def test_every_kind_of_damage_is_caught(name: str, predictions: Path, tmp_path: Path, record):
    copy = Path(shutil.copytree(predictions, tmp_path / "predictions"))
    row = PredictionsFolder(copy).rows[0]
    suffix, damage, says = DAMAGES[name]
    damage(copy / f"{row.name}{suffix}")
    rows = PredictionsFolder(copy).rows
    assert rows[0].status == "damaged" and says in rows[0].error, rows[0]
    assert [r.status for r in rows[1:]] == [r.status for r in PredictionsFolder(predictions).rows[1:]]
    record("damaged prediction folders", 1, 1)


def test_the_page_answers_every_input_and_no_500(damaged):
    folder, given = damaged
    app = create_view_app(PredictionsFolder(folder))
    client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    listed = client.get("/api/inputs").json()["inputs"]
    for row in listed:
        details = client.get(f"/api/inputs/{row['number']}")
        assert details.status_code == 200, (row, details.text)
        if row["number"] in given:
            assert details.json()["status"] == "damaged" and details.json()["error"] and not row["playable"]
            assert client.get(f"/api/inputs/{row['number']}/frame/0.jpg").status_code == 404
    undamaged = next(row for row in listed if row["status"] == "ok")
    assert client.get(f"/api/inputs/{undamaged['number']}/frame/0.jpg").status_code == 200


def test_the_report_shows_the_damage_and_every_other_input(damaged, tmp_path: Path):
    folder, given = damaged
    target = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "vemo", "report", str(folder), "--to", str(target)], capture_output=True, text=True)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    html = target.read_text()
    assert html.count("<p class='failed'>damaged: ") == len(given) and f"{len(given)} damaged" in html
    assert html.count("<div class='input'") == len(PredictionsFolder(folder).rows)


@pytest.mark.parametrize("index", ["-1", "-99999999", str(2**31), str(2**63), str(2**64 + 5), "100000"])
def test_frames_outside_the_video_are_404(predictions: Path, index: str, record):
    app = create_view_app(PredictionsFolder(predictions))
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    rows = client.get("/api/inputs").json()["inputs"]
    video = next(r["number"] for r in rows if r["source"].endswith("single_face.mp4"))
    photo = next(r["number"] for r in rows if r["source"].endswith(".jpg"))
    assert client.get(f"/api/inputs/{video}/frame/{index}.jpg").status_code == 404
    assert client.get(f"/api/inputs/{photo}/frame/{index}.jpg").status_code == 404
    assert client.get(f"/api/inputs/{photo}/frame/1.jpg").status_code == 404  # a photo has frame 0 only
    assert client.get(f"/api/inputs/{video}/frame/3.jpg").status_code == 200
    record("damaged prediction folders", 3, 3)  # the video's, the photo's, and the photo's frame 1

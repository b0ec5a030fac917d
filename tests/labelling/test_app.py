"""The labelling page's API, through FastAPI's test client: every change lands in labels.csv."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from vemo.classes import PAPER_CLASSES
from vemo.io.local_page import TOKEN_COOKIE, page_link
from vemo.labelling import apply_labels
from vemo.labelling.app import create_app


@pytest.fixture()
def ws(tiny_workspace: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_workspace, tmp_path / "ws"))


@pytest.fixture()
def client(ws: Path) -> TestClient:
    """A client of the page opened with its link: on 127.0.0.1, holding the session's secret."""
    app = create_app(ws, PAPER_CLASSES)
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    return client


def labels_on_disk(ws: Path) -> dict[str, str]:
    if not (ws / "labels.csv").exists():
        return {}
    table = pd.read_csv(ws / "labels.csv")
    return dict(zip(table["crop_path"], table["label"]))


def test_listing_is_grouped_by_source_and_ordered_by_time(client: TestClient, ws: Path):
    meta = client.get("/api/meta").json()
    assert meta["classes"] == list(PAPER_CLASSES) and meta["sources"]
    page = client.get("/api/crops", params={"limit": 2000}).json()
    faces = pd.read_csv(ws / "faces.csv")
    assert page["total"] == len(faces)
    keys = [(item["source"], item["frame"]) for item in page["items"]]
    assert keys == sorted(keys)
    second = client.get("/api/crops", params={"offset": 5, "limit": 3}).json()["items"]
    assert second == page["items"][5:8]
    one_source = meta["sources"][0]["id"]
    only = client.get("/api/crops", params={"source": one_source, "limit": 2000}).json()
    assert {i["source"] for i in only["items"]} == {one_source} and only["total"] == meta["sources"][0]["crops"]


def test_label_bulk_label_reject_and_filters(client: TestClient, ws: Path):
    items = client.get("/api/crops").json()["items"]
    crops = [i["crop"] for i in items]
    assert client.post("/api/labels", json={"crops": crops[:1], "label": "happiness"}).status_code == 200
    assert client.post("/api/labels", json={"crops": crops[1:4], "label": "sadness"}).status_code == 200
    assert client.post("/api/labels", json={"crops": crops[4:5], "label": "rejected"}).status_code == 200
    disk = labels_on_disk(ws)
    assert disk[crops[0]] == "happiness" and all(disk[c] == "sadness" for c in crops[1:4]) and disk[crops[4]] == "rejected"
    table = pd.read_csv(ws / "labels.csv")
    assert set(table["source"]) == {"manual"} and table["time"].notna().all()
    progress = client.get("/api/progress").json()
    assert progress["labelled"] == 5 and progress["per_class"]["sadness"] == 3 and progress["per_class"]["rejected"] == 1
    rejected = client.get("/api/crops", params={"filter": "rejected"}).json()
    assert [i["crop"] for i in rejected["items"]] == [crops[4]]
    sad = client.get("/api/crops", params={"filter": "class:sadness"}).json()
    assert [i["crop"] for i in sad["items"]] == crops[1:4]
    unlabelled = client.get("/api/crops", params={"filter": "unlabelled", "limit": 2000}).json()
    assert unlabelled["total"] == len(pd.read_csv(ws / "faces.csv")) - 5


def test_rest_of_a_clip_and_undo(client: TestClient, ws: Path):
    items = client.get("/api/crops", params={"limit": 2000}).json()["items"]
    source = items[0]["source"]
    frames = [i for i in items if i["source"] == source]
    middle = frames[len(frames) // 2]
    client.post("/api/labels", json={"crops": [frames[0]["crop"]], "label": "disgust", "client": "a"})
    result = client.post("/api/labels", json={"source": source, "from_frame": middle["frame"], "label": "surprise", "client": "a"}).json()
    disk = labels_on_disk(ws)
    rest = [i["crop"] for i in frames if i["frame"] >= middle["frame"]]
    assert result["changed"] == len(rest) and all(disk[c] == "surprise" for c in rest)
    assert all(i["crop"] not in disk for i in frames[1:] if i["frame"] < middle["frame"])
    assert client.post("/api/undo", json={"client": "b"}).json()["undone"] == 0  # another page's history
    assert client.post("/api/undo", json={"client": "a"}).json()["undone"] == len(rest)
    disk = labels_on_disk(ws)
    assert all(c not in disk for c in rest) and disk[frames[0]["crop"]] == "disgust"
    client.post("/api/undo", json={"client": "a"})
    assert labels_on_disk(ws) == {}


def test_validation_errors(client: TestClient, ws: Path):
    crop = client.get("/api/crops").json()["items"][0]["crop"]
    bad_label = client.post("/api/labels", json={"crops": [crop], "label": "joy"})
    assert bad_label.status_code == 400 and "unknown label(s) 'joy'" in bad_label.json()["detail"]
    bad_crop = client.post("/api/labels", json={"crops": ["faces/nope/000001.png"], "label": "sadness"})
    assert bad_crop.status_code == 400 and "not in the workspace" in bad_crop.json()["detail"]
    assert client.post("/api/labels", json={"crops": [], "label": "sadness"}).status_code == 400
    assert client.post("/api/labels", json={"crops": "x"}).status_code == 422
    assert client.get("/api/crops", params={"filter": "everything"}).status_code == 400
    huge = client.post("/api/labels", content=b"{" + b" " * (3 * 1024 * 1024) + b"}", headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    for frame in (b"1e400", b"-1", b"99999999999999999999", b"NaN"):  # 1e400 was a 500: its echo was not JSON
        body = b'{"source": "c0001", "from_frame": ' + frame + b', "label": "sadness"}'
        answer = client.post("/api/labels", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422 and "from_frame" in answer.text, frame
    assert labels_on_disk(ws) == {}


@pytest.mark.parametrize(
    "path",
    [
        "/files/../faces.csv",
        "/files/..%2f..%2fetc%2fpasswd",
        "/files/%2e%2e/%2e%2e/etc/passwd",
        "/files/faces.csv",
        "/files//etc/passwd",
        "/thumbs/..%2flabels.csv",
        "/files/faces/../../x.png",
        "/static/../cli.py",
        "/static/%2e%2e%2fcli.py",
        "/files/escape/evil.png",
    ],
)
def test_nothing_outside_the_workspace_is_served(client: TestClient, ws: Path, tmp_path: Path, path: str):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG secret")
    (ws / "escape").mkdir()
    os.symlink(outside, ws / "escape" / "evil.png")  # a symlink pointing out of the workspace
    response = client.get(path)
    assert response.status_code in (400, 404), path
    assert b"secret" not in response.content


def test_crops_thumbnails_and_frames_are_served(client: TestClient):
    crop = client.get("/api/crops").json()["items"][0]["crop"]
    assert client.get(f"/files/{crop}").content[:4] == b"\x89PNG"
    thumb = client.get(f"/thumbs/{crop}")
    assert thumb.headers["content-type"] == "image/jpeg" and "max-age" in thumb.headers["cache-control"]
    frame = client.get("/api/frame", params={"crop": crop})
    assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"
    assert client.get("/api/frame", params={"crop": "faces/../labels.csv"}).status_code == 404
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text and "http" not in page.text.split("<body>")[1]


def test_concurrent_writes_from_threads_lose_nothing(client: TestClient, ws: Path):
    crops = [i["crop"] for i in client.get("/api/crops", params={"limit": 2000}).json()["items"]][:120]
    chunks = [crops[i::6] for i in range(6)]
    errors = []

    def worker(chunk: list[str], label: str) -> None:
        for crop in chunk:
            response = client.post("/api/labels", json={"crops": [crop], "label": label})
            if response.status_code != 200:
                errors.append(response.text)

    threads = [threading.Thread(target=worker, args=(chunk, PAPER_CLASSES[i % 4])) for i, chunk in enumerate(chunks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    disk = labels_on_disk(ws)
    for i, chunk in enumerate(chunks):
        assert all(disk[crop] == PAPER_CLASSES[i % 4] for crop in chunk)


def test_changes_from_elsewhere_reach_the_page(client: TestClient, ws: Path):
    crops = [i["crop"] for i in client.get("/api/crops").json()["items"]]
    version = client.get("/api/changes").json()["version"]
    client.post("/api/labels", json={"crops": crops[:2], "label": "happiness", "client": "tab-1"})
    seen = client.get("/api/changes", params={"since": version}).json()
    assert seen["changes"] == {crops[0]: "happiness", crops[1]: "happiness"}
    # `vemo label` in a terminal writes labels.csv while the page is open: merged, not overwritten
    apply_labels(ws, pd.DataFrame({"crop_path": [crops[2]], "label": ["surprise"]}), "csv")
    seen = client.get("/api/changes", params={"since": seen["version"]}).json()
    assert seen["changes"] == {crops[2]: "surprise"}
    client.post("/api/labels", json={"crops": [crops[3]], "label": "sadness"})
    disk = labels_on_disk(ws)
    assert disk == {crops[0]: "happiness", crops[1]: "happiness", crops[2]: "surprise", crops[3]: "sadness"}


def test_export_writes_the_papers_folders_and_reads_back(client: TestClient, ws: Path, tmp_path: Path):
    from vemo.labelling import labels_from_folders
    from vemo.labelling.export import export_folders

    crops = [i["crop"] for i in client.get("/api/crops").json()["items"]]
    client.post("/api/labels", json={"crops": crops[:3], "label": "happiness"})
    client.post("/api/labels", json={"crops": crops[3:5], "label": "disgust"})
    client.post("/api/labels", json={"crops": crops[5:6], "label": "rejected"})
    result = export_folders(ws, tmp_path / "sorted")
    assert result.per_class == {"disgust": 2, "happiness": 3} and result.written == 5
    assert sorted(p.parent.name for p in (tmp_path / "sorted").rglob("*.png")) == ["disgust"] * 2 + ["happiness"] * 3
    back = labels_from_folders(ws, tmp_path / "sorted")
    assert dict(zip(back["crop_path"], back["label"])) == {c: label for c, label in labels_on_disk(ws).items() if label != "rejected"}
    assert export_folders(ws, tmp_path / "sorted").unchanged == 5  # a rerun copies nothing


def test_the_link_hands_over_the_secret_once_and_nothing_is_served_without_it(ws: Path):
    app = create_app(ws, PAPER_CLASSES)
    stranger = TestClient(app, base_url="http://127.0.0.1")
    for path in ("/", "/api/meta", "/static/app.js", "/api/crops"):
        assert stranger.get(path).status_code == 403, path
    assert stranger.get("/api/meta", headers={"X-Vemo-Token": "wrong"}).status_code == 403
    assert stranger.get("/?token=wrong").status_code == 403
    link = page_link("127.0.0.1", 8765, app.state.token)
    opened = stranger.get(link.split(":8765")[1], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert stranger.get("/api/meta").status_code == 200  # the cookie now goes with every request
    assert create_app(ws, PAPER_CLASSES).state.token != app.state.token  # a new secret per session


def test_forged_host_and_foreign_origin_are_refused(client: TestClient, ws: Path):
    """DNS rebinding sends the attacker's host name; a cross-site form or fetch sends its Origin."""
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example"):
        answer = client.get("/api/meta", headers={"Host": host})
        assert answer.status_code == 400 and "workspace" not in answer.text, host
    crop = client.get("/api/crops").json()["items"][0]["crop"]
    refused = client.post("/api/labels", json={"crops": [crop], "label": "happiness"}, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403 and labels_on_disk(ws) == {}
    allowed = client.post("/api/labels", json={"crops": [crop], "label": "happiness"}, headers={"Origin": "http://127.0.0.1"})
    assert allowed.status_code == 200 and labels_on_disk(ws) == {crop: "happiness"}
    assert client.get("/api/meta", headers={"Host": "localhost:8765"}).status_code == 200


def test_a_wildcard_bind_answers_any_host_but_only_with_the_secret(ws: Path):
    app = create_app(ws, PAPER_CLASSES, host="0.0.0.0")
    remote = TestClient(app, base_url="http://192.0.2.7:8765")
    assert remote.get("/api/meta").status_code == 403
    assert remote.get("/api/meta", headers={"X-Vemo-Token": app.state.token}).status_code == 200
    assert page_link("0.0.0.0", 8765, "s") == "http://127.0.0.1:8765/?token=s"


def test_the_frame_is_found_when_the_page_runs_from_another_folder(tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """faces.csv kept the source path as given to `vemo extract` (relative): from another folder,
    the page could not find the video."""
    from vemo.extraction import ExtractConfig, extract

    shutil.copytree(tiny_corpus / "videos", tmp_path / "project" / "videos")
    monkeypatch.chdir(tmp_path / "project")
    video = sorted(Path("videos").glob("*.mp4"))[0]
    extract([video], Path("ws"), ExtractConfig(every=10), workers=1)
    assert Path(pd.read_csv("ws/faces.csv")["source_path"].iloc[0]).is_absolute()
    monkeypatch.chdir(tmp_path)
    app = create_app(tmp_path / "project" / "ws", PAPER_CLASSES)
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    crop = client.get("/api/crops").json()["items"][0]["crop"]
    answer = client.get("/api/frame", params={"crop": crop})
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"

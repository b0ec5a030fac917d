"""`vemo view`'s server: every input of the table, each one's frames and timeline, and the
protection of every vemo page (its secret, Host, and only the sources the table names)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from vemo.errors import VemoError
from vemo.io.local_page import TOKEN_COOKIE
from vemo.view.app import create_view_app
from vemo.view.folder import PredictionsFolder
from vemo.view.frames import FrameServer


@pytest.fixture()
def client(predictions: Path) -> TestClient:
    app = create_view_app(PredictionsFolder(predictions))
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    return client


def test_every_input_is_listed_with_failures_and_their_error(client: TestClient, hostile_name: str):
    inputs = client.get("/api/inputs").json()["inputs"]
    assert [Path(row["source"]).name for row in inputs] == [
        "single_face.mp4",
        "multi_face.jpg",
        "no_face.mp4",
        Path(inputs[3]["source"]).name,
        "broken.mp4",
        hostile_name,
    ]
    assert inputs[4]["status"] == "failed" and inputs[4]["error"] and not inputs[4]["playable"]
    assert inputs[2]["status"] == "no_face" and all(row["playable"] for row in inputs[:4])


def test_an_input_has_its_timeline_and_frames_with_their_faces(client: TestClient, shared_media: Path):
    details = client.get("/api/inputs/0").json()
    assert details["kind"] == "video" and details["verdict"]["label"] == details["label"]
    assert len(details["timeline"]["frame"]) == 72 and len(details["timeline"]["faces"]) == 72
    frame, track, x, y, w, h, label, probabilities = details["timeline"]["faces"][40]
    assert w > 50 and label in details["classes"] and abs(sum(probabilities) - 1) < 0.01
    decoded = cv2.imdecode(np.frombuffer(client.get(f"/api/inputs/0/frame/{frame}.jpg").content, np.uint8), 1)
    capture = cv2.VideoCapture(str(shared_media / "single_face.mp4"))
    for _ in range(frame + 1):
        expected = capture.read()[1]
    assert decoded.shape == expected.shape and np.abs(decoded.astype(int) - expected).mean() < 4  # JPEG of that frame
    photo = client.get("/api/inputs/1").json()
    assert photo["kind"] == "image" and client.get("/api/inputs/1/frame/0.jpg").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/inputs/4/frame/0.jpg",
        "/api/inputs/99",
        "/api/inputs/0/frame/100000.jpg",
        "/api/inputs/0/frame/..%2F..%2Fetc%2Fpasswd",
        "/static/..%2Fapp.py",
        "/static/%2Fetc%2Fpasswd",
        "/files/etc/passwd",
    ],
)
def test_nothing_but_the_tables_sources_and_the_pages_files(client: TestClient, path: str):
    assert client.get(path).status_code in (404, 422)


def test_the_secret_and_the_host_are_checked(predictions: Path):
    app = create_view_app(PredictionsFolder(predictions))
    client = TestClient(app, base_url="http://127.0.0.1")
    assert client.get("/api/inputs").status_code == 403 and "vemo view" in client.get("/").json()["detail"]
    client.cookies.set(TOKEN_COOKIE, app.state.token + "x")
    assert client.get("/api/inputs/0/frame/0.jpg").status_code == 403
    client.cookies.set(TOKEN_COOKIE, app.state.token)
    assert client.get("/api/inputs", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/inputs").status_code == 200


def test_a_folder_without_predictions_is_one_clear_error(tmp_path: Path):
    with pytest.raises(VemoError, match="not a predictions folder"):
        PredictionsFolder(tmp_path)


def test_frames_are_exact_after_any_jump(shared_media: Path):
    """Seeks are checked per file: a QuickTime file of ../shared/media lands elsewhere when
    sought, so its jumps decode forward; every frame must be the one decoded in order."""
    for name in ("single_face.mp4", "noface_face.mov"):
        capture, in_order = cv2.VideoCapture(str(shared_media / name)), []
        while (image := capture.read()[1]) is not None:
            in_order.append(image)
        server = FrameServer()
        for index in (len(in_order) - 1, 3, len(in_order) // 2, 0, 1, 2, 120 % len(in_order)):
            assert np.array_equal(server.image(shared_media / name, index), in_order[index]), (name, index)
        server.close()


def test_with_all_faces_every_track_is_drawn(trained_run: Path, shared_media: Path, tmp_path: Path):
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vemo",
            "-q",
            "predict",
            "--model",
            str(trained_run),
            "--all-faces",
            str(shared_media / "multi_face.jpg"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    details = PredictionsFolder(tmp_path).details(0)
    tracks = {face[1] for face in details["timeline"]["faces"]}
    assert details["kind"] == "image" and len(tracks) >= 3  # the photo's faces, each with its box and label

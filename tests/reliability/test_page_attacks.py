"""The labelling page under attack: forged Host, foreign Origin, no or a wrong secret, traversal on
every route that takes a path, malformed and oversized bodies. Each is refused, and no label is
written by any of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from vemo.classes import PAPER_CLASSES
from vemo.io.local_page import TOKEN_COOKIE
from vemo.labelling.app import create_app

TRAVERSALS = [
    "../faces.csv",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "faces.csv",
    "/etc/passwd",
    "faces/../../x.png",
    "faces/%00.png",
    "faces/c0001/../../../../etc/hostname",
]


def _attacks(crop: str) -> list[tuple[str, str, dict]]:
    """(method, path, request options) of each attack; the client holds the secret unless removed."""
    attacks: list[tuple[str, str, dict]] = []
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example", "localhost.evil.example"):
        for path in ("/api/meta", "/api/crops", f"/files/{crop}", "/"):
            attacks.append(("GET", path, {"headers": {"Host": host}}))
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1"):
        attacks.append(("POST", "/api/labels", {"json": {"crops": [crop], "label": "happiness"}, "headers": {"Origin": origin}}))
        attacks.append(("POST", "/api/undo", {"json": {}, "headers": {"Origin": origin}}))
    for secret in (None, "", "wrong", "x" * 5000):
        for path in ("/api/meta", f"/thumbs/{crop}", "/static/app.js"):
            attacks.append(("GET", path, {"secret": secret}))
        attacks.append(("POST", "/api/labels", {"secret": secret, "json": {"crops": [crop], "label": "sadness"}}))
    for route in ("files", "thumbs", "static"):
        attacks += [("GET", f"/{route}/{path}", {}) for path in TRAVERSALS]
    attacks += [("GET", "/api/frame", {"params": {"crop": path}}) for path in TRAVERSALS]
    bodies = [
        b"{",
        b"[]",
        b'{"crops": "x"}',
        b'{"crops": [1], "label": 3}',
        b'{"label": "../../x", "crops": []}',
        b'{"source": "c0001", "from_frame": 1e400, "label": "sadness"}',
        b"{" + b" " * (3 * 2**20) + b"}",
        b'{"crops": ["faces/../labels.csv"], "label": "sadness"}',
        b'{"crops": [], "label": "rejected"}',
    ]
    attacks += [("POST", "/api/labels", {"content": body, "headers": {"Content-Type": "application/json"}}) for body in bodies]
    return attacks


def test_every_attack_is_refused_and_no_label_is_written(tiny_workspace: Path, tmp_path: Path, record):
    ws = Path(shutil.copytree(tiny_workspace, tmp_path / "ws"))
    app = create_app(ws, PAPER_CLASSES)
    crop = pd.read_csv(ws / "faces.csv")["crop_path"].iloc[0]
    refused = []
    attacks = _attacks(crop)
    for method, path, options in attacks:
        options = dict(options)
        client = TestClient(app, base_url="http://127.0.0.1")
        secret = options.pop("secret", app.state.token)
        if secret is not None:
            client.cookies.set(TOKEN_COOKIE, secret)
        answer = client.request(method, path, **options)
        if answer.status_code >= 400:
            refused.append((method, path))
        else:
            print("not refused:", method, path, options.get("headers"), answer.status_code)
    record("page attacks", len(attacks), len(refused))
    assert len(refused) == len(attacks)
    assert not (ws / "labels.csv").exists() or pd.read_csv(ws / "labels.csv").empty

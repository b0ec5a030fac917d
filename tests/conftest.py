"""Shared fixtures: small synthetic corpora rendered once per test session, and the real media."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vemo.synth import generate_corpus, plan_corpus

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def _kill_when(command: list[str], ready: Callable[[], bool], timeout: float = 60.0) -> None:
    """Start `command`, and SIGKILL it as soon as `ready()` is true (a run interrupted mid-way)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and not ready():
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.fixture()
def kill_when() -> Callable[..., None]:
    """`kill_when(command, ready)`: start a vemo command and SIGKILL it once `ready()` holds."""
    return _kill_when


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow; run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo preset (12 subjects, 48 clips), rendered once."""
    out = tmp_path_factory.mktemp("demo-corpus")
    generate_corpus(plan_corpus("demo", seed=0), out)
    return out


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny preset (4 subjects, 8 clips), rendered once."""
    out = tmp_path_factory.mktemp("tiny-corpus")
    generate_corpus(plan_corpus("tiny", seed=3), out)
    return out


@pytest.fixture(scope="session")
def tiny_workspace(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny corpus extracted into a workspace once (do not modify; copy it)."""
    from vemo.extraction import extract

    workspace = tmp_path_factory.mktemp("tiny-ws")
    result = extract([tiny_corpus], workspace, workers=2)
    assert not result.failures
    return workspace


@pytest.fixture()
def workspace_copy(tiny_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny workspace that a test may change."""
    import shutil

    return Path(shutil.copytree(tiny_workspace, tmp_path / "ws"))


@pytest.fixture(scope="session")
def split_tiny_workspace(tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny workspace, labelled onset-offset and split by clip (do not modify; copy it)."""
    import shutil

    from vemo.data.label import apply_labels, labels_from_clips
    from vemo.data.split import split_workspace

    workspace = Path(shutil.copytree(tiny_workspace, tmp_path_factory.mktemp("split") / "ws"))
    apply_labels(workspace, labels_from_clips(workspace, window="onset-offset"), "clips")
    split_workspace(workspace, by="clip", seed=0)
    return workspace


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """`../shared/media` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_MEDIA.is_dir():
        pytest.skip(f"real test media not found at {SHARED_MEDIA}")
    return SHARED_MEDIA

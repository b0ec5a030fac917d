"""The test hook of the retry tests, shared by every engine."""

from __future__ import annotations

import os
import signal

KILL_ONCE_VARIABLE = "VEMO_TEST_KILL_ONCE"  # tests: the first unit to start SIGKILLs its own process once
KILL_POINT_VARIABLE = "VEMO_TEST_KILL_POINT"  # where: "unit" (its start, the default) or "mid-epoch" (training)


def kill_once_for_tests(point: str = "unit") -> None:
    """The test hook of the retry tests: at the point $VEMO_TEST_KILL_POINT names, when
    $VEMO_TEST_KILL_ONCE names a file that does not exist yet, create it and die by SIGKILL, as a
    worker killed by the OOM killer or an operator would."""
    sentinel = os.environ.get(KILL_ONCE_VARIABLE)
    if sentinel and os.environ.get(KILL_POINT_VARIABLE, "unit") == point:
        try:
            with open(sentinel, "x"):
                pass
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)

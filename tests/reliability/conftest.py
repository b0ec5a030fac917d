"""The reliability suite: kill, corrupt and attack every command, and count what held.

The fast part runs in CI; `python benchmarks/reliability.py` runs it all (10 kills per command)
and prints the table. Each test records (what, tried, held) through `record`, into the file
named by $VEMO_RELIABILITY_REPORT when it is set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest


@pytest.fixture(scope="session")
def record() -> Callable[[str, int, int], None]:
    """record(what, tried, held): one line of the printed table."""
    report = os.environ.get("VEMO_RELIABILITY_REPORT")

    def write(what: str, tried: int, held: int) -> None:
        if report:
            with open(report, "a") as handle:
                handle.write(json.dumps({"what": what, "tried": tried, "held": held}) + "\n")

    return write

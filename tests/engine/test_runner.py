"""The one parallel runner: every unit once, in this process or in worker processes."""

from __future__ import annotations

import os
from functools import partial

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

"""The one parallel runner: a list of independent units of work, spread over processes.

Rendering clips (`vemo synth`), extracting ranges of frames (`vemo extract`) and training the
runs of a study (`vemo experiment`) are all "independent units, each finished when its marker
exists". Callers keep their markers; they drop finished units with `pending` and hand the
rest to `run_units`. The interface stays this small so that another engine (Ray, in a later
issue) fits behind it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import TypeVar

Unit = TypeVar("Unit")
Result = TypeVar("Result")


PARENT_POLL_SECONDS = 0.2


def _die_with_parent(parent: int) -> None:
    """In each worker: end this process as soon as its parent is gone (killed, even with SIGKILL),
    so no orphan keeps writing into a workspace that a rerun is already cleaning up."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="vemo-parent-watch", daemon=True).start()


def default_workers(workers: int | None) -> int:
    """`workers`, or every core when None; at least 1."""
    return max(1, workers or os.cpu_count() or 1)


def pending(units: Sequence[Unit], is_done: Callable[[Unit], bool]) -> tuple[list[Unit], int]:
    """(the units whose marker does not exist yet, how many were finished already)."""
    todo = [unit for unit in units if not is_done(unit)]
    return todo, len(units) - len(todo)


def run_units(work: Callable[[Unit], Result], units: Sequence[Unit], *, workers: int | None = None) -> Iterator[
        tuple[Unit, Result]]:
    """Run `work(unit)` for every unit; yield (unit, result) as each finishes.

    With one worker or one unit, the units run here, in order. Otherwise in `workers` spawned
    processes (never forked: torch and OpenCV threads do not survive a fork), in the order they
    finish; `work` and the units must then be picklable (module-level functions, partials of
    them, dataclasses). An exception raised by `work` is raised here: units that may fail
    without stopping the others catch their own expected errors and return them. The worker
    processes end within a fraction of a second when this process dies, however it dies.
    """
    workers = default_workers(workers)
    if workers == 1 or len(units) <= 1:
        for unit in units:
            yield unit, work(unit)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(units)), mp_context=get_context("spawn"),
                             initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(work, unit): unit for unit in units}
        for future in as_completed(futures):
            yield futures[future], future.result()

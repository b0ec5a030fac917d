"""The one parallel runner: a list of independent units of work, spread over processes.

Rendering clips (`vemo synth`), extracting ranges of frames (`vemo extract`) and training the
runs of a study (`vemo experiment`) are all "independent units, each finished when its marker
exists". Callers keep their markers; they drop finished units with `pending` and hand the
rest to `run_units`, which runs them on the engine each call names (`EngineSettings`): local
processes (the default) or a Ray cluster (`vemo.engine.ray_engine`, the only module that imports
Ray). Results always come back to this process, which alone writes the workspace's tables.
Work that shares one loaded model in this process (prediction) takes its threads from
`thread_pool`, and its Ray actors from `run_units_with_state`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

from vemo.checks import host_and_port, require_number
from vemo.errors import ConfigError

Unit = TypeVar("Unit")
Result = TypeVar("Result")
State = TypeVar("State")


PARENT_POLL_SECONDS = 0.2
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class EngineSettings:
    """Where units run. `address`: None starts a private local Ray; "auto" or HOST:PORT joins a
    cluster. `workers` caps how many units run at once (None: every core, or the cluster's CPUs)."""

    name: str = "local"
    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float = 0.0

    def __post_init__(self) -> None:
        """Raises ConfigError: an unknown engine, bad numbers or address, Ray asked for but not installed."""
        if self.name not in ENGINES:
            raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, not {self.name!r}", "engine")
        require_number(self.workers, "workers", 1, 100_000)
        require_number(self.gpus_per_worker, "gpus_per_worker", 0, 1024)
        if self.address not in (None, "auto"):
            host_and_port(self.address)
        if self.name == "ray":
            from vemo.engine.ray_engine import require_ray

            require_ray()

    @property
    def on_ray(self) -> bool:
        return self.name == "ray"


LOCAL = EngineSettings()
_THREAD_POOLS: dict[tuple[str, int], ThreadPoolExecutor] = {}
_THREAD_POOLS_LOCK = threading.Lock()


def thread_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool of `workers` threads that lasts as long as the process, one per (name, size):
    work that keeps per-thread state (prediction's face detectors) loads it once per thread,
    not once per call. The threads share this process's memory, so one loaded model serves them."""
    with _THREAD_POOLS_LOCK:
        if (name, workers) not in _THREAD_POOLS:
            _THREAD_POOLS[name, workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        return _THREAD_POOLS[name, workers]


def die_with_parent(parent: int) -> None:
    """In each worker: end this process as soon as its parent is gone (killed, even with SIGKILL),
    so no orphan keeps writing into a workspace that a rerun is already cleaning up."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="vemo-parent-watch", daemon=True).start()


def default_workers(workers: int | None) -> int:
    """`workers`, or every core when None.

    Raises:
        ConfigError: fewer than 1 (or absurdly many).
    """
    require_number(workers, "workers", 1, 100_000)
    return workers or os.cpu_count() or 1


def pending(units: Sequence[Unit], is_done: Callable[[Unit], bool]) -> tuple[list[Unit], int]:
    """(the units whose marker does not exist yet, how many were finished already)."""
    todo = [unit for unit in units if not is_done(unit)]
    return todo, len(units) - len(todo)


def run_units(
    work: Callable[[Unit], Result], units: Sequence[Unit], *, workers: int | None = None, engine: EngineSettings = LOCAL
) -> Iterator[tuple[Unit, Result]]:
    """Run `work(unit)` for every unit on `engine`; yield (unit, result) as each finishes.

    On Ray each unit is a task asking for one CPU and --gpus-per-worker GPUs, retried when its
    worker dies, as many at once as the cluster holds or the engine's `workers`; `workers` here
    is the local engine's. The rest is the local engine.

    With one worker or one unit, the units run here, in order. Otherwise in `workers` spawned
    processes (never forked: torch and OpenCV threads do not survive a fork), in the order they
    finish; `work` and the units must then be picklable (module-level functions, partials of
    them, dataclasses). An exception raised by `work` is raised here: units that may fail
    without stopping the others catch their own expected errors and return them. The worker
    processes end within a fraction of a second when this process dies, however it dies.
    """
    if engine.on_ray:
        from vemo.engine.ray_engine import run_units_on_ray

        yield from run_units_on_ray(work, units, engine)
        return
    workers = default_workers(workers)
    if workers == 1 or len(units) <= 1:
        for unit in units:
            yield unit, work(unit)
        return
    with ProcessPoolExecutor(
        max_workers=min(workers, len(units)), mp_context=get_context("spawn"), initializer=die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        futures = {pool.submit(work, unit): unit for unit in units}
        for future in as_completed(futures):
            yield futures[future], future.result()


def run_units_with_state(
    make_state: Callable[[], State], work: Callable[[State, Unit], Result], units: Sequence[Unit], engine: EngineSettings
) -> Iterator[tuple[Unit, Result]]:
    """On Ray: `work(state, unit)` for every unit over a pool of actors, each making its `state`
    (a loaded model) once; as many actors as the engine's `workers`, or the cluster's CPUs.
    Locally there is nothing to share across processes: callers run threads over one state
    (`thread_pool`).

    Raises:
        ConfigError: a local engine (nothing to spread over).
    """
    if not engine.on_ray:
        raise ConfigError("run_units_with_state spreads units over Ray actors: give it a Ray engine", "engine")
    from vemo.engine.ray_engine import run_on_actors

    yield from run_on_actors(make_state, work, units, engine)


def check_shared_workspace(folder: Path, engine: EngineSettings) -> None:
    """On a cluster every node must see `folder` at the same path (a shared filesystem): checked
    with a probe file before any work starts. Nothing to check locally."""
    if engine.on_ray:
        from vemo.engine.ray_engine import check_shared_folder

        check_shared_folder(folder, engine)

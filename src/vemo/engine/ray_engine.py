"""The Ray engine: the one module that imports `ray` (the optional extra `vemo[ray]`).

Units run as Ray tasks with explicit CPU/GPU requests and retries: Ray reruns a unit whose
worker died, so every unit of vemo writes under temporary names and renames at the end, and
sweeps what a killed attempt left. Results come back to the driver, which alone writes tables.
Without an address a private Ray starts on this machine, with a bounded object store; with
"auto" or HOST:PORT the driver joins a cluster started by `ray start`.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from vemo.checks import host_and_port
from vemo.errors import ConfigError, VemoError

Unit = TypeVar("Unit")
Result = TypeVar("Result")
State = TypeVar("State")
RayModule = Any  # the `ray` module: imported only when asked for (the optional extra), and untyped


class Placement(Protocol):
    """Where units run (`vemo.engine.EngineSettings`, which imports this module lazily)."""

    @property
    def address(self) -> str | None: ...

    @property
    def workers(self) -> int | None: ...

    @property
    def gpus_per_worker(self) -> float: ...


log = logging.getLogger(__name__)

MAX_RETRIES = 3  # a unit whose worker dies (SIGKILL, OOM, a lost node) is tried again this often
CPUS_PER_UNIT = 1  # Ray then gives each unit one torch/OpenMP thread
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20  # small machines: results are tables, not frames
units_per_node: Counter[str] = Counter()  # node id -> units run there, for logs and tests


def require_ray() -> RayModule:
    """The `ray` module, or the one-line error that says how to get it."""
    if "RAY_AUTH_MODE" not in os.environ and _token_at_hand():
        # `ray start` (2.59+) turns token authentication on, but a driver only sends the token
        # when told to, before Ray is imported
        os.environ["RAY_AUTH_MODE"] = "token"
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs: pip install 'vemo[ray]'", "engine") from None
    return ray


def _environment() -> dict[str, str]:
    """vemo's own variables (the weights cache, the engine) travel with every task, to every node."""
    return {name: value for name, value in os.environ.items() if name.startswith("VEMO_")}


def connect(settings: Placement) -> RayModule:
    """The `ray` module, connected: to a private local Ray (no address) or to a cluster."""
    address, workers = settings.address, settings.workers
    ray = require_ray()
    if ray.is_initialized():
        return ray
    options = {
        "include_dashboard": False,
        "logging_level": logging.WARNING,
        "log_to_driver": False,
        "runtime_env": {"env_vars": _environment()},
    }
    if address is None:
        _start_private(ray, options | {"num_cpus": workers or os.cpu_count() or 1, "object_store_memory": LOCAL_OBJECT_STORE_BYTES})
    else:
        _join(ray, address, options)
    return ray


def _start_private(ray: RayModule, options: dict[str, Any]) -> None:
    """Start a Ray of this machine's own, on the calling thread: a Ray started from a helper thread
    answers `ray.init` but its first task never reaches the GCS. Its token stays the user's own."""
    if threading.current_thread() is not threading.main_thread():
        raise VemoError("a private Ray must be started from the main thread; start one with `ray start --head` and pass --address")
    token_folder = Path.home() / ".ray"
    token_folder.mkdir(mode=0o700, exist_ok=True)  # the token is written inside, readable by the user only
    ray.init(address="local", **options)  # "local": never a cluster found through $RAY_ADDRESS or `ray start`
    _only_for_the_user(token_folder / "auth_token")


def _only_for_the_user(path: Path) -> None:
    """Owner-only permissions on a secret Ray wrote with the process umask (0644 for most)."""
    try:
        if path.is_file() and path.stat().st_uid == os.getuid():
            path.chmod(0o600)
    except OSError as error:
        log.warning("could not make %s readable by its owner only: %s", path, error.strerror)


def _join(ray: RayModule, address: str, options: dict[str, Any]) -> None:
    """Join a running cluster, waiting at most `connect_timeout()` for it: Ray itself retries
    for minutes, so the call runs in a helper thread the driver stops waiting for."""
    timeout = connect_timeout()
    if address != "auto":
        _probe(address, timeout)
    outcome: list[BaseException | None] = []

    def start() -> None:
        try:
            ray.init(address=address, **options)
            outcome.append(None)
        except BaseException as error:  # handed to the caller's thread
            outcome.append(error)

    starter = threading.Thread(target=start, name="vemo-ray-connect", daemon=True)
    starter.start()
    starter.join(timeout)
    if not outcome:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address}: no answer within {timeout:g} s (VEMO_RAY_CONNECT_TIMEOUT sets the wait)", "address"
        )
    if isinstance(outcome[0], (ConnectionError, RuntimeError, ValueError)):
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {str(outcome[0]).splitlines()[0]}", "address") from None
    if outcome[0] is not None:
        raise outcome[0]


def connect_timeout() -> float:
    """Seconds to wait for a Ray cluster to answer ($VEMO_RAY_CONNECT_TIMEOUT, default 30)."""
    try:
        value = float(os.environ.get("VEMO_RAY_CONNECT_TIMEOUT", "30"))
    except ValueError:
        value = 30.0
    return value if 0 < value < 3600 else 30.0


def _probe(address: str, timeout: float) -> None:
    """Open a TCP connection to HOST:PORT, the address given and no other, before Ray tries (and
    retries other interfaces of this machine for minutes).

    Raises:
        ConfigError: not HOST:PORT, or nothing answers there within `timeout`.
    """
    try:
        socket.create_connection(host_and_port(address), timeout=min(timeout, 10)).close()
    except OSError as error:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}", "address") from None


def _token_at_hand() -> bool:
    return bool(
        os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or (Path.home() / ".ray" / "auth_token").is_file()
    )


def _in_drivers_folder(folder: str) -> None:
    """Workers start in the folder their node's Ray was started from; relative paths of the
    command line mean the driver's folder, which a shared filesystem gives every node."""
    if os.path.isdir(folder):
        os.chdir(folder)


def _run_unit(work: Callable[[Unit], Result], unit: Unit, folder: str) -> tuple[Result, str]:
    import ray

    _in_drivers_folder(folder)
    return work(unit), ray.get_runtime_context().get_node_id()


def _at_once(ray: RayModule, settings: Placement) -> int:
    """How many units run at the same time: --workers, or as many as the cluster has CPUs for."""
    return settings.workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // CPUS_PER_UNIT)


@contextmanager
def _unit_errors(ray: RayModule) -> Iterator[None]:
    """A unit's own exception raised as itself; a worker or node that died more than MAX_RETRIES
    times as one VemoError."""
    try:
        yield
    except ray.exceptions.RayTaskError as error:
        raise error.as_instanceof_cause() from None
    except ray.exceptions.RayError as error:
        raise VemoError(f"a unit of work failed on Ray after {MAX_RETRIES} retries: {str(error).splitlines()[0]}") from None


def run_units_on_ray(work: Callable[[Unit], Result], units: Sequence[Unit], settings: Placement) -> Iterator[tuple[Unit, Result]]:
    """Each unit a task, at most `_at_once` in flight; (unit, result) yielded as each finishes."""
    ray = connect(settings)
    if not units:
        return
    task = ray.remote(_run_unit).options(
        num_cpus=CPUS_PER_UNIT, num_gpus=settings.gpus_per_worker, max_retries=MAX_RETRIES, retry_exceptions=False
    )
    cap = _at_once(ray, settings)
    waiting, in_flight = list(units)[::-1], dict[object, Unit]()
    while waiting or in_flight:
        while waiting and len(in_flight) < cap:
            unit = waiting.pop()
            in_flight[task.remote(work, unit, os.getcwd())] = unit  # small: sent inline
        (ready, *_), _ = ray.wait(list(in_flight), num_returns=1)
        unit = in_flight.pop(ready)
        with _unit_errors(ray):
            result, node = ray.get(ready)
        units_per_node[node] += 1
        log.debug("unit %s ran on node %s", unit, node)
        yield unit, result


class _Holder:
    """A Ray actor holding one worker's state (a loaded model) across many units."""

    def __init__(self, make_state: Callable[[], Any], folder: str) -> None:
        _in_drivers_folder(folder)
        self.state = make_state()

    def run(self, work: Callable[[Any, Any], Any], unit: Any) -> tuple[Any, Any, str]:
        import ray

        return unit, work(self.state, unit), ray.get_runtime_context().get_node_id()


def run_on_actors(
    make_state: Callable[[], State], work: Callable[[State, Unit], Result], units: Sequence[Unit], settings: Placement
) -> Iterator[tuple[Unit, Result]]:
    """`work(state, unit)` over a pool of actors, each making its state once. An actor that dies
    is restarted (its state made again) and its unit tried again, up to MAX_RETRIES times."""
    ray = connect(settings)
    if not units:
        return
    from ray.util import ActorPool

    holder = ray.remote(_Holder).options(
        num_cpus=CPUS_PER_UNIT, num_gpus=settings.gpus_per_worker, max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES
    )
    pool = ActorPool([holder.remote(make_state, os.getcwd()) for _ in range(min(_at_once(ray, settings), len(units)))])
    with _unit_errors(ray):
        for unit, result, node in pool.map_unordered(lambda actor, unit: actor.run.remote(work, unit), list(units)):
            units_per_node[node] += 1
            yield unit, result


def _sees(path: str) -> tuple[bool, str]:
    return os.path.exists(path), socket.gethostname()


def check_shared_folder(folder: Path, settings: Placement) -> None:
    """Every alive node must see `folder` at the same path: a probe file written here is looked
    for by a task pinned to each node.

    Raises:
        ConfigError: a node does not see it, named.
    """
    ray = connect(settings)
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = Path(folder).resolve() / f".vemo-probe-{secrets.token_hex(4)}"
    probe.write_text("vemo\n")
    try:
        nodes = [node for node in ray.nodes() if node.get("Alive")]
        look = ray.remote(_sees)
        answers = ray.get(
            [
                look.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote(str(probe))
                for node in nodes
            ]
        )
    finally:
        probe.unlink(missing_ok=True)
    for node, (seen, host) in zip(nodes, answers):
        if not seen:
            raise ConfigError(
                f"{folder} is not shared with Ray node {node.get('NodeManagerAddress')} ({host}): put the "
                "workspace on a filesystem every node mounts at the same path",
                "engine",
            )

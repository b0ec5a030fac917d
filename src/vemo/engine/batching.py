"""One consumer for many producers: requests from several threads run together in large batches.

A GPU is fed best by one thread that hands it big batches and synchronises once per batch;
sixteen threads each sending a run of 40 crops give it many small synchronous calls instead.
Prediction's threads (decoding, Haar, tracking, cropping) therefore `submit` their work here
and go on; a single consumer thread drains whatever is waiting, groups it by key (requests of
one key can be stacked: crops of one network, frames of one size for MTCNN), runs each group
as one call and hands every producer its own slice back through a future, in its own order.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable, Sequence, Sized
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Output = TypeVar("Output")


class BatchQueue(Generic[Item, Output]):
    """Runs `run_group(key, items) -> outputs` (one output per item, in order) on one thread.

    Args:
        run_group: the batched work; it sees up to `max_weight` of items of one key at once.
        max_weight: how much one call may take (e.g. crops); a single larger request runs alone.
        weight: the size of one item (default 1 each).
        name: the consumer thread's name.
    """

    def __init__(
        self,
        run_group: Callable[[Hashable, Sequence[Item]], Sequence[Output]],
        max_weight: int = 512,
        weight: Callable[[Item], int] = lambda item: 1,
        name: str = "vemo-batch",
    ) -> None:
        if max_weight < 1:
            raise ValueError("max_weight must be at least 1")
        self._run_group = run_group
        self._max_weight = max_weight
        self._weight = weight
        self._requests: queue.SimpleQueue[tuple[Hashable, Item, Future[Output]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._consume, name=name, daemon=True)
        self._started = threading.Lock()
        self.calls = 0  # how many batched calls ran (the tests and benchmarks read it)
        self.items = 0

    def submit(self, key: Hashable, item: Item) -> Future[Output]:
        """Queue one item; its future gets its output (or the exception its group raised)."""
        with self._started:
            if not self._thread.is_alive():
                self._thread.start()
        future: Future[Output] = Future()
        self._requests.put((key, item, future))
        return future

    def _drain(self) -> list[tuple[Hashable, Item, Future[Output]]]:
        """The first waiting request (blocking), then whatever else waits, up to the weight limit."""
        first = self._requests.get()
        taken, total = [first], self._weight(first[1])
        while total < self._max_weight:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                break
            taken.append(request)
            total += self._weight(request[1])
        return taken

    def _consume(self) -> None:
        while True:
            groups: dict[Hashable, list[tuple[Item, Future[Output]]]] = {}
            for key, item, future in self._drain():
                groups.setdefault(key, []).append((item, future))
            for key, members in groups.items():
                self._run(key, members)

    def _run(self, key: Hashable, members: list[tuple[Item, Future[Output]]]) -> None:
        try:
            outputs = self._run_group(key, [item for item, _ in members])
            if len(outputs) != len(members):
                raise RuntimeError(f"a batched call gave {len(outputs)} outputs for {len(members)} requests")
        except BaseException as error:  # handed to every waiting producer; the consumer lives on
            for _, future in members:
                future.set_exception(error)
            return
        self.calls += 1
        self.items += len(members)
        for (_, future), output in zip(members, outputs):
            future.set_result(output)


def split_by(rows: Any, items: Sequence[Sized]) -> list[Any]:
    """`rows` (one per element of all `items`, concatenated) cut back into one slice per item: what a
    batched call over stacked requests hands each request."""
    parts, start = [], 0
    for item in items:
        parts.append(rows[start : start + len(item)])
        start += len(item)
    return parts


def done(value: Output) -> Future[Output]:
    """A future that already holds `value`: what the synchronous (CPU) path hands back, so
    callers treat both paths alike."""
    future: Future[Output] = Future()
    future.set_result(value)
    return future

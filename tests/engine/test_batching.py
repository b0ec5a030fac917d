"""The one-consumer batch queue: every producer gets its own outputs, in its order, from few calls."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from vemo.engine.batching import BatchQueue, done


def _held_queue(run_group, **options):
    """A queue whose first call waits until `release` is set, so that later requests pile up."""
    release, running = threading.Event(), threading.Event()

    def run(key, items):
        running.set()
        release.wait(10)
        return run_group(key, items)

    queue = BatchQueue(run, **options)
    queue.running = running
    return queue, release


def test_waiting_requests_run_as_one_call_and_each_gets_its_own_rows():
    queue, release = _held_queue(lambda key, items: [item * 10 for item in items], max_weight=1000, weight=len)
    first = queue.submit("k", np.arange(3))
    assert queue.running.wait(10)  # the consumer holds the first request: the others queue up behind it
    later = [queue.submit("k", np.arange(start, start + 5)) for start in range(0, 50, 5)]
    release.set()
    np.testing.assert_array_equal(first.result(5), np.arange(3) * 10)
    for start, future in zip(range(0, 50, 5), later):
        np.testing.assert_array_equal(future.result(5), np.arange(start, start + 5) * 10)
    assert queue.calls == 2 and queue.items == 11  # the first alone, the ten that waited together


def test_requests_are_grouped_by_key_and_the_weight_limit_holds():
    seen = []

    def run(key, items):
        seen.append((key, sum(len(item) for item in items)))
        return [(key, len(item)) for item in items]

    queue, release = _held_queue(run, max_weight=8, weight=len)
    futures = [queue.submit(("a" if n % 2 else "b"), [0] * 3) for n in range(8)]
    release.set()
    assert [f.result(5) for f in futures] == [("b" if n % 2 == 0 else "a", 3) for n in range(8)]
    assert all(weight <= 8 + 2 for _, weight in seen)  # one request may cross the limit, never two
    assert {key for key, _ in seen} == {"a", "b"}


def test_many_threads_get_what_one_thread_gets():
    queue = BatchQueue(lambda key, items: [np.sqrt(item) for item in items], max_weight=64, weight=len)
    inputs = [np.random.default_rng(n).random(n % 7 + 1) for n in range(200)]
    with ThreadPoolExecutor(16) as pool:
        outputs = list(pool.map(lambda x: queue.submit(None, x).result(5), inputs))
    for x, y in zip(inputs, outputs):
        np.testing.assert_array_equal(y, np.sqrt(x))
    assert queue.items == 200 and queue.calls <= 200


def test_an_error_reaches_the_requests_of_its_call_and_the_consumer_lives_on():
    def run(key, items):
        if key == "bad":
            raise ValueError("broken batch")
        return items

    queue = BatchQueue(run)
    with pytest.raises(ValueError, match="broken batch"):
        queue.submit("bad", 1).result(5)
    assert queue.submit("good", 2).result(5) == 2


def test_a_call_that_loses_outputs_is_an_error_not_a_wrong_answer():
    queue = BatchQueue(lambda key, items: items[:-1])
    with pytest.raises(RuntimeError, match="outputs"):
        queue.submit(None, 1).result(5)


def test_done_holds_its_value():
    assert done(3).result(0) == 3

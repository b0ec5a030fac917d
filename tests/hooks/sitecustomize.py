"""Fault injection for the retry tests, in every Python process started with this folder first
on PYTHONPATH (the tests' Ray head, hence its workers). The product names no test hook: this
file wraps its functions as they are imported.

With $VEMO_TEST_KILL_ONCE naming a file that does not exist yet, the process that reaches the
point $VEMO_TEST_KILL_POINT names creates the file and dies by SIGKILL, as a worker killed by
the OOM killer or an operator would: "unit" (default), the start of a Ray unit (a task, or an
actor's call); "mid-epoch", a training run after two batches of an epoch after its first.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import os
import signal
import sys

KILL_ONCE, KILL_POINT = "VEMO_TEST_KILL_ONCE", "VEMO_TEST_KILL_POINT"


def kill_once(point: str) -> None:
    sentinel = os.environ.get(KILL_ONCE)
    if not sentinel or os.environ.get(KILL_POINT, "unit") != point:
        return
    try:
        with open(sentinel, "x"):
            pass
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def killing_first(function, point: str):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        kill_once(point)
        return function(*args, **kwargs)

    return wrapper


def killing_mid_epoch(module) -> None:
    """Training's epochs and their batches watched: the kill comes after two batches of any
    epoch but the first (so the run resumes from a checkpoint)."""
    epochs: list[int] = []
    train_one_epoch, iterate_batches = module.train_one_epoch, module.iterate_batches

    @functools.wraps(train_one_epoch)
    def one_epoch(t, data, epoch):
        epochs.append(epoch)
        return train_one_epoch(t, data, epoch)

    @functools.wraps(iterate_batches)
    def batches(*args, **kwargs):
        for index, batch in enumerate(iterate_batches(*args, **kwargs)):
            if epochs and epochs[-1] > 0 and index == 2:  # two batches of this epoch trained
                kill_once("mid-epoch")
            yield batch

    module.train_one_epoch, module.iterate_batches = one_epoch, batches


def patch_ray_engine(module) -> None:
    module._run_unit = killing_first(module._run_unit, "unit")
    module._Holder.run = killing_first(module._Holder.run, "unit")


PATCHES = {"vemo.engine.ray_engine": patch_ray_engine, "vemo.training.loop": killing_mid_epoch}


class _Patcher(importlib.abc.MetaPathFinder):
    """Finds the patched modules as the normal path would, and patches them once loaded."""

    def find_spec(self, name, path, target=None):
        if name not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            PATCHES[name](module)

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get(KILL_ONCE):
    sys.meta_path.insert(0, _Patcher())

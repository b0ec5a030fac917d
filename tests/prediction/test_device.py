"""`--device auto` for prediction, and the GPU path's queue of crops, checked on the CPU."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from vemo.engine.batching import BatchQueue
from vemo.errors import ConfigError
from vemo.prediction import load_predictor, predict_media
from vemo.prediction.device import LARGE_NETWORK, auto_device


@pytest.mark.parametrize(
    "cuda, detector, parameters, expected",
    [
        (False, "mtcnn", 10**8, "cpu"),
        (True, "haar", 60_000, "cpu"),  # the mini-Xception with Haar: 0.13x on an H200's GPU
        (True, "mtcnn", 60_000, "cuda"),
        (True, "haar", LARGE_NETWORK + 1, "cuda"),  # AlexNet-sized
        (True, "haar", LARGE_NETWORK, "cpu"),
    ],
)
def test_auto_picks_the_gpu_only_for_work_it_speeds_up(cuda, detector, parameters, expected):
    device, reason = auto_device(cuda, detector, parameters)
    assert device == expected and reason.startswith("auto: ")


def test_the_verdict_says_where_the_network_ran_and_why(trained_run: Path, tiny_corpus: Path):
    video = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    verdict, _ = predict_media(video, trained_run, device="auto")
    assert verdict.device == "cpu" and verdict.device_reason.startswith("auto:")
    asked, _ = predict_media(video, trained_run, device="cpu")
    assert asked.device_reason == "asked for (--device cpu)" and asked.label == verdict.label


def test_cuda_on_a_machine_without_one_is_refused_before_loading(trained_run: Path, tiny_corpus: Path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="cuda"):
        predict_media(sorted((tiny_corpus / "videos").glob("*.mp4"))[0], trained_run, device="cuda")


def test_crops_queued_from_many_threads_get_the_probabilities_of_a_direct_call(trained_run: Path):
    """The GPU consumer's batching (`Predictor._run_queued` behind a `BatchQueue`), run on the CPU:
    every thread's runs come back as its own rows, equal to computing them alone."""
    predictor = load_predictor(trained_run, device="cpu")
    spec = predictor.preprocess.spec
    rng = np.random.default_rng(0)
    runs = [rng.integers(0, 256, (n % 9 + 1, spec.channels, spec.size, spec.size), dtype=np.uint8) for n in range(40)]
    queue = BatchQueue(predictor._run_queued, 64, weight=len)
    with ThreadPoolExecutor(8) as pool:
        queued = list(pool.map(lambda run: queue.submit(None, run).result(10), runs))
    for run, probabilities in zip(runs, queued):
        np.testing.assert_allclose(probabilities, predictor.probabilities(run), atol=1e-6)
    assert queue.items == len(runs)


def test_on_the_cpu_a_submitted_run_is_computed_at_once(trained_run: Path):
    predictor = load_predictor(trained_run, device="cpu", runtime="torch")
    spec = predictor.preprocess.spec
    future = predictor.submit(np.zeros((3, spec.channels, spec.size, spec.size), np.uint8))
    assert future.done() and future.result().shape == (3, len(predictor.classes))

"""Where prediction runs under `--device auto`: the GPU only for work it is measured to speed up.

Measured on an H200 machine with 16 cores (vemo at 734311f, the issue of the GPU path): the
FER2013 mini-Xception with Haar faces ran at 169 frames/s on CUDA against 1,306 on the CPU,
because a frame's time is the detector's and the crop's, and a network of a few hundred
thousand weights costs less than the copies to and from the GPU. MTCNN's nets are where a GPU
pays, and networks of millions of weights (AlexNet, MobileNet, EfficientNet) cost far more
than the detector on a CPU. So "auto" picks CUDA for MTCNN or for a network above
`LARGE_NETWORK`, and the CPU otherwise; the verdict JSON and `-v` say which and why.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vemo.errors import ConfigError
from vemo.faces.recipe import CropRecipe
from vemo.models.inputs import cpu_until_placed
from vemo.prediction.onnx.file import OnnxNetwork
from vemo.prediction.onnx.runtime import cached_onnx_predictor, check_runtime, with_onnx_runtime
from vemo.prediction.predictor import Predictor, crop_recipe_for, load_predictor

log = logging.getLogger(__name__)

LARGE_NETWORK = 1_000_000  # weights: above this a network outweighs the detector on a CPU


def auto_device(cuda_available: bool, detector: str, parameters: int) -> tuple[str, str]:
    """("cuda" or "cpu", why) for prediction with `detector` faces and a network of `parameters` weights."""
    if not cuda_available:
        return "cpu", "auto: no CUDA device"
    if detector == "mtcnn":
        return "cuda", "auto: MTCNN's nets run faster on the GPU"
    if parameters > LARGE_NETWORK:
        return "cuda", f"auto: a network of {parameters:,} weights runs faster on the GPU"
    return "cpu", (
        f"auto: a network of {parameters:,} weights with {detector} faces is faster on the CPU "
        "(the GPU's copies cost more than the network)"
    )


def place_for_work(predictor: Predictor, requested: str, detector: str, runtime: str = "auto") -> Predictor:
    """Move a predictor loaded on the CPU to the device `requested` ("auto", "cpu", "cuda")
    chooses for `detector` faces; records the reason in the predictor (and the log). On the CPU,
    `runtime` "auto" or "onnx" runs the network with ONNX Runtime (`vemo.prediction.onnx.runtime`).

    Raises:
        ConfigError: an unknown runtime, or "onnx" for a network that cannot be run that way.
    """
    check_runtime(runtime)
    onnx_file = predictor.runtime != "torch"
    if onnx_file and runtime == "torch":
        raise ConfigError(f"{predictor.description} is an ONNX file: it runs with ONNX Runtime only", "runtime")
    if requested == "auto" and onnx_file:
        name, reason = "cpu", "auto: ONNX files run with ONNX Runtime on the CPU"
    elif requested == "auto":
        import torch

        network = predictor.model
        parameters = 0 if isinstance(network, OnnxNetwork) else sum(p.numel() for p in network.parameters())
        name, reason = auto_device(torch.cuda.is_available(), detector, parameters)
    else:
        name, reason = requested, f"asked for (--device {requested})"
    predictor.move_to(name, reason)
    log.debug("prediction on %s: %s", name, reason)
    if name != "cpu" or runtime == "torch" or onnx_file:
        return predictor
    swapped = with_onnx_runtime(predictor)
    if swapped is None and runtime == "onnx":
        raise ConfigError(f"{predictor.description}: cannot run with ONNX Runtime (see -v); use --runtime torch", "runtime")
    log.debug("network run by %s", "ONNX Runtime" if swapped else "PyTorch")
    return swapped or predictor


def load_for_work(
    model: str | Path,
    device: str,
    classes: str | None = None,
    runtime: str = "auto",
    align: bool | None = None,
    detector: str | None = None,
) -> tuple[Predictor, CropRecipe]:
    """The predictor for `model` placed as `place_for_work` places it, and its crop recipe with
    the caller's overrides (`crop_recipe_for`). On the CPU with the network's ONNX export
    already cached, nothing loads torch.

    Raises:
        CheckpointError, ConfigError, WeightsError: an unusable model, device or runtime.
    """
    cpu_until_placed(device)  # an unknown device, or CUDA asked for on a machine without it, fails here
    cached = cached_onnx_predictor(model, device, classes, runtime)  # checks the runtime
    if cached is not None:
        log.debug(
            "prediction on cpu: %s; network run by ONNX Runtime from the cached export %s (torch not loaded)",
            cached.device_reason,
            cached.model.description,
        )
        return cached, crop_recipe_for(cached, align, detector)
    predictor = load_predictor(model, "cpu", classes)
    recipe = crop_recipe_for(predictor, align, detector)
    return place_for_work(predictor, device, recipe.detector, runtime), recipe

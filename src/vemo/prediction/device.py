"""Where prediction runs under `--device auto`: the GPU only for work it is measured to speed up.

Measured on an H200 machine with 16 cores (docs/gpu.md): the
FER2013 mini-Xception with Haar faces ran at 169 frames/s on CUDA against 1,306 on the CPU,
because a frame's time is the detector's and the crop's, and a network of a few hundred
thousand weights costs less than the copies to and from the GPU. MTCNN's nets are where a GPU
pays, and networks of millions of weights (AlexNet, MobileNet, EfficientNet) cost far more
than the detector on a CPU. So "auto" picks CUDA for MTCNN or for a network above
`LARGE_NETWORK`, and the CPU otherwise; the verdict JSON and `-v` say which and why.
"""

from __future__ import annotations

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

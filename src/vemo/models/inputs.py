"""How a model sees a face: the input spec (size, colour, resize), the pixel preset, the device,
and batched inference, recorded with every run so evaluation and prediction match training.

Two pixel presets (the training presets' pixels): "vemo" scales pixels to 0..1 and normalises with the model's mean and std;
"paper" feeds raw 0..255 pixels, as the authors' notebook does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vemo.checks import require_number
from vemo.errors import ConfigError
from vemo.models.registry import ModelInfo

if TYPE_CHECKING:  # torch loads where a tensor is made: ONNX Runtime's prediction path never needs it
    import torch
    from torch import nn

PRESETS = ("vemo", "paper")
RESIZE_METHODS = {"area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR}
DEVICES = ("auto", "cpu", "cuda")
MAX_INPUT_SIZE = 1024  # side of a model's input: the largest network here takes 227, a crop is at most 2048
MAX_PIXEL_VALUE = 1000.0  # bound of a mean or std: pixels reach 255 before scaling


@dataclass(frozen=True)
class InputSpec:
    """What a model takes: a square `size`, "rgb" or "gray", and how crops are resized.

    "nearest" reproduces the authors' notebook; "area" is the better default for shrinking.
    """

    size: int
    color: str = "rgb"
    resize: str = "area"

    def __post_init__(self) -> None:
        if self.size < 8 or self.color not in ("rgb", "gray") or self.resize not in RESIZE_METHODS:
            raise ConfigError(f"bad input spec {self}: size >= 8, color rgb|gray, resize {'|'.join(RESIZE_METHODS)}")

    @property
    def channels(self) -> int:
        return 3 if self.color == "rgb" else 1


def crop_to_array(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A (H, W, 3) uint8 BGR crop (or an (H, W) grayscale one, for a grayscale model) as the
    model's (C, size, size) uint8 input: the one place training and prediction resize and
    convert crops, so both see the same pixels."""
    if image.shape[:2] != (spec.size, spec.size):
        image = cv2.resize(image, (spec.size, spec.size), interpolation=RESIZE_METHODS[spec.resize])
    if image.ndim == 2:
        if spec.color != "gray":
            raise ConfigError("a grayscale crop was given to a colour model")
        return image[None]
    if spec.color == "gray":
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[None]
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)


@dataclass(frozen=True)
class Preprocess:
    """uint8 (B, C, H, W) -> float (B, C, H, W): x * scale, then (x - mean) / std."""

    size: int
    color: str
    resize: str
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        require_number(self.size, "size", 8, MAX_INPUT_SIZE)
        if self.color not in ("rgb", "gray") or self.resize not in RESIZE_METHODS:
            raise ConfigError(
                f"color must be rgb or gray and resize one of {', '.join(RESIZE_METHODS)}, not {self.color!r} and {self.resize!r}",
                "color",
                "resize",
            )
        require_number(self.scale, "scale", 0, 1, low_open=True)
        channels = 3 if self.color == "rgb" else 1
        for name, values, low in (("mean", self.mean, -MAX_PIXEL_VALUE), ("std", self.std, 0)):
            if not isinstance(values, tuple) or len(values) != channels:
                raise ConfigError(f"{name} must hold {channels} numbers (one per channel), not {values!r}", name)
            for value in values:
                require_number(value, name, low, MAX_PIXEL_VALUE, low_open=name == "std")

    @property
    def spec(self) -> InputSpec:
        return InputSpec(self.size, self.color, self.resize)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        x = images.float() * self.scale
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def array(self, images: np.ndarray) -> np.ndarray:
        """The same for a uint8 NumPy batch, in float32 and the same order of operations as the
        tensor version, so both give the same values (ONNX Runtime's input)."""
        x = images.astype(np.float32) * np.float32(self.scale)
        mean = np.asarray(self.mean, np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(1, -1, 1, 1)
        return (x - mean) / std

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Preprocess:
        """Raises:
        ConfigError: a field missing, of the wrong type or out of its range, named.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"an input spec must be an object, not {type(data).__name__}")
        missing = [key for key in ("size", "color", "resize", "scale", "mean", "std") if key not in data]
        if missing:
            raise ConfigError(f"an input spec needs {', '.join(missing)}", *missing)
        if not all(isinstance(data[key], list) for key in ("mean", "std")):
            raise ConfigError("mean and std must be lists of numbers, one per channel", "mean", "std")
        if isinstance(data["size"], bool) or not isinstance(data["size"], int):
            raise ConfigError(f"size must be a whole number, not {data['size']!r}", "size")
        return cls(data["size"], data["color"], data["resize"], data["scale"], tuple(data["mean"]), tuple(data["std"]))


def preprocess_for(info: ModelInfo, preset: str) -> Preprocess:
    """The input spec of a model trained with the training preset `preset`.

    Raises:
        ConfigError: unknown preset.
    """
    if preset == "vemo":
        return Preprocess(info.input_size, info.color, "area", 1 / 255, info.mean, info.std)
    if preset == "paper":
        channels = 3 if info.color == "rgb" else 1
        return Preprocess(info.input_size, info.color, "nearest", 1.0, (0.0,) * channels, (1.0,) * channels)
    raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, not {preset!r}", "preset")


def resolve_device(name: str) -> torch.device:
    """ "auto" -> cuda when available, else cpu.

    Raises:
        ConfigError: cuda asked for but not available, or an unknown name.
    """
    import torch

    if name not in DEVICES:
        raise ConfigError(f"device must be auto, cpu or cuda, not {name!r}", "device")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda asked for, but this machine has no CUDA GPU", "device")
    return torch.device(name)


def cpu_until_placed(name: str) -> str:
    """ "cpu", after checking that `name` is a device this machine has: a model is loaded there
    and moved once the work it will do (and so the device that suits it) is known. Only "cuda"
    loads torch, to ask it.

    Raises:
        ConfigError: as `resolve_device`.
    """
    if name not in ("auto", "cpu"):
        resolve_device(name)
    return "cpu"


def batched_logits(
    model: nn.Module,
    images: torch.Tensor,
    preprocess: Preprocess,
    device: str | torch.device,
    batch_size: int = 100,
    channels_last: bool = False,
) -> torch.Tensor:
    """Logits (N, C) as float32 on the CPU for uint8 images (N, C, H, W), in eval mode, in batches;
    on a GPU the batches queue up and the host waits once, at the end.

    `channels_last` hands the batches over in NHWC memory order, which runs the convolutions of
    a model converted with `.to(memory_format=torch.channels_last)` 1.5-2x faster on CPU (oneDNN).
    """
    import torch

    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            # uint8 crosses to the device (a quarter of float's bytes) and is scaled there
            x = preprocess(images[start : start + batch_size].to(device, non_blocking=True))
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            outputs.append(model(x).float())
    return torch.cat(outputs).cpu() if outputs else torch.empty(0, 0)  # one synchronisation for the lot

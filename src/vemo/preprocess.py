"""How uint8 crops become model input, recorded with every run so prediction matches training.

Two recipes: "vemo" scales pixels to 0..1 and normalises with the model's mean and std;
"paper" feeds raw 0..255 pixels, as the authors' notebook does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from vemo.data.dataset import InputSpec
from vemo.errors import ConfigError
from vemo.models.registry import ModelInfo

RECIPES = ("vemo", "paper")


@dataclass(frozen=True)
class Preprocess:
    """uint8 (B, C, H, W) -> float (B, C, H, W): x * scale, then (x - mean) / std."""

    size: int
    color: str
    resize: str
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def spec(self) -> InputSpec:
        return InputSpec(self.size, self.color, self.resize)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() * self.scale
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Preprocess:
        return cls(data["size"], data["color"], data["resize"], data["scale"], tuple(data["mean"]), tuple(data["std"]))


def preprocess_for(info: ModelInfo, recipe: str) -> Preprocess:
    """The input recipe of a model.

    Raises:
        ConfigError: unknown recipe.
    """
    if recipe == "vemo":
        return Preprocess(info.input_size, info.color, "area", 1 / 255, info.mean, info.std)
    if recipe == "paper":
        channels = 3 if info.color == "rgb" else 1
        return Preprocess(info.input_size, info.color, "nearest", 1.0, (0.0,) * channels, (1.0,) * channels)
    raise ConfigError(f"--recipe must be one of {', '.join(RECIPES)}, not {recipe!r}")

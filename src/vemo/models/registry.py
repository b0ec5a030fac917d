"""One registry for architectures: name -> builder, input size, colour mode, normalisation.

Builders register themselves with `@register_model`; `create_model` is the one way to build
one. This module imports no architecture (`vemo.models` imports them all, which registers
them) and knows nothing of pretrained weights: `vemo.weights.build_model(name, weights=...)`
loads those onto what `create_model` builds, the way torchvision's `_api.py` and timm's
`_registry.py` stay below the models they list.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from vemo.errors import ConfigError, UnknownModelError

if TYPE_CHECKING:  # torch loads with the first architecture built: a model's facts do not need it
    from torch import nn


@dataclass(frozen=True)
class ModelInfo:
    """What a model needs from the data, and which layer is its classification head."""

    name: str
    builder: Callable[..., nn.Module]
    input_size: int
    color: str = "rgb"
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)  # after scaling pixels to 0..1
    std: tuple[float, ...] = (0.5, 0.5, 0.5)
    description: str = ""
    kind: str = "neural"  # "neural" (trained by gradient descent) or "classical" (fitted once, `model.fit`)
    head: str | None = None  # dotted attribute path of the last layer: replaced for new classes, trained first


_REGISTRY: dict[str, ModelInfo] = {}
# where the built-in models live: imported on first use, so a process pays only for the models it uses
BUILTIN_MODULES = {
    "lenet": "vemo.models.lenet",
    "alexnet": "vemo.models.alexnet",
    "minixception": "vemo.models.minixception",
    "mobilenet_v2": "vemo.models.mobilenet",
    "efficientnet_lite0": "vemo.models.efficientnet",
    "lgbp": "vemo.models.lgbp",
}


def _load(name: str) -> None:
    """Import the module of a built-in model (which registers it)."""
    if name not in _REGISTRY and name in BUILTIN_MODULES:
        importlib.import_module(BUILTIN_MODULES[name])


def register_model(
    name: str,
    *,
    input_size: int,
    color: str = "rgb",
    mean: tuple[float, ...] = (0.5, 0.5, 0.5),
    std: tuple[float, ...] = (0.5, 0.5, 0.5),
    description: str = "",
    kind: str = "neural",
    head: str | None = None,
) -> Callable:
    """Decorator registering `builder(num_classes) -> nn.Module` under `name`.

    Raises:
        ConfigError: the name is taken.
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if builder.__module__ != BUILTIN_MODULES.get(name):
            _load(name)  # a built-in name is taken even before its module is imported
        if name in _REGISTRY:
            raise ConfigError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelInfo(name, builder, input_size, color, mean, std, description, kind, head)
        return builder

    return decorate


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    for name in BUILTIN_MODULES:
        _load(name)
    return sorted(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    """The registry entry of `name`.

    Raises:
        UnknownModelError: not registered; the message lists what is.
    """
    _load(name)
    if name not in _REGISTRY:
        known = sorted(set(_REGISTRY) | set(BUILTIN_MODULES))
        raise UnknownModelError(f"unknown model {name!r}; choose one of {', '.join(known)}")
    return _REGISTRY[name]


def create_model(name: str, num_classes: int = 4) -> nn.Module:
    """Build a registered model with `num_classes` outputs (logits), randomly initialised.

    Raises:
        UnknownModelError: unknown name.
        ConfigError: fewer than two classes.
    """
    info = model_info(name)
    if num_classes < 2:
        raise ConfigError(f"num_classes must be at least 2, not {num_classes}", "num_classes")
    return info.builder(num_classes=num_classes)


def replace_head(model: nn.Module, info: ModelInfo, num_classes: int) -> None:
    """Swap the model's last layer for a fresh one with `num_classes` outputs, same kind and shape."""
    from torch import nn

    if info.head is None:
        raise ConfigError(f"model {info.name!r} has no head to replace")
    parent_path, _, attribute = info.head.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    old = getattr(parent, attribute)
    if isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    elif isinstance(old, nn.Conv2d):
        kernel, stride = cast(tuple[int, int], old.kernel_size), cast(tuple[int, int], old.stride)
        padding = cast("str | tuple[int, int]", old.padding)
        new = nn.Conv2d(old.in_channels, num_classes, kernel, stride, padding, bias=old.bias is not None)
    else:
        raise ConfigError(f"cannot replace head {info.head!r} of type {type(old).__name__}")
    setattr(parent, attribute, new)


def head_parameter_names(model: nn.Module, info: ModelInfo) -> set[str]:
    """Names (as in `named_parameters`) of the head's parameters: what a frozen warm-up trains."""
    if info.head is None:
        return set()
    return {f"{info.head}.{name}" for name, _ in model.get_submodule(info.head).named_parameters()}


def keras_parameter_count(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameters counted as Keras does: batch-norm running mean and
    variance count as (non-trainable) parameters."""
    from torch import nn

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    running = sum(
        m.running_mean.numel() + m.running_var.numel()
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None and m.running_var is not None
    )
    return trainable + frozen + running, trainable

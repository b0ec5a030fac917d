"""One registry for architectures: name -> builder, input size, colour mode, normalisation.

Builders register themselves with `@register_model`; `create_model` is the one way to build
one. Pretrained models register here too, with their own input sizes and weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from vemo.errors import ConfigError, UnknownModelError


@dataclass(frozen=True)
class ModelInfo:
    """What a model needs from the data, and where its weights may come from."""

    name: str
    builder: Callable[..., nn.Module]
    input_size: int
    color: str = "rgb"
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)  # after scaling pixels to 0..1
    std: tuple[float, ...] = (0.5, 0.5, 0.5)
    description: str = ""
    weights: dict[str, object] = field(default_factory=dict)
    kind: str = "neural"  # "neural" (trained by gradient descent) or "classical" (fitted once, `model.fit`)


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(name: str, *, input_size: int, color: str = "rgb", mean: tuple[float, ...] = (0.5, 0.5, 0.5),
                   std: tuple[float, ...] = (0.5, 0.5, 0.5), description: str = "",
                   weights: dict[str, object] | None = None, kind: str = "neural") -> Callable:
    """Decorator registering `builder(num_classes) -> nn.Module` under `name`.

    Raises:
        ConfigError: the name is taken.
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ConfigError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelInfo(name, builder, input_size, color, mean, std, description, weights or {}, kind)
        return builder

    return decorate


def _load_builtin() -> None:
    from vemo.models import alexnet, lenet, lgbp  # noqa: F401  (registers them)


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    """The registry entry of `name`.

    Raises:
        UnknownModelError: not registered; the message lists what is.
    """
    _load_builtin()
    if name not in _REGISTRY:
        raise UnknownModelError(f"unknown model {name!r}; choose one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def create_model(name: str, num_classes: int = 4, weights: str | None = None) -> nn.Module:
    """Build a registered model with `num_classes` outputs (logits).

    Raises:
        UnknownModelError: unknown name.
        ConfigError: weights the model does not have.
    """
    info = model_info(name)
    if weights is not None and weights not in info.weights:
        available = ", ".join(info.weights) or "none"
        raise ConfigError(f"model {name!r} has no weights {weights!r} (available: {available})")
    if num_classes < 2:
        raise ConfigError(f"num_classes must be at least 2, not {num_classes}")
    return info.builder(num_classes=num_classes)


def keras_parameter_count(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameters counted as Keras does: batch-norm running mean and
    variance count as (non-trainable) parameters."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    running = sum(m.running_mean.numel() + m.running_var.numel()
                  for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats)
    return trainable + frozen + running, trainable

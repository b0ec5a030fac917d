"""A registered architecture with pretrained weights on it: the pretrained branch of building a model.

`vemo.models.create_model` builds architectures and knows nothing of weights; this module
puts cached weights on what it builds and, for other classes, a new head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vemo.errors import ConfigError
from vemo.models import create_model, model_info
from vemo.models.registry import replace_head
from vemo.weights.catalog import get_entry
from vemo.weights.store import cache_dir, load_pretrained

if TYPE_CHECKING:
    from torch import nn


def build_model(name: str, num_classes: int = 4, weights: str | None = None) -> nn.Module:
    """Build a registered model with `num_classes` outputs (logits).

    With `weights` (a name from `vemo weights list`), the pretrained weights are loaded from the
    local cache (fetched there first if needed); when their classes differ in number from
    `num_classes`, the head is replaced by a new, randomly initialised one.

    Raises:
        UnknownModelError: unknown name.
        ConfigError: unknown weights, or weights made for another architecture.
        WeightsError: weights that cannot be fetched or fail their checksum.
    """
    if weights is None:
        return create_model(name, num_classes=num_classes)
    info = model_info(name)
    if num_classes < 2:
        raise ConfigError(f"num_classes must be at least 2, not {num_classes}", "num_classes")
    meant_for = get_entry(weights, cache_dir()).model
    if meant_for != name:
        raise ConfigError(f"weights {weights!r} are for model {meant_for!r}, not {name!r}", "weights")
    model, entry = load_pretrained(weights)
    if len(entry.classes) != num_classes:
        replace_head(model, info, num_classes)
    return model

"""Batch norms folded into the convolutions before them, for inference.

In eval mode a BatchNorm2d is a per-channel scale and shift, which the convolution before it
can absorb (`torch.nn.utils.fusion.fuse_conv_bn_eval`): one pass over the activations instead
of two, the same outputs up to float rounding. Only for a model that will not be trained again.
"""

from __future__ import annotations

import copy

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _last_conv(module: nn.Module) -> tuple[nn.Module, str] | None:
    """(owner, attribute) of the convolution whose output `module` returns, when it has one:
    the module itself, or the one its `output_conv` attribute names (a separable convolution's
    pointwise step)."""
    name = getattr(module, "output_conv", None)
    if name is not None and isinstance(getattr(module, name), nn.Conv2d):
        return module, name
    return None


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` in which every BatchNorm2d that directly follows a Conv2d
    inside an nn.Sequential is folded into it and replaced by nn.Identity."""
    folded = copy.deepcopy(model).eval()
    for sequence in [m for m in folded.modules() if isinstance(m, nn.Sequential)]:
        children = list(sequence.named_children())
        for (conv_name, conv), (norm_name, norm) in zip(children, children[1:]):
            if not isinstance(norm, nn.BatchNorm2d) or not norm.track_running_stats:
                continue
            owner, attribute = (sequence, conv_name) if isinstance(conv, nn.Conv2d) else (_last_conv(conv) or (None, ""))
            if owner is None:
                continue
            setattr(owner, attribute, fuse_conv_bn_eval(getattr(owner, attribute), norm))
            setattr(sequence, norm_name, nn.Identity())
    return folded

"""Folding batch norms into convolutions changes no output, and leaves no foldable norm behind."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vemo.models import create_model, model_info
from vemo.models.fusion import fold_batch_norms


def _with_trained_statistics(model: nn.Module) -> nn.Module:
    """Random running statistics and affine parameters, as a trained network has (fresh ones are 0 and 1)."""
    generator = torch.Generator().manual_seed(0)
    for norm in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        norm.running_mean.copy_(torch.randn(norm.num_features, generator=generator) * 0.5)
        norm.running_var.copy_(torch.rand(norm.num_features, generator=generator) + 0.5)
        norm.weight.data.copy_(torch.rand(norm.num_features, generator=generator) + 0.5)
        norm.bias.data.copy_(torch.randn(norm.num_features, generator=generator) * 0.1)
    return model.eval()


@pytest.mark.parametrize(("name", "left"), [("minixception", 0), ("mobilenet_v2", 0), ("alexnet", 5)])
def test_folded_model_gives_the_same_outputs(name: str, left: int):
    """The paper's AlexNet normalises after the ReLU: nothing to fold there, and nothing is."""
    info = model_info(name)
    model = _with_trained_statistics(create_model(name, num_classes=4))
    folded = fold_batch_norms(model)
    channels = 3 if info.color == "rgb" else 1
    x = torch.randn(2, channels, info.input_size, info.input_size, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected, got = model(x), folded(x)
    assert torch.allclose(expected, got, rtol=1e-4, atol=1e-4), (expected - got).abs().max()
    before = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    after = sum(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert before > 0 and after == left
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == before  # the original is untouched

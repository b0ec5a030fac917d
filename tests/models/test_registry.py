"""The registry: the paper's exact parameter counts, and every model trains a step."""

from __future__ import annotations

import pytest
import torch

from vemo.errors import ConfigError, UnknownModelError
from vemo.models import create_model, keras_parameter_count, list_models, model_info
from vemo.models.registry import register_model
from vemo.weights import build_model


def test_lenet_has_the_papers_61496_parameters():
    assert keras_parameter_count(create_model("lenet", num_classes=4)) == (61_496, 61_496)


def test_alexnet_has_56337156_parameters_counted_as_keras_does():
    """The paper prints 56,377,156: a typo for 56,337,156 (56,334,404 trainable)."""
    assert keras_parameter_count(create_model("alexnet", num_classes=4)) == (56_337_156, 56_334_404)


@pytest.mark.parametrize("name", list_models())
def test_forward_and_backward_for_every_model(name: str):
    info = model_info(name)
    model = create_model(name, num_classes=4)
    channels = 3 if info.color == "rgb" else 1
    if info.kind == "classical":  # fitted, not trained by gradients: fit, then predict
        images = torch.randint(0, 256, (12, channels, info.input_size, info.input_size), dtype=torch.uint8)
        model.fit(images, torch.arange(12) % 4)
        assert model(images[:2].float()).shape == (2, 4)
        return
    x = torch.randn(2, channels, info.input_size, info.input_size)
    logits = model(x)
    assert logits.shape == (2, 4)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 3])).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)


def test_unknown_and_duplicate_names():
    with pytest.raises(UnknownModelError, match="lenet"):
        create_model("resnet9000")
    with pytest.raises(ConfigError, match="twice"):
        register_model("lenet", input_size=28)(lambda num_classes: None)
    with pytest.raises(ConfigError, match="unknown weights 'imagenet'; known: .*fer2013-minixception"):
        build_model("lenet", weights="imagenet")

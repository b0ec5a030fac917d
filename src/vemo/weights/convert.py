"""Turn a downloaded weights file into a PyTorch state dict, without unpickling anything untrusted.

Keras HDF5 files are read with h5py (no TensorFlow): the layers with weights are taken in the
order of the model's own graph description and matched, type by type and shape by shape, to
the PyTorch modules in their registration order. PyTorch `.pth` files are read with
`torch.load(weights_only=True)`, which only rebuilds tensors and plain containers, and only
after their sha256 matched the catalogue.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from vemo.errors import WeightsError
from vemo.models.minixception import SeparableConv2d

KERAS_WEIGHTED_LAYERS = ("Conv2D", "SeparableConv2D", "BatchNormalization", "Dense")


def keras_layers(path: Path) -> list[tuple[str, str, dict[str, np.ndarray]]]:
    """(class name, layer name, {weight name: array}) of each layer with weights, in graph order.

    Raises:
        WeightsError: not a Keras HDF5 model file.
    """
    try:
        with h5py.File(path, "r") as file:
            config = json.loads(file.attrs["model_config"])
            group = file.get("model_weights", file)
            layers = []
            for layer in config["config"]["layers"]:
                if layer["class_name"] not in KERAS_WEIGHTED_LAYERS:
                    continue
                name = layer["config"]["name"]
                arrays: dict[str, np.ndarray] = {}
                group[name].visititems(
                    lambda key, item, into=arrays: (
                        into.__setitem__(key.rsplit("/", 1)[-1].split(":")[0], item[()]) if isinstance(item, h5py.Dataset) else None
                    )
                )
                layers.append((layer["class_name"], name, arrays))
            return layers
    except (OSError, KeyError, json.JSONDecodeError, TypeError) as error:
        raise WeightsError(f"{path}: not a Keras HDF5 model ({error})") from error


def _torch_weighted_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that own weights, in registration order; a SeparableConv2d counts as one."""
    found: list[tuple[str, nn.Module]] = []
    skip: set[str] = set()
    for name, module in model.named_modules():
        if any(name.startswith(prefix + ".") for prefix in skip):
            continue
        if isinstance(module, SeparableConv2d):
            skip.add(name)
            found.append((name, module))
        elif isinstance(module, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)):
            found.append((name, module))
    return found


def _keras_to_torch(class_name: str, arrays: dict[str, np.ndarray], module: nn.Module) -> dict[str, np.ndarray]:
    """One Keras layer's arrays as the PyTorch module's state-dict entries (relative names)."""
    if class_name == "Conv2D":
        out = {"weight": arrays["kernel"].transpose(3, 2, 0, 1)}  # (kh, kw, in, out) -> (out, in, kh, kw)
        if "bias" in arrays:
            out["bias"] = arrays["bias"]
        return out
    if class_name == "SeparableConv2D":
        return {
            "depthwise.weight": arrays["depthwise_kernel"].transpose(2, 3, 0, 1),  # (kh, kw, in, 1) -> (in, 1, kh, kw)
            "pointwise.weight": arrays["pointwise_kernel"].transpose(3, 2, 0, 1),
        }
    if class_name == "BatchNormalization":
        return {
            "weight": arrays["gamma"],
            "bias": arrays["beta"],
            "running_mean": arrays["moving_mean"],
            "running_var": arrays["moving_variance"],
        }
    return {"weight": arrays["kernel"].T, "bias": arrays["bias"]}  # Dense


def keras_state_dict(path: Path, model: nn.Module) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """The state dict for `model` from a Keras HDF5 file, and the layer-by-layer match.

    Raises:
        WeightsError: the two networks differ in layer count, kind or any weight shape.
    """
    layers = keras_layers(path)
    modules = _torch_weighted_modules(model)
    if len(layers) != len(modules):
        raise WeightsError(f"{path}: {len(layers)} Keras layers with weights, the PyTorch model has {len(modules)}")
    expected = {"Conv2D": nn.Conv2d, "SeparableConv2D": SeparableConv2d, "BatchNormalization": nn.BatchNorm2d, "Dense": nn.Linear}
    reference = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    report = []
    for (class_name, keras_name, arrays), (torch_name, module) in zip(layers, modules):
        if not isinstance(module, expected[class_name]):
            raise WeightsError(f"{path}: Keras layer {keras_name} ({class_name}) meets {torch_name} ({type(module).__name__})")
        for key, array in _keras_to_torch(class_name, arrays, module).items():
            full = f"{torch_name}.{key}"
            if tuple(reference[full].shape) != array.shape:
                raise WeightsError(f"{path}: {keras_name} gives {full} shape {array.shape}, the model wants {tuple(reference[full].shape)}")
            state[full] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
            report.append({"keras": f"{keras_name}/{key}", "torch": full, "shape": list(array.shape)})
    for key, value in reference.items():  # batch-norm counters: not in Keras files
        state.setdefault(key, value)
    return state, report


def torch_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a `.pth` state dict, loaded with `weights_only=True` (no arbitrary unpickling).

    Raises:
        WeightsError: not a plain state dict.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  (torch raises many kinds for a bad file)
        raise WeightsError(f"{path}: not a loadable PyTorch state dict ({type(error).__name__}: {error})") from error
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise WeightsError(f"{path}: expected a dict of tensors")
    return dict(state)


_FLAT_BLOCK = re.compile(r"_blocks\.(\d+)\.(\w+)\.(.+)")
_FLAT_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_FLAT_EXPANDED = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_FLAT_UNEXPANDED = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}


def map_flat_efficientnet_keys(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename an EfficientNet state dict in the flat `_blocks.N._layer` layout to timm's
    `blocks.STAGE.INDEX.layer` layout: block N is timm's N-th block counted across stages."""
    stages = model.get_submodule("blocks").children()
    positions = [(stage, index) for stage, blocks in enumerate(stages) for index in range(len(list(blocks.children())))]
    expanded = {int(m[1]) for key in state if (m := _FLAT_BLOCK.match(key)) and m[2] == "_expand_conv"}
    renamed = {}
    for key, value in state.items():
        match = _FLAT_BLOCK.match(key)
        if match:
            number, layer, rest = int(match[1]), match[2], match[3]
            if number >= len(positions):
                raise WeightsError(f"block {number} in the weights, the model has {len(positions)}")
            stage, index = positions[number]
            names = _FLAT_EXPANDED if number in expanded else _FLAT_UNEXPANDED
            renamed[f"blocks.{stage}.{index}.{names[layer]}.{rest}"] = value
        else:
            top, rest = key.split(".", 1)
            renamed[f"{_FLAT_TOP.get(top, top)}.{rest}"] = value
    return renamed


def state_dict_for(entry_format: str, key_map: str, path: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of `model` from a verified weights file, whatever its format.

    Raises:
        WeightsError: unreadable file or keys / shapes that do not fit the model.
    """
    if entry_format == "keras-hdf5":
        return keras_state_dict(path, model)[0]
    state = torch_state_dict(path) if entry_format == "torch-state-dict" else load_file(str(path))
    if key_map == "efficientnet-lite0-flat-blocks":
        state = map_flat_efficientnet_keys(state, model)
    try:
        model.load_state_dict(state)  # checks every key and shape
    except RuntimeError as error:
        raise WeightsError(f"{path} does not fit the model: {str(error).splitlines()[0]}") from error
    return model.state_dict()

"""The Keras HDF5 -> PyTorch conversion, proved on a file the test writes (no network)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from vemo.errors import WeightsError
from vemo.models import create_model
from vemo.weights.convert import keras_state_dict, map_flat_efficientnet_keys, torch_state_dict


@pytest.fixture()
def keras_file(tmp_path, keras_reference):
    path = tmp_path / "mini.hdf5"
    keras_reference[0](path, seed=1)
    return path


def test_converted_minixception_matches_an_independent_keras_forward_pass(keras_file, keras_reference):
    model = create_model("minixception", num_classes=7)
    state, report = keras_state_dict(keras_file, model)
    model.load_state_dict(state)
    model.eval()
    images = np.random.default_rng(0).uniform(-1, 1, (5, 64, 64, 1))
    expected = keras_reference[1](keras_file, images)
    with torch.no_grad():
        got = torch.softmax(model(torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2)), 1).numpy()
    assert np.abs(got - expected).max() < 1e-5
    assert (got.argmax(1) == expected.argmax(1)).all()
    # layer by layer: 29 Keras layers with weights (4 stem, 6 per block, the head) fill every
    # parameter and statistic of the model
    assert len({row["keras"].split("/")[0] for row in report}) == 29
    assert {row["torch"] for row in report} == {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}


def test_a_wrong_shape_is_refused_with_the_layer_named(keras_file):
    with h5py.File(keras_file, "r+") as file:
        del file["model_weights/head/head/kernel:0"]
        file["model_weights/head/head"].create_dataset("kernel:0", data=np.zeros((3, 3, 128, 5), np.float32))
    with pytest.raises(WeightsError, match="head.*shape"):
        keras_state_dict(keras_file, create_model("minixception", num_classes=7))


def test_not_a_keras_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.hdf5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(WeightsError, match="not a Keras HDF5 model"):
        keras_state_dict(path, create_model("minixception", num_classes=7))


def test_pth_files_are_loaded_without_unpickling_objects(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("executed!",))

    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(2), "payload": Evil()}, path)
    with pytest.raises(WeightsError, match="not a loadable PyTorch state dict"):
        torch_state_dict(path)


def test_flat_efficientnet_keys_map_onto_timm_blocks():
    model = create_model("efficientnet_lite0", num_classes=1000)
    flat = {}
    positions = [(s, i) for s, stage in enumerate(model.blocks) for i in range(len(stage))]
    reference = model.state_dict()
    names = {
        "conv_pw": "_expand_conv",
        "bn1": "_bn0",
        "conv_dw": "_depthwise_conv",
        "bn2": "_bn1",
        "conv_pwl": "_project_conv",
        "bn3": "_bn2",
    }
    first = {"conv_dw": "_depthwise_conv", "bn1": "_bn1", "conv_pw": "_project_conv", "bn2": "_bn2"}
    top = {"conv_stem": "_conv_stem", "bn1": "_bn0", "conv_head": "_conv_head", "bn2": "_bn1", "classifier": "_fc"}
    for key, value in reference.items():
        parts = key.split(".")
        if parts[0] == "blocks":
            number = positions.index((int(parts[1]), int(parts[2])))
            table = first if number == 0 else names
            flat[f"_blocks.{number}.{table[parts[3]]}.{'.'.join(parts[4:])}"] = torch.randn_like(value.float())
        else:
            flat[f"{top[parts[0]]}.{'.'.join(parts[1:])}"] = torch.randn_like(value.float())
    mapped = map_flat_efficientnet_keys(flat, model)
    assert set(mapped) == set(reference)
    assert all(mapped[k].shape == reference[k].shape for k in reference)

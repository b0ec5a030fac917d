"""Training: learns, repeats with the seed, resumes exactly, and refuses bad runs clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from vemo.errors import CheckpointError, ConfigError, WorkspaceError
from vemo.models import create_model
from vemo.models.trained import load_run
from vemo.training import TrainConfig, train


@pytest.fixture()
def ws(split_tiny_workspace: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(split_tiny_workspace, tmp_path / "ws"))


def test_a_tiny_model_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = create_model("lenet", num_classes=4)
    x, y = torch.randn(16, 3, 28, 28), torch.arange(16) % 4
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    assert (model(x).argmax(1) == y).all() and float(loss.detach()) < 0.05


def test_run_folder_contents(ws: Path):
    result = train(ws, TrainConfig(model="lenet", optimizer="adam", epochs=2, batch_size=16, name="r"))
    run = ws / "runs" / "r"
    for name in ("model.safetensors", "config.json", "history.csv", "train.json", "last.safetensors"):
        assert (run / name).exists(), name
    assert not (run / "last.json").exists()  # the checkpoint is one file: its state is in the metadata
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "lenet" and config["classes"] == ["disgust", "happiness", "sadness", "surprise"]
    assert config["preset"] == "vemo" and config["training"]["optimizer"] == "adam" and config["status"] == "finished"
    assert config["corpus"]["synthetic"] is True and len(config["split_fingerprint"]) == 16
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [1, 2] and {"train_loss", "val_loss", "val_accuracy", "lr", "seconds"} <= set(history)
    assert result.images_per_second > 0
    model, _ = load_run(run)
    assert not model.training


def test_same_seed_same_weights(ws: Path):
    config = TrainConfig(model="lenet", optimizer="sgd", epochs=2, batch_size=10, seed=4)
    train(ws, TrainConfig(**{**config.__dict__, "name": "a"}))
    train(ws, TrainConfig(**{**config.__dict__, "name": "b"}))
    a, b = load_file(ws / "runs/a/model.safetensors"), load_file(ws / "runs/b/model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_resume_equals_an_uninterrupted_run(ws: Path, optimizer: str):
    base = dict(model="lenet", optimizer=optimizer, epochs=3, batch_size=16, seed=2, monitor="val_accuracy")
    train(ws, TrainConfig(**base, name="whole"))
    train(ws, TrainConfig(**base, name="cut"), epochs_limit=1)  # "interrupted" after one epoch
    assert json.loads((ws / "runs/cut/config.json").read_text())["status"] == "interrupted"
    train(ws, TrainConfig(**base, name="cut"))  # re-running resumes
    whole, cut = load_file(ws / "runs/whole/last.safetensors"), load_file(ws / "runs/cut/last.safetensors")
    assert whole.keys() == cut.keys() and all(torch.equal(whole[k], cut[k]) for k in whole)
    h1, h2 = pd.read_csv(ws / "runs/whole/history.csv"), pd.read_csv(ws / "runs/cut/history.csv")
    pd.testing.assert_frame_equal(h1.drop(columns=["seconds", "train_seconds"]), h2.drop(columns=["seconds", "train_seconds"]))


def test_the_paper_preset_uses_raw_pixels_and_no_augmentation(ws: Path):
    train(ws, TrainConfig(model="lenet", epochs=1, preset="paper", name="p"))
    config = json.loads((ws / "runs/p/config.json").read_text())
    assert config["input"]["scale"] == 1.0 and config["input"]["resize"] == "nearest" and config["preset"] == "paper"


def test_corrupt_checkpoint_is_a_clear_error(ws: Path):
    train(ws, TrainConfig(model="lenet", epochs=1, name="c"))
    (ws / "runs/c/model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupt checkpoint"):
        load_run(ws / "runs/c")
    config = json.loads((ws / "runs/c/config.json").read_text())
    config["format"] = "vemo-run/0"
    (ws / "runs/c/config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="format"):
        load_run(ws / "runs/c")


def test_other_settings_in_the_same_run_folder_are_refused(ws: Path):
    train(ws, TrainConfig(model="lenet", epochs=1, name="same"))
    with pytest.raises(CheckpointError, match="other training"):
        train(ws, TrainConfig(model="lenet", epochs=1, lr=0.01, name="same"))


def test_a_run_recorded_with_the_presets_old_name_still_resumes(ws: Path):
    """Run folders whose config.json names the training preset "recipe" resume, and other
    settings are still refused."""
    train(ws, TrainConfig(model="lenet", epochs=2, name="old"), epochs_limit=1)
    path = ws / "runs/old/config.json"
    config = json.loads(path.read_text())
    config["training"]["recipe"] = config["training"].pop("preset")
    path.write_text(json.dumps(config))
    train(ws, TrainConfig(model="lenet", epochs=2, name="old"))  # resumes: no "other training"
    assert json.loads(path.read_text())["status"] == "finished"
    with pytest.raises(CheckpointError, match="other training"):
        train(ws, TrainConfig(model="lenet", epochs=2, preset="paper", name="old"))


def test_bad_training_input(ws: Path):
    with pytest.raises(ConfigError, match="unknown optimizer"):
        TrainConfig(optimizer="adagrad")
    splits = pd.read_csv(ws / "splits.csv")
    splits[splits["split"] != "val"].to_csv(ws / "splits.csv", index=False)
    with pytest.raises(WorkspaceError, match="'val' split .* is empty"):
        train(ws, TrainConfig(epochs=1))


def test_fine_tuning_warms_up_the_new_head_with_the_backbone_frozen(ws: Path, local_weights_entry, monkeypatch):
    cache, pretrained, _ = local_weights_entry
    monkeypatch.setenv("VEMO_CACHE_DIR", str(cache))
    config = TrainConfig(model="minixception", weights="mine", freeze_epochs=1, epochs=2, optimizer="adam", batch_size=16)
    assert config.run_name == "mine-adam-b16-vemo-f1-s0"
    result = train(ws, config, epochs_limit=1)
    after_warm_up = {k[len("model.") :]: v for k, v in load_file(result.run_dir / "last.safetensors").items() if k.startswith("model.")}
    for key, value in pretrained.state_dict().items():
        if key.startswith("head."):
            assert after_warm_up[key].shape[0] == 4  # a new head for the workspace's four classes
        elif not key.endswith("num_batches_tracked"):
            assert torch.equal(after_warm_up[key], value), key  # weights and batch-norm statistics untouched
    result = train(ws, config)  # resumes: epoch 2 fine-tunes everything
    final = {k[len("model.") :]: v for k, v in load_file(result.run_dir / "last.safetensors").items() if k.startswith("model.")}
    assert not torch.equal(final["stem.0.weight"], pretrained.state_dict()["stem.0.weight"])
    model, saved = load_run(result.run_dir)
    assert saved["training"]["weights"] == "mine" and model.head.out_channels == 4


def test_fine_tuning_settings_are_checked(ws: Path):
    with pytest.raises(ConfigError, match="freeze_epochs must be"):
        TrainConfig(model="minixception", freeze_epochs=3, epochs=3)
    with pytest.raises(ConfigError, match="no separate head"):
        TrainConfig(model="lenet", freeze_epochs=1, epochs=3)
    with pytest.raises(ConfigError, match="use preset vemo"):
        TrainConfig(model="mobilenet_v2", weights="mobilenet_v2-imagenet", preset="paper")


def test_training_on_cuda_gives_a_run_that_loads_on_the_cpu(cuda_device, ws: Path):
    result = train(ws, TrainConfig(model="lenet", optimizer="adam", epochs=2, batch_size=16, name="gpu", device="cuda", amp=True))
    model, config = load_run(result.run_dir, "cpu")
    assert config["device"] == "cuda" and result.epochs_run == 2
    assert next(model.parameters()).device.type == "cpu"
    assert 0.0 <= result.best_val_accuracy <= 1.0


def test_a_run_checkpointed_by_an_older_vemo_still_resumes(ws: Path):
    """Runs from before the one-file checkpoint kept the state in last.json beside the tensors."""
    from safetensors.torch import load_file, save_file

    from vemo.io.runs import LAST_STATE_KEY, RunFolder
    from vemo.io.tensors import read_metadata

    train(ws, TrainConfig(model="lenet", optimizer="adam", epochs=1, batch_size=16, name="old"))
    run = RunFolder(ws / "runs" / "old")
    tensors, state = run.load_last()
    save_file(load_file(str(run.last_tensors_file)), str(run.last_tensors_file))  # without the metadata
    run.last_state_file.write_text(json.dumps(state))
    again_tensors, again_state = run.load_last()
    assert again_state == state and set(again_tensors) == set(tensors)
    run.save_last(tensors, state)  # the next save writes the one-file layout
    assert not run.last_state_file.exists() and LAST_STATE_KEY in read_metadata(run.last_tensors_file)


def test_a_loss_that_stops_being_a_number_stops_the_run_naming_epoch_and_step(ws: Path, monkeypatch):
    """No more 25 epochs of NaN ending in "best epoch -1" and no model: the run stops at the step
    where the loss broke, says so (and why, likely), and keeps its last good epoch."""
    from torch import nn

    from vemo.errors import TrainingError

    original, calls = nn.CrossEntropyLoss.forward, {"n": 0}
    batches = None

    def breaking(self, logits, target):
        calls["n"] += 1
        loss = original(self, logits, target)
        return loss * float("nan") if calls["n"] == batches + 3 else loss  # the 3rd step of epoch 2

    batches = -(-len(pd.read_csv(ws / "splits.csv").query("split == 'train'")) // 16)
    monkeypatch.setattr(nn.CrossEntropyLoss, "forward", breaking)
    with pytest.raises(TrainingError, match=rf"epoch 2, step 3 of {batches}.*learning rate"):
        train(ws, TrainConfig(epochs=3, name="nan2", batch_size=16))
    config = json.loads((ws / "runs" / "nan2" / "config.json").read_text())
    assert config["status"] == "diverged"
    assert (ws / "runs" / "nan2" / "model.safetensors").exists()  # epoch 1, the last good one


@pytest.mark.parametrize(
    "options, flagged",
    [
        ({"lr": float("nan")}, "lr"),
        ({"lr": float("inf")}, "lr"),
        ({"momentum": float("nan")}, "momentum"),
        ({"patience": -1}, "patience"),
        ({"patience": 0}, "patience"),
        ({"batch_size": 0}, "batch_size"),
        ({"name": "../../escape"}, "name"),
        ({"name": "/abs/path"}, "name"),
        ({"name": ".hidden"}, "name"),
    ],
)
def test_settings_that_cannot_train_are_refused_naming_the_parameter(options: dict, flagged: str):
    with pytest.raises(ConfigError) as refused:
        TrainConfig(**options)
    assert flagged in refused.value.parameters

"""The weights cache: fetch from a local file entry, sha256 checks, refusal of changed files (no network)."""

from __future__ import annotations

import json

import pytest
import torch

from vemo.errors import ConfigError, WeightsError
from vemo.weights import build_model, fetch, get_entry, load_pretrained, verify
from vemo.weights.catalog import add_user_entry


def test_fetch_converts_once_and_loads_the_same_weights(local_weights_entry):
    cache, model, _ = local_weights_entry
    folder = fetch("mine", cache)
    assert (folder / "weights.safetensors").is_file() and (folder / "meta.json").is_file()
    assert verify("mine", cache) == {"source": "ok", "converted": "ok"}
    loaded, entry = load_pretrained("mine", cache)
    assert entry.classes == ("happiness", "sadness", "neutral")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_a_checksum_mismatch_refuses_to_fetch(local_weights_entry):
    cache, _, source = local_weights_entry
    source.write_bytes(source.read_bytes() + b"\0")
    with pytest.raises(WeightsError, match="checksum mismatch.*refusing"):
        fetch("mine", cache)
    assert not (cache / "mine" / "weights.safetensors").exists()


def test_a_converted_file_changed_on_disk_refuses_to_load(local_weights_entry):
    cache, _, _ = local_weights_entry
    folder = fetch("mine", cache)
    data = bytearray((folder / "weights.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (folder / "weights.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="changed since conversion"):
        load_pretrained("mine", cache)


@pytest.mark.parametrize("meta", [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b""])
def test_a_broken_meta_json_refuses_to_load_with_one_line(local_weights_entry, meta: bytes):
    """An invalid meta.json in the cache gave a JSONDecodeError traceback."""
    cache, _, _ = local_weights_entry
    folder = fetch("mine", cache)
    (folder / "meta.json").write_bytes(meta)
    with pytest.raises(WeightsError, match="meta.json: unreadable.*--force"):
        load_pretrained("mine", cache)
    fetch("mine", cache, force=True)  # the way out that the message gives
    assert verify("mine", cache) == {"source": "ok", "converted": "ok"}


def test_a_cache_filled_before_the_converted_file_had_its_general_name_still_verifies(local_weights_entry):
    cache, _, _ = local_weights_entry
    folder = fetch("mine", cache)
    meta = json.loads((folder / "meta.json").read_text())
    meta["safetensors_sha256"] = meta.pop("converted_sha256")
    (folder / "meta.json").write_text(json.dumps(meta))
    assert verify("mine", cache) == {"source": "ok", "converted": "ok"}
    meta["safetensors_sha256"] = "0" * 64
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="changed since conversion"):
        verify("mine", cache)


def test_unknown_names_and_bad_entries_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown weights 'nope'; known: .*mobilenet_v2-imagenet"):
        get_entry("nope", tmp_path)
    with pytest.raises(ConfigError, match="sha256"):
        add_user_entry(
            tmp_path,
            name="x",
            model="lenet",
            sha256="abc",
            classes=("a", "b"),
            source_kind="file",
            source="x",
            format="safetensors",
            licence="",
            trained_on="",
            task="emotion",
        )
    with pytest.raises(ConfigError, match="exist already"):
        add_user_entry(
            tmp_path,
            name="fer2013-minixception",
            model="lenet",
            sha256="0" * 64,
            classes=("a", "b"),
            source_kind="file",
            source="x",
            format="safetensors",
            licence="",
            trained_on="",
            task="emotion",
        )
    (tmp_path / "entries.json").write_text(json.dumps([{"name": "broken"}]))
    with pytest.raises(WeightsError, match="entries.json"):
        get_entry("broken", tmp_path)


def test_create_model_with_weights_for_new_classes_gets_a_new_head(local_weights_entry, monkeypatch):
    cache, model, _ = local_weights_entry
    monkeypatch.setenv("VEMO_CACHE_DIR", str(cache))
    four = build_model("minixception", num_classes=4, weights="mine")
    assert four.head.out_channels == 4
    assert torch.equal(four.stem[0].weight, model.stem[0].weight)  # the backbone is the pretrained one
    with pytest.raises(ConfigError, match="are for model 'minixception', not 'lenet'"):
        build_model("lenet", num_classes=4, weights="mine")

"""PredictConfig: one frozen, checked config for vemo predict, vemo live and their library calls."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vemo.errors import ConfigError
from vemo.prediction import PredictConfig, load_predictor, predict_media


def test_the_defaults_are_the_commands_defaults():
    config = PredictConfig()
    assert (config.device, config.runtime, config.every, config.smooth, config.all_faces, config.engine.name) == (
        "auto",
        "auto",
        1,
        0.5,
        False,
        "local",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.every = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("every", 0, "every"),
        ("smooth", -1.0, "smooth"),
        ("workers", 0, "workers"),
        ("batch_size", 0, "batch_size"),
        ("device", "tpu", "device"),
        ("runtime", "tensorrt", "runtime"),
        ("detector", "dlib", "detector"),
        ("classes", "happiness", "class"),
    ],
)
def test_a_bad_field_is_refused_in_one_line_naming_it(field: str, value, named: str):
    with pytest.raises(ConfigError, match=named) as caught:
        PredictConfig(**{field: value})
    assert "\n" not in str(caught.value)


def test_keyword_options_replace_fields_and_unknown_ones_are_named():
    base = PredictConfig(every=3)
    assert PredictConfig.with_options(base, {"smooth": 1.0}) == PredictConfig(every=3, smooth=1.0)
    assert PredictConfig.with_options(None, {}) == PredictConfig()
    with pytest.raises(ConfigError, match="unknown prediction option.*evry"):
        PredictConfig.with_options(None, {"evry": 2})


def test_a_loaded_predictor_keeps_its_loaders_choices(trained_run: Path, shared_media: Path):
    predictor = load_predictor(trained_run, device="cpu")
    with pytest.raises(ConfigError, match="loaded predictor"):
        predict_media(shared_media / "single_face.jpg", predictor, device="cpu")
    verdict, _ = predict_media(shared_media / "single_face.jpg", predictor, align=False)  # a crop override is applied
    assert verdict.crop_recipe["align"] is False and predictor.crop_recipe.align is True  # the predictor itself is unchanged
    with pytest.raises(dataclasses.FrozenInstanceError):
        predictor.device = "cuda"  # type: ignore[misc]

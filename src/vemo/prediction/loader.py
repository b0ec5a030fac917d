"""The one way to load a model for prediction: `load_predictor`.

It takes what `--model` names (a run folder, `pretrained:NAME`, an exported `FILE.onnx`; parsed
by `vemo.prediction.reference`), the device and runtime asked for, and the caller's crop
overrides, and returns a placed, immutable `Predictor`:
- the crop recipe is the model's (a run's config, the catalogue's entry, the file's metadata),
  with the overrides, which warn: the model then sees faces unlike its training faces;
- the device follows `--device` ("auto": `vemo.prediction.device.auto_device`, which needs the
  crop recipe's detector and the network's size);
- on the CPU the network runs with ONNX Runtime under runtime "auto" or "onnx", from an export
  cached by its weights' hash (`vemo.prediction.onnx.runtime`); when that export is already
  cached the predictor is built without loading torch at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vemo.errors import ConfigError
from vemo.faces.recipe import DEFAULT_RECIPE, CropRecipe
from vemo.io.runs import RunFolder
from vemo.io.workspace import read_crop_recipe
from vemo.models import model_info
from vemo.models.inputs import Preprocess, cpu_until_placed, preprocess_for
from vemo.prediction.device import auto_device
from vemo.prediction.onnx.file import OnnxNetwork, open_model_file
from vemo.prediction.onnx.runtime import cached_network, check_runtime, exported_network, gpu_driver_present, recorded_input
from vemo.prediction.predictor import Predictor, choose_classes
from vemo.prediction.reference import ModelReference, parse_model
from vemo.weights import get_entry
from vemo.weights.store import cache_dir, fetch

if TYPE_CHECKING:
    from torch import nn

    from vemo.prediction.config import PredictConfig

log = logging.getLogger(__name__)


def load_predictor(
    model: str | Path | ModelReference,
    *,
    device: str = "auto",
    runtime: str = "auto",
    classes: str | None = None,
    align: bool | None = None,
    detector: str | None = None,
    cache: Path | None = None,
) -> Predictor:
    """The model `model` names, ready for prediction.

    Args:
        device: "auto" (see `vemo.prediction.device`), "cpu", "cuda" or "cuda:N".
        runtime: what runs the network on the CPU: "auto" (ONNX Runtime when the export checks
            out), "onnx" or "torch". ONNX files always run with ONNX Runtime.
        classes: which classes to report (see `vemo.prediction.predictor.choose_classes`).
        align: eye-aligned crops or box crops in place of the model's recipe (warns when that changes it).
        detector: a face detector in place of the model's recipe's (warns likewise).
        cache: the weights cache (default: `vemo weights`' own).

    Raises:
        CheckpointError: an unusable run folder or ONNX file.
        ConfigError: unknown weights or classes, a device this machine lacks, a runtime that
            cannot run this model.
        WeightsError: weights that cannot be fetched or fail their checksum.
    """
    check_runtime(runtime)
    reference = parse_model(model)
    if reference.kind == "onnx":
        return _onnx_file(reference.path, device, runtime, classes, align, detector)
    cpu_until_placed(device)  # an unknown device, or CUDA asked for on a machine without it, fails here
    source = _describe(reference, classes, cache)
    recipe = _with_overrides(source.crop_recipe, source.description, align, detector)
    cached = _from_cached_export(source, recipe, device, runtime, cache)
    if cached is not None:
        return cached
    return _from_weights(source, recipe, device, runtime, cache)


@dataclass(frozen=True)
class _ModelSource:
    """What a run folder or pretrained weights say of their model before its network is loaded
    (nothing here needs torch): its input spec when the source records it (a run's config;
    pretrained weights take their architecture's)."""

    model_classes: tuple[str, ...]
    classes: tuple[str, ...]
    description: str
    corpus: dict
    crop_recipe: CropRecipe
    architecture: str
    weights_file: Path
    input: Preprocess | None
    pretrained: str = ""  # the weights' name, for pretrained:NAME
    run: str = ""  # the run folder


def _describe(reference: ModelReference, classes: str | None, cache: Path | None) -> _ModelSource:
    """Raises CheckpointError (a run folder without a readable config) or ConfigError (unknown
    weights, weights that are not an emotion classifier, bad classes)."""
    if reference.kind == "pretrained":
        name = reference.target
        entry = get_entry(name, cache_dir(cache))
        if entry.task != "emotion":
            raise ConfigError(
                f"weights {name!r} are {entry.trained_on} features, not an emotion classifier; fine-tune "
                f"them first: vemo train WS --model {entry.model} --weights {name}"
            )
        return _ModelSource(
            model_classes=entry.classes,
            classes=choose_classes(entry.classes, classes, True),
            description=f"pretrained:{name}",
            corpus={"synthetic": False, "statement": f"pretrained on {entry.trained_on}"},
            crop_recipe=CropRecipe.from_json(entry.crop_recipe) if entry.crop_recipe else DEFAULT_RECIPE,
            architecture=entry.model,
            weights_file=cache_dir(cache) / name / "weights.safetensors",
            input=None,
            pretrained=name,
        )
    run = RunFolder(reference.path)
    config = run.read_config()
    model_classes = tuple(config["classes"])
    return _ModelSource(
        model_classes=model_classes,
        classes=choose_classes(model_classes, classes, False),
        description=reference.target,
        corpus=config.get("corpus", {}),
        crop_recipe=_run_crop_recipe(config),
        architecture=config["model"],
        weights_file=run.model_file,
        input=Preprocess.from_json(config["input"]),
        run=reference.target,
    )


def _run_crop_recipe(config: dict) -> CropRecipe:
    """The crop recipe a run was trained on: its config.json's; for runs from before it was
    recorded, its workspace's extract.json; else the default."""
    if "crop_recipe" in config:
        return CropRecipe.from_json(config["crop_recipe"])
    workspace = Path(config.get("workspace", ""))
    recorded = read_crop_recipe(workspace) if config.get("workspace") and workspace.is_dir() else None
    return CropRecipe.from_json(recorded) if recorded else DEFAULT_RECIPE


def _with_overrides(recipe: CropRecipe, description: str, align: bool | None, detector: str | None) -> CropRecipe:
    """The model's crop recipe with the caller's overrides, and a warning when they change its
    crops: another alignment or size, or another detector for box crops (each detector draws its
    box its own way). Aligned crops put the eyes at `eyes_at` whichever detector found the face,
    so a detector alone changes no crop geometry: said at INFO."""
    changed = recipe.with_align(align).with_detector(detector)
    if changed != recipe and changed.align and recipe.align and changed.crop_size == recipe.crop_size:
        log.info(
            "%s: faces found by %s instead of %s; the crops stay eye-aligned as in training", description, changed.detector, recipe.detector
        )
    elif changed != recipe:
        log.warning(
            "%s is meant for %s, but the override (%s) gives it %s, unlike anything it saw in training",
            description,
            recipe.describe(),
            ", ".join(recipe.differences(changed)),
            changed.describe(),
        )
    return changed


def _onnx_file(path: Path, device: str, runtime: str, classes: str | None, align: bool | None, detector: str | None) -> Predictor:
    """A predictor over an exported file (`vemo export`): classes, input and crop recipes from
    its metadata, checked against its graph, the network run by ONNX Runtime on the CPU."""
    file = open_model_file(path)
    if runtime == "torch":
        raise ConfigError(f"{path} is an ONNX file: it runs with ONNX Runtime only", "runtime")
    if device not in ("auto", "cpu"):
        raise ConfigError(
            f"{path}: ONNX files run on the CPU (ONNX Runtime's CPU provider); predict with the run folder or pretrained:NAME for a GPU",
            "device",
        )
    if classes is None and file.reported_classes:  # as the model it came from reports by default
        classes = ",".join(file.reported_classes)
    return Predictor(
        network=file.network,
        preprocess=file.preprocess,
        model_classes=file.model_classes,
        classes=choose_classes(file.model_classes, classes, False),
        description=str(path),
        corpus=file.corpus,
        crop_recipe=_with_overrides(file.crop_recipe, str(path), align, detector),
        device="cpu",
        device_reason="ONNX Runtime runs ONNX files on the CPU" if device == "cpu" else "auto: ONNX files run with ONNX Runtime on the CPU",
        architecture=file.model,
        weights_file=path,
    )


def _from_cached_export(source: _ModelSource, recipe: CropRecipe, device: str, runtime: str, cache: Path | None) -> Predictor | None:
    """What `_from_weights` would give on the CPU with ONNX Runtime, from an export already
    cached, without loading torch; None when that is not certain (torch asked for, a GPU
    driver present under "auto", no export cached yet)."""
    if runtime == "torch" or device not in ("auto", "cpu") or (device == "auto" and gpu_driver_present()):
        return None
    if source.pretrained:
        fetch(source.pretrained, cache)  # verifies the cached weights, as loading them does
    network = cached_network(source.architecture, source.model_classes, source.weights_file, source.description, cache)
    if network is None:
        return None
    reason = "auto: no CUDA device" if device == "auto" else "asked for (--device cpu)"
    log.debug(
        "prediction on cpu: %s; network run by ONNX Runtime from the cached export %s (torch not loaded)", reason, network.description
    )
    return _predictor(source, recipe, network, source.input or recorded_input(network), "cpu", reason)


def _from_weights(source: _ModelSource, recipe: CropRecipe, device: str, runtime: str, cache: Path | None) -> Predictor:
    """The network loaded by PyTorch, placed on the device `device` chooses for it; on the CPU
    under runtime "auto" or "onnx", then run by ONNX Runtime from its checked export."""
    import torch

    if source.pretrained:
        from vemo.weights import load_pretrained

        network = load_pretrained(source.pretrained, cache)[0]
    else:
        from vemo.models.trained import load_run

        network = load_run(RunFolder(source.run), "cpu")[0]
    if device == "auto":
        parameters = sum(p.numel() for p in network.parameters())
        name, reason = auto_device(torch.cuda.is_available(), recipe.detector, parameters)
    else:
        name, reason = device, f"asked for (--device {device})"
    log.debug("prediction on %s: %s", name, reason)
    predictor = _predictor(
        source,
        recipe,
        prepare_network(network, name),
        source.input or preprocess_for(model_info(source.architecture), "vemo"),
        name,
        reason,
    )
    if name != "cpu" or runtime == "torch":
        return predictor
    onnx_network = exported_network(predictor, cache)
    if onnx_network is None and runtime == "onnx":
        raise ConfigError(f"{source.description}: cannot run with ONNX Runtime (see -v); use --runtime torch", "runtime")
    log.debug("network run by %s", "ONNX Runtime" if onnx_network else "PyTorch")
    return predictor if onnx_network is None else replace(predictor, network=onnx_network)


def prepare_network(network: nn.Module, device: str) -> nn.Module:
    """A network as prediction runs it, on `device`: channels-last runs the convolutions of these
    networks 1.5-2x faster on CPU (oneDNN), and a prediction never trains, so batch norms fold
    into their convolutions."""
    import torch

    from vemo.models.fusion import fold_batch_norms

    return fold_batch_norms(network).to(memory_format=torch.channels_last).eval().to(device)


def _predictor(
    source: _ModelSource, recipe: CropRecipe, network: nn.Module | OnnxNetwork, preprocess: Preprocess, device: str, reason: str
) -> Predictor:
    return Predictor(
        network=network,
        preprocess=preprocess,
        model_classes=source.model_classes,
        classes=source.classes,
        description=source.description,
        corpus=source.corpus,
        crop_recipe=recipe,
        device=str(device),
        device_reason=reason,
        architecture=source.architecture,
        weights_file=source.weights_file,
    )


def predictor_for(model: str | Path | ModelReference | Predictor, config: PredictConfig) -> Predictor:
    """`model` loaded as `config` asks; a predictor given ready-made gets the config's crop
    overrides (its device, runtime and classes are its loader's: see `PredictConfig.check_loaded`)."""
    if not isinstance(model, Predictor):
        return load_predictor(model, **config.loading())
    config.check_loaded(model)
    recipe = _with_overrides(model.crop_recipe, model.description, config.align, config.detector)
    return model if recipe == model.crop_recipe else replace(model, crop_recipe=recipe)

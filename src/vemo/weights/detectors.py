"""Face detectors with their weights: the pipeline a crop recipe asks for.

Haar's cascades ship with OpenCV; MTCNN's nets come from the weights cache (`mtcnn-facenet`).
Extraction and prediction build their face pipelines here, so a recipe that names MTCNN finds
its weights the same way everywhere.
"""

from __future__ import annotations

import torch

from vemo.faces.detect import FaceDetector, HaarFaceDetector
from vemo.faces.mtcnn_detector import MTCNNFaceDetector
from vemo.faces.pipeline import FacePipeline
from vemo.faces.recipe import CropRecipe
from vemo.weights.catalog import MTCNN_WEIGHTS
from vemo.weights.store import fetch, load_mtcnn


def prepare_detector(recipe: CropRecipe) -> None:
    """Fetch and verify the detector's weights once, before workers start (they then only read).

    Raises:
        WeightsError: the weights cannot be fetched or fail their checksum.
    """
    if recipe.detector == "mtcnn":
        fetch(MTCNN_WEIGHTS)


def build_detector(recipe: CropRecipe, device: str | torch.device = "cpu") -> FaceDetector:
    """The recipe's detector with its settings (and weights, on `device`)."""
    if recipe.detector == "mtcnn":
        return MTCNNFaceDetector(load_mtcnn().to(device), recipe.detector_settings)
    return HaarFaceDetector(recipe.detector_settings)


def face_pipeline(recipe: CropRecipe, mode: str = "largest", device: str | torch.device = "cpu",
                  gray_crops: bool = False) -> FacePipeline:
    """The face pipeline of `recipe` (see `vemo.faces.pipeline`)."""
    return FacePipeline(recipe, mode, build_detector(recipe, device), gray_crops)

"""Pretrained weights: a catalogue of where they come from, a verified local cache, and the models and
face detectors built with them."""

from vemo.weights.catalog import FER2013_CLASSES, MTCNN_WEIGHTS, WeightsEntry, all_entries, get_entry
from vemo.weights.detectors import build_detector, face_pipeline, prepare_detector
from vemo.weights.pretrained import build_model
from vemo.weights.store import cache_dir, fetch, file_sha256, load_mtcnn, load_pretrained, verify

__all__ = [
    "FER2013_CLASSES",
    "MTCNN_WEIGHTS",
    "WeightsEntry",
    "all_entries",
    "build_detector",
    "build_model",
    "cache_dir",
    "face_pipeline",
    "fetch",
    "file_sha256",
    "get_entry",
    "load_mtcnn",
    "load_pretrained",
    "prepare_detector",
    "verify",
]

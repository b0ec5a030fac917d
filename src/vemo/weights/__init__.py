"""Pretrained weights: a catalogue of where they come from, a verified local cache, and models built with them."""

from vemo.weights.catalog import FER2013_CLASSES, WeightsEntry, all_entries, get_entry
from vemo.weights.pretrained import build_model
from vemo.weights.store import cache_dir, fetch, file_sha256, load_pretrained, verify

__all__ = ["FER2013_CLASSES", "WeightsEntry", "all_entries", "build_model", "cache_dir", "fetch", "file_sha256",
           "get_entry", "load_pretrained", "verify"]

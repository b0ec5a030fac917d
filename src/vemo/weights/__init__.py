"""Pretrained weights: a catalogue of where they come from, and a verified local cache."""

from vemo.weights.catalog import FER2013_CLASSES, WeightsEntry, all_entries, get_entry
from vemo.weights.store import cache_dir, fetch, file_sha256, load_pretrained, verify

__all__ = ["FER2013_CLASSES", "WeightsEntry", "all_entries", "cache_dir", "fetch", "file_sha256", "get_entry",
           "load_pretrained", "verify"]

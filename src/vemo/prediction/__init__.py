"""Stage 5 of the paper: the emotion of new videos and images, frame by frame and overall.

`load_predictor` is the one way to load a model; `PredictConfig` says how to predict;
`predict_to_folder` is `vemo predict` (`vemo.predict`), `predict_media` one input in memory.

The names load on first use (PEP 562): a worker process (`vemo.prediction.workers`) imports
this package too, and needs none of the tables (pandas) the folder prediction writes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vemo.prediction.config import PredictConfig
    from vemo.prediction.folder import predict_to_folder
    from vemo.prediction.loader import load_predictor
    from vemo.prediction.media import VideoPrediction, find_segments, predict_media, smooth_probabilities
    from vemo.prediction.predictor import Predictor

_HOMES = {
    "PredictConfig": "config",
    "Predictor": "predictor",
    "VideoPrediction": "media",
    "find_segments": "media",
    "load_predictor": "loader",
    "predict_media": "media",
    "predict_to_folder": "folder",
    "smooth_probabilities": "media",
}

__all__ = [
    "PredictConfig",
    "Predictor",
    "VideoPrediction",
    "find_segments",
    "load_predictor",
    "predict_media",
    "predict_to_folder",
    "smooth_probabilities",
]


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

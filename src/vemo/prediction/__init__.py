"""Stage 5 of the paper: the emotion of new videos and images, frame by frame and overall.

`load_predictor` is the one way to load a model; `PredictConfig` says how to predict;
`predict_to_folder` is `vemo predict` (`vemo.predict`), `predict_media` one input in memory.
"""

from vemo.prediction.config import PredictConfig
from vemo.prediction.folder import predict_to_folder
from vemo.prediction.loader import load_predictor
from vemo.prediction.media import VideoPrediction, find_segments, predict_media, smooth_probabilities
from vemo.prediction.predictor import Predictor

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

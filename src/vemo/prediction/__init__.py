"""Stage 5 of the paper: the emotion of new videos and images, frame by frame and overall."""

from vemo.prediction.folder import predict_to_folder
from vemo.prediction.predictor import Predictor, load_predictor
from vemo.prediction.timeline import VideoPrediction, find_segments, predict_media, smooth_probabilities

__all__ = ["Predictor", "VideoPrediction", "find_segments", "load_predictor", "predict_media", "predict_to_folder", "smooth_probabilities"]

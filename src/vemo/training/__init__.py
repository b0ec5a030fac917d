"""Stage 3 of the paper: a model trained on a workspace's train split, into a run folder."""

from vemo.training.config import OPTIMIZERS, TrainConfig, TrainResult
from vemo.training.loop import train

__all__ = ["OPTIMIZERS", "TrainConfig", "TrainResult", "train"]

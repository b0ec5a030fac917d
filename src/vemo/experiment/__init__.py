"""Stage 4 of the paper as a study: the grid of experiments (Tables IV to IX) and its report."""

from vemo.experiment.grid import ExperimentConfig, run_paper_grid
from vemo.experiment.study import run_study

__all__ = ["ExperimentConfig", "run_paper_grid", "run_study"]

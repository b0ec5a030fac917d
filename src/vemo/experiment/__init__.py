"""The paper's study as one command: the grid of runs, and the report beside the paper's figures."""

from vemo.experiment.grid import ExperimentConfig, run_paper_grid

__all__ = ["ExperimentConfig", "run_paper_grid"]

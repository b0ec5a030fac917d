"""Stage 4 of the paper, the measuring half: how well a trained run does on a split."""

from vemo.evaluation.measure import EvalReport, compute_metrics, evaluate, format_report, plot_confusion, plot_curves

__all__ = ["EvalReport", "compute_metrics", "evaluate", "format_report", "plot_confusion", "plot_curves"]

"""How good is a model on my data? `vemo evaluate MODEL... --on DATA`: any model `vemo predict`
takes (a run folder, `pretrained:NAME`, `FILE.onnx`) scored on any labelled media (a workspace,
a folder of class folders, a CSV), side by side, with a report."""

from __future__ import annotations

from pathlib import Path

from vemo.evaluation.measure import EvalReport
from vemo.prediction import PredictConfig
from vemo.scoring.classes import parse_map
from vemo.scoring.data import LabelledCrops, read_data
from vemo.scoring.metrics import level_metrics
from vemo.scoring.report import side_by_side, write_outputs
from vemo.scoring.run import ModelDecisions, score_model

__all__ = ["evaluate_models", "parse_map", "side_by_side"]


def evaluate_models(
    models: list[str],
    on: Path | str,
    out: Path | str,
    config: PredictConfig | None = None,
    *,
    mapping: dict[str, str] | None = None,
    split: str | None = None,
    progress: bool = False,
) -> tuple[list[tuple[ModelDecisions, dict[str, EvalReport | None]]], Path]:
    """Score each model on the labelled data `on`; write OUT/eval.json, OUT/report.html and the
    decisions. Returns each model's decisions and figures per level ("frame", "clip"), and the
    report's path.

    Raises:
        ConfigError, WorkspaceError: unusable data or class match (one line, naming the file).
        CheckpointError, WeightsError: an unusable model.
    """
    data = read_data(on, split)
    config = config or PredictConfig()
    scored = []
    for model in models:
        decisions = score_model(model, data, mapping or {}, config, progress)
        levels = {
            level: level_metrics(table, decisions.classes.shared, level)
            for level, table in (("frame", decisions.frames), ("clip", decisions.clips))
        }
        scored.append((decisions, levels))
    described = f"{on} ({'workspace crops' if isinstance(data, LabelledCrops) else f'{len(data)} labelled inputs'})"
    return scored, write_outputs(scored, described, Path(out))

"""`vemo export`: a trained model as a self-describing ONNX file, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vemo.cli.common import expected_errors


@expected_errors
def export(
    model: Annotated[str, typer.Argument(help="A run folder (WS/runs/NAME) or pretrained:NAME.")],
    to: Annotated[Path, typer.Option("--to", help="The ONNX file to write (.onnx).")],
    check_with: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--check-with",
            help="Workspaces, face photos or videos whose crops the export is checked on (and, with "
            "--int8, calibrated on). Default: the run's own workspace.",
        ),
    ] = None,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8", help="Quantise weights and activations to int8 (calibrated on half the face crops, checked on the other half)."
        ),
    ] = False,
) -> None:
    """Write MODEL as ONNX (dynamic batch, batch norms folded, classes and recipes in its
    metadata), proven first: ONNX Runtime must give every probability within 1e-4 of PyTorch's."""
    from vemo.errors import ConfigError
    from vemo.io.files import require_file_destination
    from vemo.prediction import load_predictor
    from vemo.prediction.onnx.crops import check_crops
    from vemo.prediction.onnx.export import export_predictor
    from vemo.prediction.reference import parse_model

    if to.suffix != ".onnx":
        raise ConfigError(f"--to {to}: the file name must end in .onnx", "to")
    require_file_destination(to, "to")
    if parse_model(model).kind == "onnx":
        raise ConfigError(f"{model} is already an ONNX file: export its run folder or pretrained:NAME", "model")
    predictor = load_predictor(model, device="cpu", runtime="torch")  # the PyTorch network is what gets exported
    sources = check_with if check_with is not None else _run_workspace(model)
    crops, problems = check_crops(predictor, sources)
    for problem in problems:
        typer.echo(f"note: no crops from {problem}", err=True)
    if not len(crops):
        typer.echo("note: no face crops to check on (random inputs only): give --check-with WORKSPACE or face photos/videos", err=True)
    report = export_predictor(predictor, to, crops if len(crops) else None, int8=int8)
    for line in report.lines():
        typer.echo(line)


def _run_workspace(model: str) -> list[Path]:
    """A run folder's workspace (WS/runs/NAME -> WS), when it is still there."""
    from vemo.io.runs import RunFolder
    from vemo.prediction.reference import parse_model

    if parse_model(model).kind != "run":
        return []
    workspace = Path(RunFolder(model).read_config().get("workspace", ""))
    return [workspace] if str(workspace) not in ("", ".") and (workspace / "faces.csv").is_file() else []

"""`vemo experiment paper`: the paper's study, Tables IV to IX, with a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vemo.cli.common import AddressOption, EngineOption, GpusOption, engine_settings, expected_errors, show_progress
from vemo.cli.metavars import CommandLine

experiment_app = CommandLine(help="Run a study: the paper's grid of experiments with a report.", no_args_is_help=True)


@experiment_app.command("paper")
@expected_errors
def experiment_paper(
    ctx: typer.Context,
    workspace: Annotated[Path, typer.Argument(help="A labelled workspace.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("report"),
    epochs: Annotated[int, typer.Option(help="Epochs per run (the authors' notebook: 25).")] = 25,
    seeds: Annotated[int, typer.Option(help="Seeds per setting; figures are mean ± std over them.")] = 1,
    models: Annotated[str, typer.Option(help="Comma-separated networks.")] = "lenet,alexnet",
    preset: Annotated[str, typer.Option("--preset", "--recipe", help="Training preset: paper (the notebook's) or vemo.")] = "paper",
    protocol: Annotated[str, typer.Option(help="subject (honest), paper (frame-level split, leaks), or both side by side.")] = "subject",
    baseline: Annotated[bool, typer.Option(help="Also fit the LGBP + PCA + LDA baseline (Table IX).")] = True,
    workers: Annotated[
        Optional[int],
        typer.Option(
            help="Runs trained at once, each with cores/workers torch threads "
            "(default: 1; with --engine ray, as many as the cluster holds)."
        ),
    ] = None,
    transfer: Annotated[
        str,
        typer.Option(
            help="Comma-separated pretrained weights to fine-tune beside their "
            "architecture from scratch (a transfer table); e.g. fer2013-minixception."
        ),
    ] = "",
    transfer_epochs: Annotated[int, typer.Option(help="Epochs of each transfer-table run.")] = 5,
    freeze_epochs: Annotated[int, typer.Option(help="Head-only warm-up epochs of fine-tuned runs.")] = 1,
    engine: EngineOption = None,
    address: AddressOption = None,
    gpus_per_worker: GpusOption = 0.0,
    cross_on: Annotated[
        Optional[Path],
        typer.Option(
            "--cross-on",
            help="Also score the study's networks (and the pretrained emotion weights of --transfer) on this labelled data "
            "(as vemo evaluate --on takes): a cross-corpus table in the report.",
        ),
    ] = None,
    cross_map: Annotated[
        Optional[list[str]], typer.Option("--cross-map", help="With --cross-on: a data label FROM scored as class TO.")
    ] = None,
) -> None:
    """Tables IV to IX of the paper on this workspace, beside the paper's figures (resumable)."""
    from vemo.experiment import ExperimentConfig, run_study

    config = ExperimentConfig(
        models=tuple(m.strip() for m in models.split(",") if m.strip()),
        epochs=epochs,
        seeds=seeds,
        preset=preset,
        protocol=protocol,
        baseline=baseline,
        transfer=tuple(w.strip() for w in transfer.split(",") if w.strip()),
        transfer_epochs=transfer_epochs,
        freeze_epochs=freeze_epochs,
    )
    settings = engine_settings(engine, address, workers, gpus_per_worker)
    results, report = run_study(
        workspace, config, out, progress=show_progress(ctx) and not workers and not settings.on_ray, engine=settings, on_run=_print_run
    )
    typer.echo(f"{len(results)} runs ({int(results['reused'].sum())} reused) -> {report}")
    if cross_on is not None:
        _cross_corpus(results, config.transfer, cross_on, cross_map, report)


def _cross_corpus(results, transfer: tuple[str, ...], on: Path, pairs: list[str] | None, report: Path) -> None:
    """The study's networks (not the classical baseline) and its pretrained emotion weights on
    the user's labelled data, side by side: OUT/cross-corpus/, and a section of the study's report."""
    import html

    from vemo.io.report_style import add_section
    from vemo.scoring import evaluate_models, parse_map, side_by_side
    from vemo.weights import cache_dir, get_entry

    runs = [str(run) for run in results.loc[results["model"] != "lgbp", "run"].drop_duplicates()]
    pretrained = [f"pretrained:{name}" for name in transfer if get_entry(name, cache_dir()).task == "emotion"]
    scored, cross = evaluate_models([*runs, *pretrained], on, report.parent / "cross-corpus", mapping=parse_map(pairs))
    table = side_by_side(scored)
    typer.echo(table.to_string(index=False))
    add_section(
        report,
        f"<h2>Cross-corpus: the study's models on {html.escape(str(on))}</h2>"
        f"{table.to_html(index=False, classes='t', border=0)}<p>Per model, the classes, misses and decisions: "
        f"<a href='cross-corpus/report.html'>cross-corpus/report.html</a></p>",
    )
    typer.echo(f"-> {cross}")


def _print_run(row: dict) -> None:
    weights = row.get("weights", "scratch")
    name = row["model"] + ("+" + weights if isinstance(weights, str) and weights != "scratch" else "")
    typer.echo(
        f"  [{row['protocol']}] {name:8} {row['optimizer']:8} batch {row['batch_size']:>3} seed {row['seed']}: "
        f"test accuracy {100 * row['accuracy']:.1f}%{' (reused)' if row['reused'] else ''}"
    )

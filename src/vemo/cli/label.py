"""`vemo label`: labels from clips, folders or a CSV; the labelling page; the folder export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vemo.cli.common import expected_errors, serve_page
from vemo.cli.metavars import CommandLine, NamedValuesGroup


class _DefaultToApply(NamedValuesGroup):
    """`vemo label WS --from-...` keeps working: anything that is not a subcommand goes to `apply`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["apply", *args]
        return super().parse_args(ctx, args)


label_app = CommandLine(
    cls=_DefaultToApply,
    no_args_is_help=True,
    help="Label the workspace's crops (stage 2 of the paper): `vemo label WS --from-clips|"
    "--from-folders|--from-csv`, `vemo label serve WS` (in the browser), `vemo label export`.",
)


@label_app.command("apply")
@expected_errors
def label_apply(
    workspace: Annotated[Path, typer.Argument(help="The workspace made by `vemo extract`.")],
    from_clips: Annotated[bool, typer.Option("--from-clips", help="Propagate clip labels to their frames.")] = False,
    window: Annotated[str, typer.Option(help="With --from-clips: all, onset-offset, or apex:K.")] = "onset-offset",
    clips: Annotated[
        Optional[Path], typer.Option(help="Clip table (file/clip, emotion, onset, apex, offset); default WS/clips.csv.")
    ] = None,
    from_folders: Annotated[Optional[Path], typer.Option(help="Folder of <class>/ folders of sorted crops (the paper's way).")] = None,
    from_csv: Annotated[Optional[Path], typer.Option(help="CSV with columns crop, label ('rejected' removes a crop).")] = None,
    classes: Annotated[Optional[str], typer.Option(help="Comma-separated class list (default: the paper's four).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace labels that crops already have.")] = False,
) -> None:
    """Label crops from clips, sorted folders or a CSV (the default: `vemo label WS ...`)."""
    from vemo.classes import parse_classes
    from vemo.errors import ConfigError
    from vemo.labelling import apply_labels, labels_from_clips, labels_from_csv, labels_from_folders

    chosen = [name for name, given in (("--from-clips", from_clips), ("--from-folders", from_folders), ("--from-csv", from_csv)) if given]
    if len(chosen) != 1:
        raise ConfigError("give exactly one of --from-clips, --from-folders, --from-csv")
    class_list = parse_classes(classes)
    if from_clips:
        rows, source = labels_from_clips(workspace, window=window, clips_file=clips), f"clips:{window}"
    elif from_folders:
        rows, source = labels_from_folders(workspace, from_folders, class_list), "folders"
    elif from_csv:
        rows, source = labels_from_csv(from_csv), "csv"
    result = apply_labels(workspace, rows, source, classes=class_list, overwrite=overwrite)
    typer.echo(
        f"labels: {result.added} added, {result.changed} changed, {result.unchanged} unchanged; "
        f"{result.total_labelled} labelled in {workspace}/labels.csv"
    )
    typer.echo("  " + ", ".join(f"{name} {count}" for name, count in result.per_class.items()))


@label_app.command("serve")
@expected_errors
def label_serve(
    workspace: Annotated[Path, typer.Argument(help="The workspace made by `vemo extract`.")],
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps the page to this machine.")] = "127.0.0.1",
    classes: Annotated[Optional[str], typer.Option(help="Comma-separated class list (default: the paper's four).")] = None,
) -> None:
    """Sort and label crops in the browser; every change is written to WS/labels.csv at once."""
    from vemo.classes import parse_classes
    from vemo.io.files import ensure_writable_dir
    from vemo.labelling.app import create_app

    application = create_app(workspace, parse_classes(classes), host=host)
    ensure_writable_dir(workspace)  # every label is written at once: a read-only workspace is refused now
    serve_page(application, host, port, f"vemo labelling page for {workspace}", "read and change the labels")


@label_app.command("export")
@expected_errors
def label_export(
    workspace: Annotated[Path, typer.Argument(help="A labelled workspace.")],
    to: Annotated[Path, typer.Option("--to", help="Folder for <class>/<crop>.png (the paper's layout).")],
    include_rejected: Annotated[bool, typer.Option(help="Also write a rejected/ folder.")] = False,
) -> None:
    """Copy labelled crops into one folder per class."""
    from vemo.labelling.export import export_folders

    result = export_folders(workspace, to, include_rejected=include_rejected)
    typer.echo(
        f"exported {result.written} crop(s) ({result.unchanged} already there) to {to}: "
        + ", ".join(f"{name} {count}" for name, count in result.per_class.items())
    )

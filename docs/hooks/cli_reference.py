"""MkDocs hook: the command-line reference is generated from the Typer app at build time, so it
can never drift from the code (every command, every option, its help and default)."""

from __future__ import annotations

MARKER = "<!-- cli-reference -->"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    import typer
    import typer.main
    from typer.cli import get_docs_for_click

    from vemo.cli import app

    command = typer.main.get_command(app)
    reference = get_docs_for_click(obj=command, ctx=typer.Context(command, info_name="vemo"), name="vemo", title="`vemo`")
    return markdown.replace(MARKER, reference)

"""The look shared by vemo's HTML reports (the experiment report, `vemo report`): kept apart from
the code that makes them, so that writing a predictions report loads neither torch nor the
experiment's training stack."""

from __future__ import annotations

from pathlib import Path

REPORT_STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
    "table.t{border-collapse:collapse;margin:1em 0;font-size:13px}table.t td,table.t th{border:1px solid #ccc;"
    "padding:4px 8px;text-align:right}table.t th{background:#f0f3f7}.prov{background:#fff4d6;padding:.8em;"
    "border-left:4px solid #e0a000}img{max-width:100%;margin:4px}"
)


def add_section(report: Path, section_html: str) -> None:
    """Add a section at the end of an HTML report's body (written atomically): a study's report
    gains its cross-corpus table once its runs are scored on the user's data."""
    from vemo.io.files import atomic_path

    page = report.read_text(encoding="utf-8")
    at = page.rfind("</body>")
    page = page[:at] + section_html + page[at:] if at >= 0 else page + section_html
    with atomic_path(report) as temporary:
        temporary.write_text(page, encoding="utf-8")

"""The look shared by vemo's HTML reports (the experiment report, `vemo report`): kept apart from
the code that makes them, so that writing a predictions report loads neither torch nor the
experiment's training stack."""

from __future__ import annotations

REPORT_STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
    "table.t{border-collapse:collapse;margin:1em 0;font-size:13px}table.t td,table.t th{border:1px solid #ccc;"
    "padding:4px 8px;text-align:right}table.t th{background:#f0f3f7}.prov{background:#fff4d6;padding:.8em;"
    "border-left:4px solid #e0a000}img{max-width:100%;margin:4px}"
)

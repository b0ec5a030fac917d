"""examples/paper.ipynb runs from top to bottom (small and fast), so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow  # the whole study notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "paper.ipynb"


def test_paper_notebook_runs(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("VEMO_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("VEMO_NOTEBOOK_DIR", str(tmp_path / "nb"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", []))
    assert "crops from" in outputs and "report.html" in outputs
    assert (tmp_path / "nb" / "report" / "report.html").exists()

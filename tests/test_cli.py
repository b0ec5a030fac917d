"""The command line: version, help on every command, one-line errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vemo import __version__
from vemo.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_help_on_every_command():
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"synth", "demo"} <= set(commands)
    for command in commands:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "huge"], "unknown preset"),
        (["--subjects", "0"], "--subjects must be at least 1"),
        (["--subjects", "5", "--clips", "3"], "must be at least --subjects"),
        (["--size", "12"], "--size"),
    ],
)
def test_synth_bad_input_is_one_line_and_nonzero(tmp_path: Path, args, message):
    result = subprocess.run([sys.executable, "-m", "vemo", "synth", str(tmp_path / "out"), *args],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_synth_unwritable_out(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = subprocess.run([sys.executable, "-m", "vemo", "synth", str(blocker / "out"), "--preset", "tiny"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "cannot write to folder" in result.stderr and str(blocker) in result.stderr
    assert "Traceback" not in result.stderr

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
    commands = [[c.name or c.callback.__name__] for c in app.registered_commands]
    for group in app.registered_groups:
        commands += [[group.name, c.name or c.callback.__name__] for c in group.typer_instance.registered_commands]
    names = {" ".join(c) for c in commands}
    assert {
        "synth",
        "demo",
        "live",
        "extract",
        "split",
        "train",
        "evaluate",
        "models",
        "predict",
        "label apply",
        "label serve",
        "label export",
        "weights list",
        "weights fetch",
        "weights verify",
        "weights add",
        "experiment paper",
    } <= names
    for command in commands:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.stdout


def test_label_without_a_subcommand_still_applies_labels(tiny_workspace, tmp_path):
    import shutil

    ws = shutil.copytree(tiny_workspace, tmp_path / "ws")
    result = runner.invoke(app, ["label", str(ws), "--from-clips", "--window", "all", "--overwrite"])
    assert result.exit_code == 0 and "labelled in" in result.stdout
    missing = runner.invoke(app, ["label", str(tmp_path / "nope"), "--from-clips"])
    assert missing.exit_code == 1 and "not a vemo workspace" in missing.output


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
    result = subprocess.run([sys.executable, "-m", "vemo", "synth", str(tmp_path / "out"), *args], capture_output=True, text=True)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_synth_unwritable_out(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = subprocess.run(
        [sys.executable, "-m", "vemo", "synth", str(blocker / "out"), "--preset", "tiny"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "cannot write to folder" in result.stderr and str(blocker) in result.stderr
    assert "Traceback" not in result.stderr


def _vemo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vemo", "-q", *args], capture_output=True, text=True)


@pytest.mark.slow  # every stage as a process
def test_stage_commands_end_to_end_and_their_errors(tiny_workspace: Path, tmp_path: Path):
    import shutil

    ws = Path(shutil.copytree(tiny_workspace, tmp_path / "ws"))
    failures = [
        (_vemo("label", str(tmp_path / "nowhere"), "--from-clips"), "not a vemo workspace"),
        (_vemo("label", str(ws)), "exactly one of"),
        (_vemo("label", str(ws), "--from-clips", "--window", "middle"), "--window"),
        (_vemo("split", str(ws)), "no labelled crops"),
        (_vemo("train", str(ws), "--model", "vgg"), "unknown model 'vgg'"),
        (_vemo("evaluate", str(ws / "runs" / "none")), "not a vemo run folder"),
    ]
    for result, message in failures:
        assert result.returncode == 1, (message, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    labelled = _vemo("label", str(ws), "--from-clips")
    assert labelled.returncode == 0 and "labelled" in labelled.stdout
    split = _vemo("split", str(ws), "--by", "clip")
    assert split.returncode == 0 and "Train" in split.stdout and "Validation" in split.stdout
    trained = _vemo("train", str(ws), "--epochs", "1", "--name", "cli", "--batch-size", "32")
    assert trained.returncode == 0, trained.stderr
    evaluated = _vemo("evaluate", str(ws / "runs" / "cli"))
    assert evaluated.returncode == 0 and "balanced accuracy" in evaluated.stdout and "SYNTHETIC" in evaluated.stdout
    assert (ws / "runs" / "cli" / "eval-test.json").exists()


def test_python_api_mirrors_the_commands():
    import vemo
    import vemo.evaluation  # noqa: F401  (importing the modules must not shadow the functions)
    import vemo.extraction  # noqa: F401
    import vemo.prediction  # noqa: F401
    import vemo.training  # noqa: F401
    from vemo.evaluation import evaluate
    from vemo.extraction import extract
    from vemo.training import train

    assert vemo.train is train and vemo.evaluate is evaluate and vemo.extract is extract
    assert vemo.TrainConfig().optimizer == "sgd" and callable(vemo.predict)


def test_library_errors_name_parameters_and_the_cli_names_flags(tmp_path: Path):
    from vemo.errors import ConfigError
    from vemo.extraction import ExtractConfig

    with pytest.raises(ConfigError, match="^crop_size must be at least 16") as raised:
        ExtractConfig(crop_size=8)
    from vemo.cli.common import in_cli_words

    assert in_cli_words(raised.value).startswith("--size must be at least 16")
    result = subprocess.run(
        [sys.executable, "-m", "vemo", "extract", str(tmp_path), "--out", str(tmp_path / "ws"), "--size", "8"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stderr.strip() == "vemo: error: --size must be at least 16 and at most 2048, not 8"
    result = subprocess.run(
        [sys.executable, "-m", "vemo", "extract", str(tmp_path), "--out", str(tmp_path / "ws"), "--fps", "0", "--min-neighbors", "-1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "--fps must be above 0" in result.stderr


@pytest.mark.slow
def test_the_quick_demo_runs_every_stage(tmp_path: Path):
    """`vemo demo --quick`: the whole paper on the tiny corpus, as a user runs it (no library log
    lines between the demo's own)."""
    result = subprocess.run([sys.executable, "-m", "vemo", "demo", "--quick", "--out", str(tmp_path / "d")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "INFO vemo" not in result.stdout + result.stderr
    lines = result.stdout
    for step in (
        "1. corpus",
        "2. extract",
        "3. label",
        "4. split",
        "5. the paper's experiments",
        "6. report",
        "7. predict a held-out clip",
        "demo finished",
    ):
        assert step in lines
    assert "SYNTHETIC" in lines
    report = (tmp_path / "d" / "report" / "report.html").read_text()
    assert "Table IX" in report and "SYNTHETIC" in report
    predictions = [p for p in (tmp_path / "d" / "predictions").glob("*.json") if p.name != "predict.json"]
    assert len(predictions) == 1
    assert list((tmp_path / "d" / "predictions").glob("*.annotated.mp4"))


def test_every_option_of_every_command_is_in_the_generated_reference():
    """docs/cli.md is filled from the Typer app when the site is built (docs/hooks/cli_reference.py)."""
    import importlib.util

    import typer.main

    from vemo.cli import app

    spec = importlib.util.spec_from_file_location("cli_reference", Path(__file__).parents[2] / "docs/hooks/cli_reference.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    reference = hook.on_page_markdown(hook.MARKER, None, None, None)

    def walk(command, path):
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))
        for parameter in command.params:
            yield path, parameter.opts[0]

    missing = [(path, flag) for path, flag in walk(typer.main.get_command(app), ()) if flag.startswith("-") and flag not in reference]
    assert not missing and "vemo train" in reference and "--nproc" in reference


def test_every_option_help_renders_as_written():
    """What `--help` shows is the help text as written: Rich markup eats what looks like a tag
    (`'vemo[ray]'` became `'vemo'`), so such text must be escaped where it is written."""
    import re

    import typer.main

    def words(text: str) -> str:
        return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())

    def walk(command, path: tuple[str, ...]):
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))
        if getattr(command, "callback", None) is not None:
            yield path, command

    checked = 0
    for path, command in walk(typer.main.get_command(app), ()):
        shown = words(runner.invoke(app, [*path, "--help"], env={"COLUMNS": "3000"}, terminal_width=3000).stdout)
        for parameter in command.params:
            written = getattr(parameter, "help", None)
            if written:
                expected = words(written.replace("\\[", "["))
                assert expected in shown, (path, parameter.name, expected)
                checked += 1
    assert checked > 100


def test_every_option_shows_the_values_it_takes_not_a_type_name():
    """`--device auto|cpu|cuda`, `--smooth SECONDS`: never `<str>`, `<bool>` or `<path>`, which say
    nothing the flag does not; flags and arguments show no value at all."""
    import re

    import typer.main

    def walk(command, path: tuple[str, ...]):
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))
        yield path

    type_names = re.compile(r"<(str|int|float|path|bool|list\[[^>]*\]|[a-z]+ range)>")
    shown = {}
    for path in walk(typer.main.get_command(app), ()):
        text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "3000"}, terminal_width=3000).stdout
        shown[" ".join(path)] = text
        assert not type_names.search(text), (path, type_names.findall(text))
    assert len(shown) > 20
    assert "auto|cpu|cuda" in shown["predict"] and "SECONDS" in shown["live"] and "HOST:PORT|auto" in shown["extract"]
    assert "FILE.onnx" in shown["export"] and "ARCHITECTURE" in shown["train"] and "tiny|demo|ised" in shown["synth"]


def test_the_training_preset_keeps_its_old_flag():
    """`--preset` was `--recipe`: command lines written then keep working."""
    import typer.main

    commands = typer.main.get_command(app).commands
    for command in (commands["train"], commands["experiment"].commands["paper"]):
        preset = next(p for p in command.params if p.name == "preset")
        assert {"--preset", "--recipe"} <= set(preset.opts)


def test_predict_and_live_default_to_the_pretrained_model_and_predictions_is_the_folder_by_default(
    weights_cache_env, shared_media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`vemo predict PHOTO` alone: the pretrained FER2013 model, its tables in ./predictions, which
    `vemo report` and `vemo view` alone look at; `vemo live FILE` alone: the same model, JSON lines
    on stdout; no inputs: a one-line error."""
    import importlib
    import json

    from vemo.prediction.reference import DEFAULT_MODEL

    view_commands = importlib.import_module("vemo.cli.view")  # `vemo.cli.view` the attribute is the command

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["predict", str(shared_media / "multi_face.jpg")])
    assert result.exit_code == 0, result.output
    assert "-> predictions/predictions.csv (1 predicted, 0 failed)" in result.output
    assert json.loads((tmp_path / "predictions" / "predict.json").read_text())["model"] == DEFAULT_MODEL
    assert (tmp_path / "predictions" / "multi_face.frames.csv").is_file()
    reported = runner.invoke(app, ["report"])  # `vemo report` and `vemo view` look at ./predictions
    assert reported.exit_code == 0 and (tmp_path / "predictions" / "report.html").is_file(), reported.output
    served: list[str] = []
    monkeypatch.setattr(view_commands, "serve_page", lambda application, host, port, what, hint: served.append(what))
    assert runner.invoke(app, ["view"]).exit_code == 0 and served == ["vemo view of predictions (1 inputs)"]
    live = runner.invoke(app, ["live", str(shared_media / "single_face.mp4"), "--duration", "0.5"])
    assert live.exit_code == 0, live.output
    first = json.loads(live.stdout.splitlines()[0])
    assert set(first["faces"][0]["probabilities"]) == {"disgust", "happiness", "sadness", "surprise"}
    nothing = runner.invoke(app, ["predict"])
    assert (
        nothing.exit_code == 1 and nothing.output.strip() == "vemo: error: give the videos, images or folders to predict (or --live SOURCE)"
    )


def test_extract_and_the_paper_experiment_default_their_folders(tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Without --out, `vemo extract` makes ./workspace and `vemo experiment paper` writes ./report."""
    import pandas as pd

    import vemo.experiment

    monkeypatch.chdir(tmp_path)
    clip = sorted((tiny_corpus / "videos").glob("*.mp4"))[0]
    extracted = runner.invoke(app, ["extract", str(clip), "--every", "5"])
    assert extracted.exit_code == 0, extracted.output
    faces = pd.read_csv(tmp_path / "workspace" / "faces.csv")
    assert len(faces) > 0 and set(faces["source_path"]) == {str(clip)}
    asked: list[Path] = []

    def study(workspace, config, out, **kwargs):  # the study itself is the demo's test
        asked.append(out)
        return pd.DataFrame({"reused": [False]}), out / "report.html"

    monkeypatch.setattr(vemo.experiment, "run_study", study)
    reported = runner.invoke(app, ["experiment", "paper", str(tmp_path / "workspace")])
    assert reported.exit_code == 0, reported.output
    assert asked == [Path("report")] and "1 runs (0 reused) -> report/report.html" in reported.output

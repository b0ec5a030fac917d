"""Every numeric option of every command, fed what a careless or hostile caller types: a word,
NaN, infinity, -1, 0 and 1e308. Never a traceback, never a hang (each call is bounded), one line
`vemo: error: ...` naming the flag, and the values the help does not allow are refused.

The calls run in this process (hundreds of them: a process each would take minutes). Where a
value is accepted, the command's work is replaced by a sentinel at its first expensive step, so
"accepted" is seen, not waited for.
"""

from __future__ import annotations

import shutil
import signal
import sys
import typing
from pathlib import Path

import pytest
import typer.main

from vemo.cli import app, main

VALUES = ("abc", "nan", "inf", "-1", "0", "1e308")
NEVER_ALLOWED = ("abc", "nan", "inf", "-1", "1e308")  # no numeric option of vemo takes these
SECONDS_PER_CALL = 60
LIVE_ONLY = ("--port", "--save-every", "--retries", "--duration", "--verdict-seconds")


class Accepted(Exception):
    """The command got past its checks and started its work."""


def numeric_options() -> list[tuple[tuple[str, ...], str]]:
    """(command path, flag) of every int or float option of the app."""
    found = []

    def walk(command, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))
        if command.callback is None:
            return
        hints = typing.get_type_hints(command.callback)  # Optional[int] -> int | None
        for parameter in command.params:
            kinds = set(typing.get_args(hints.get(parameter.name)) or (hints.get(parameter.name),))
            if parameter.opts[0].startswith("--") and kinds & {int, float}:
                found.append((path, parameter.opts[0]))

    walk(typer.main.get_command(app), ())
    return found


OPTIONS = numeric_options()


def test_the_walk_finds_every_numeric_option():
    flags = {(" ".join(path), flag) for path, flag in OPTIONS}
    for expected in [
        ("train", "--lr"),
        ("train", "--nproc"),
        ("extract", "--size"),
        ("predict", "--smooth"),
        ("predict", "--every"),
        ("label serve", "--port"),
        ("synth", "--fps"),
        ("experiment paper", "--seeds"),
        ("predict", "--port"),
        ("demo", "--workers"),
        ("extract", "--detect-width"),
    ]:
        assert expected in flags, expected
    assert len(flags) >= 40


@pytest.fixture(scope="module")
def workspace(split_tiny_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copytree(split_tiny_workspace, tmp_path_factory.mktemp("fuzz") / "ws"))


@pytest.fixture()
def sentinels(monkeypatch: pytest.MonkeyPatch):
    """The first expensive step of each command raises Accepted instead of working."""

    def accepted(*args, **kwargs):
        raise Accepted()

    import uvicorn

    import vemo.demo
    import vemo.experiment
    import vemo.extraction
    import vemo.prediction.loader
    import vemo.synth.corpus
    import vemo.training

    for module, name in [
        (vemo.synth.corpus, "run_units"),
        (vemo.extraction, "extract"),
        (vemo.training, "train"),
        (vemo.prediction.loader, "load_predictor"),
        (vemo.experiment, "run_study"),
        (vemo.demo, "_prepare_workspace"),
        (uvicorn.Server, "run"),
    ]:
        monkeypatch.setattr(module, name, accepted)
    monkeypatch.setattr("vemo.cli.torchrun.run_under_torchrun", accepted)


def _arguments(path: tuple[str, ...], workspace: Path, tmp: Path) -> list[str]:
    """The positional arguments and required options that make `path` runnable."""
    missing = str(tmp / "missing.mp4")
    return {
        ("synth",): [str(tmp / "corpus")],
        ("extract",): [missing, "--out", str(tmp / "ws")],
        ("split",): [str(workspace)],
        ("train",): [str(workspace)],
        ("predict",): ["--model", str(tmp / "run"), missing, "--out", str(tmp / "out")],
        ("evaluate",): [str(tmp / "run"), "--on", str(tmp / "labels.csv"), "--out", str(tmp / "evaluation")],
        ("live",): [missing, "--model", str(tmp / "run")],
        ("label", "serve"): [str(workspace)],
        ("experiment", "paper"): [str(workspace), "--out", str(tmp / "report")],
        ("demo",): ["--out", str(tmp / "demo")],
        ("view",): [str(tmp / "predictions")],
        ("report",): [str(tmp / "predictions")],
    }.get(path, [])


def _call(argv: list[str], capsys) -> tuple[int, str]:
    def too_long(*_):
        raise TimeoutError(f"vemo {' '.join(argv)} ran past {SECONDS_PER_CALL} s")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(SECONDS_PER_CALL)
    sys.argv = ["vemo", "-q", *argv]
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except Accepted:
        code = -1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--every", "--workers", "--smooth"])
def test_live_mode_checks_the_options_it_shares_with_file_mode(flag: str, tmp_path: Path, sentinels, capsys):
    code, errors = _call(["predict", "--model", str(tmp_path / "run"), "--live", "0", flag, "-1"], capsys)
    assert code in (1, 2) and errors.count("\n") == 1 and flag in errors, errors


@pytest.mark.parametrize("path, flag", OPTIONS, ids=[f"{' '.join(p)} {f}" for p, f in OPTIONS])
def test_every_numeric_option_refuses_what_it_cannot_take(path, flag, workspace: Path, tmp_path: Path, sentinels, capsys, record):
    arguments = _arguments(path, workspace, tmp_path)
    if path == ("predict",) and flag in LIVE_ONLY:
        arguments = ["--model", str(tmp_path / "run"), "--live", str(tmp_path / "missing.mp4"), "--serve"]
    if path == ("live",) and flag in LIVE_ONLY:
        arguments = [*arguments, "--serve"]  # the page's port is checked when there is a page
    outcomes = {}
    for value in VALUES:
        code, errors = _call([*path, *arguments, flag, value], capsys)
        assert "Traceback" not in errors, (value, errors)
        lines = errors.strip().splitlines()
        if value in NEVER_ALLOWED:
            assert code in (1, 2), (value, code, errors)
            assert len(lines) == 1 and lines[0].startswith("vemo: error:") and flag in lines[0], (value, errors)
        elif code > 0:
            assert lines and lines[-1].startswith("vemo: error:"), (value, errors)
        outcomes[value] = code
    record(f"option fuzz: {' '.join(path)} {flag}", len(VALUES), len(VALUES))


HOSTILE_NUMBERS = ("nan", "inf", "-inf", "-1", "1e308", "abc", "", "99999999999999999999999")
LONG = "x" * 5000


def _numbers(template: str) -> list[str]:
    """`template` with each hostile number in the place of its `{}` (every place at once)."""
    return [template.replace("{}", value) for value in HOSTILE_NUMBERS]


# Every text option of the app that carries numbers or names, with what a hostile caller types
# there (each refused in one line naming the flag) and one value it takes.
TEXT_OPTIONS: dict[tuple[tuple[str, ...], str], tuple[list[str], str]] = {
    (("split",), "--ratios"): (
        [*_numbers("{},{},{}"), *_numbers("0.5,{},0.2"), "0,0.5,0.5", "1,2", "1,2,3,4", ",,", "0.5;0.3;0.2"],
        "0.5,0.3,0.2",
    ),
    (("label", "apply"), "--window"): ([*_numbers("apex:{}"), "apex", "apex:", "apex:2:3", "apex:²", "onset"], "apex:3"),
    (("synth",), "--size"): ([*_numbers("{}x240"), *_numbers("320x{}"), "0x0", "320", "320x240x3", "95x95", "99999x99999"], "320x240"),
    (("extract",), "--thresholds"): ([*_numbers("{},0.7,0.7"), *_numbers("{},{},{}"), "0,0.7,0.7", "1,1,1", "0.6,0.7"], "0.6,0.7,0.7"),
    (("predict",), "--classes"): (["", ",", "happiness", "happiness,happiness", LONG, f"happiness,{LONG}", "../x,y"], "all"),
    (("live",), "--classes"): (["", ",", "happiness", "happiness,happiness", LONG, f"happiness,{LONG}", "../x,y"], "all"),
    (("label", "apply"), "--classes"): (
        ["", ",", "a", "a,a", "a,rejected", "../x,y", "a/b,c", f"a,{LONG}", ",".join(f"c{i}" for i in range(1001))],
        "a,b,c",
    ),
    (("label", "serve"), "--classes"): (["", "a", "a,a", "../x,y", f"a,{LONG}"], "a,b,c"),
    (("weights", "add"), "--classes"): (["", "a", "a,a", f"a,{LONG}", ",".join(f"c{i}" for i in range(1001))], "a,b"),
    (("predict",), "--live"): (["99999999999999999999999", "1024", "²", "-1", "nan"], "0"),
    (("extract",), "--address"): ([*_numbers("127.0.0.1:{}"), "127.0.0.1:0", "127.0.0.1:65536", ":", "nohost"], "auto"),
}
# Text options that carry neither numbers nor names of many (choices, paths, hosts, free text):
# a new text option must join one of the two lists, so the fuzz never falls behind the app.
PLAIN_TEXT_OPTIONS = {
    "synth --preset",
    "extract --detector",
    "extract --engine",
    "split --by",
    "train --model",
    "train --optimizer",
    "train --name",
    "train --device",
    "train --preset",
    "train --monitor",
    "train --weights",
    "evaluate --split",
    "evaluate --device",
    "predict --model",
    "predict --device",
    "predict --runtime",
    "predict --detector",
    "predict --engine",
    "predict --address",
    "predict --host",
    "view --host",
    "label serve --host",
    "weights add --model",
    "weights add --sha256",
    "weights add --url",
    "weights add --format",
    "weights add --licence",
    "weights add --trained-on",
    "weights add --task",
    "experiment paper --models",
    "experiment paper --preset",
    "experiment paper --protocol",
    "experiment paper --transfer",
    "experiment paper --engine",
    "experiment paper --address",
    "live --model",
    "live --device",
    "live --runtime",
    "live --detector",
    "live --host",
}


def text_options() -> set[str]:
    """'command flag' of every str option of the app."""
    found = set()

    def walk(command, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))
        if command.callback is not None:
            hints = typing.get_type_hints(command.callback)
            for parameter in command.params:
                kinds = set(typing.get_args(hints.get(parameter.name)) or (hints.get(parameter.name),))
                if parameter.opts[0].startswith("--") and str in kinds:
                    found.add(f"{' '.join(path)} {parameter.opts[0]}")

    walk(typer.main.get_command(app), ())
    return found


def test_every_text_option_is_fuzzed_or_carries_no_numbers():
    fuzzed = {f"{' '.join(path)} {flag}" for path, flag in TEXT_OPTIONS}
    assert text_options() == fuzzed | PLAIN_TEXT_OPTIONS


def _text_arguments(path: tuple[str, ...], flag: str, workspace: Path, tmp: Path) -> list[str]:
    if path == ("label", "apply"):
        return [str(workspace), "--from-clips"]
    if path == ("weights", "add"):
        return ["mine", "--model", "lenet", "--sha256", "a" * 64, "--url", "http://127.0.0.1:9/w", "--cache-dir", str(tmp / "cache")]
    if flag == "--live":
        return ["--model", str(tmp / "run")]
    if path == ("live",):  # a file that exists, so the session gets as far as loading the model
        return [str(workspace / "faces.csv"), "--model", str(tmp / "run")]
    if flag == "--address":
        return [*_arguments(path, workspace, tmp), "--engine", "ray"]
    return _arguments(path, workspace, tmp)


@pytest.fixture()
def text_sentinels(sentinels, monkeypatch: pytest.MonkeyPatch):
    """Also the labelling and splitting steps, and Ray's start: accepted, not run."""
    import vemo.labelling
    import vemo.labelling.split
    from vemo.engine import ray_engine

    def accepted(*args, **kwargs):
        raise Accepted()

    for module, name in [
        (vemo.labelling, "apply_labels"),
        (vemo.labelling.split, "split_workspace"),
        (ray_engine, "_start_private"),
        (ray_engine, "_join"),
    ]:
        monkeypatch.setattr(module, name, accepted)


@pytest.mark.parametrize("option", list(TEXT_OPTIONS), ids=[f"{' '.join(p)} {f}" for p, f in TEXT_OPTIONS])
def test_every_text_option_refuses_hostile_text_in_one_line(option, workspace: Path, tmp_path: Path, text_sentinels, capsys, record):
    path, flag = option
    hostile, fine = TEXT_OPTIONS[option]
    if flag == "--address":
        pytest.importorskip("ray", reason="--address is read once Ray is imported: pip install 'vemo[ray]'")
    arguments = _text_arguments(path, flag, workspace, tmp_path)
    for value in hostile:
        code, errors = _call([*path, *arguments, flag, value], capsys)
        lines = errors.strip().splitlines()
        assert "Traceback" not in errors and code in (1, 2), (value[:100], code, errors[-2000:])
        assert len(lines) == 1 and lines[0].startswith("vemo: error:"), (value[:100], errors[-2000:])
        assert len(lines[0]) < 400, lines[0]  # a 5,000-character value is not echoed whole
        assert flag in lines[0] or "camera index" in lines[0] or "Ray cluster at" in lines[0], (value[:100], lines[0])
    code, errors = _call([*path, *arguments, flag, fine], capsys)
    assert code == -1 or (code == 0 and not errors), (fine, code, errors)
    record(f"text option fuzz: {' '.join(path)} {flag}", len(hostile) + 1, len(hostile) + 1)

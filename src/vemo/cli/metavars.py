"""What `--help` shows after each option: the values it takes (`auto|cpu|cuda`, `SECONDS`,
`HOST:PORT`), never a type name (`<str>`) that says nothing the flag does not; flags show none.

Typer builds the command tree anew for every invocation: each command is made as a
`NamedValuesCommand` (and each group a `NamedValuesGroup`), which names its options' values from
one table for every command.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

# option -> what it takes; "COMMAND --option" where one command's option takes something else
VALUES = {
    "--address": "HOST:PORT|auto",
    "--batch-size": "N",
    "--by": "subject|clip|frame",
    "--cache-dir": "DIR",
    "--check-with": "WS|MEDIA",
    "--classes": "paper|all|A,B,..",
    "--clips": "N",
    "--detect-width": "PIXELS",
    "--detector": "haar|mtcnn|retinaface|centerface",
    "--device": "auto|cpu|cuda",
    "--duration": "SECONDS",
    "--engine": "local|ray",
    "--epochs": "N",
    "--every": "N",
    "--fps": "FPS",
    "--freeze-epochs": "N",
    "--gpus-per-worker": "GPUS",
    "--host": "ADDRESS",
    "--live": "SOURCE",
    "--lr": "RATE",
    "--min-neighbors": "N",
    "--min-size": "PIXELS",
    "--model": "MODEL",
    "--momentum": "MOMENTUM",
    "--monitor": "val_loss|val_accuracy",
    "--name": "NAME",
    "--nproc": "N",
    "--optimizer": "sgd|rmsprop|adam",
    "--out": "DIR",
    "--patience": "EPOCHS",
    "--port": "PORT",
    "--preset": "vemo|paper",
    "--ratios": "TRAIN,VAL,TEST",
    "--retries": "N",
    "--runtime": "auto|onnx|torch",
    "--save-every": "SECONDS",
    "--scale-factor": "FACTOR",
    "--seed": "N",
    "--size": "PIXELS",
    "--smooth": "SECONDS",
    "--split": "train|val|test",
    "evaluate --out": "DIR",
    "--subjects": "N",
    "--thresholds": "P,R,O",
    "--thumbnails": "N",
    "--to": "FILE",
    "--verdict-seconds": "SECONDS",
    "--weight-decay": "DECAY",
    "--weights": "NAME",
    "--workers": "N",
    "--window": "all|onset-offset|apex:K",
    "--on": "DATA",
    "--map": "FROM=TO",
    "--cross-on": "DATA",
    "--cross-map": "FROM=TO",
    "--from-folders": "DIR",
    "--from-csv": "FILE",
    "--sha256": "HEX",
    "--url": "URL",
    "--file": "FILE",
    "--format": "safetensors|torch-state-dict|keras-hdf5",
    "--licence": "LICENCE",
    "--trained-on": "DATASET",
    "--task": "emotion|features",
    "--seeds": "N",
    "--models": "A,B,..",
    "--protocol": "subject|paper|both",
    "--transfer": "W1,W2,..",
    "--transfer-epochs": "N",
    "synth --preset": "tiny|demo|ised",
    "synth --size": "WxH",
    "split --subjects": "FILE",
    "train --model": "ARCHITECTURE",
    "export --to": "FILE.onnx",
    "report --to": "FILE.html",
}


class _NamedArgument(TyperArgument):
    """An argument whose name says what it takes (`INPUTS...`, `WORKSPACE`): no type beside it."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class NamedValuesCommand(TyperCommand):
    """A command whose options show the values they take (every vemo command is one)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        name_values(self.name, self.params)

    def get_help_option(self, ctx: Any) -> Any:
        return _without_metavar(super().get_help_option(ctx))


class NamedValuesGroup(TyperGroup):
    """A group of commands (`vemo`, `vemo label`, ...) whose own options show their values too."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        name_values(self.name, self.params)

    def get_help_option(self, ctx: Any) -> Any:
        return _without_metavar(super().get_help_option(ctx))


def name_values(command: str | None, params: list[Any]) -> None:
    """Each option's metavar from `VALUES` (flags: none); arguments without their type."""
    for param in params:
        if isinstance(param, TyperArgument):
            param.__class__ = _NamedArgument  # the same argument, shown without its type
        elif getattr(param, "is_flag", False):
            param.metavar = ""
        else:
            long = next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
            param.metavar = VALUES.get(f"{command} {long}") or VALUES.get(long) or param.metavar


def _without_metavar(option: Any) -> Any:
    if option is not None:
        option.metavar = ""
    return option


class CommandLine(typer.Typer):
    """A Typer app whose commands and groups name their options' values (`NamedValuesCommand`)."""

    def __init__(self, *, cls: type[NamedValuesGroup] = NamedValuesGroup, **attrs: Any) -> None:
        super().__init__(cls=cls, **attrs)

    def command(self, *args: Any, **attrs: Any) -> Any:
        return super().command(*args, cls=NamedValuesCommand, **attrs)

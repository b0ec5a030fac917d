"""The `vemo` command line: one thin command per stage, each calling one library function.

The library never imports this package. The commands are registered here, in the order of the
paper's data flow, which is the order `vemo --help` lists them in.
"""

from __future__ import annotations

import gc
import os

from vemo.cli.common import app
from vemo.cli.experiment import experiment_app
from vemo.cli.label import label_app
from vemo.cli.predict import predict
from vemo.cli.stages import demo, evaluate, extract, models, split, synth, train
from vemo.cli.weights import weights_app

__all__ = ["app", "main"]

app.command()(synth)
app.command()(extract)
app.add_typer(label_app, name="label")
app.command()(split)
app.command()(train)
app.command()(evaluate)
app.command()(models)
app.command()(predict)
app.add_typer(weights_app, name="weights")
app.add_typer(experiment_app, name="experiment")
app.command()(demo)


def main() -> None:
    """Entry point of the `vemo` script."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # vemo reports unreadable media itself, in one line
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # and missing cameras, without OpenCV's warnings
    try:
        app()
    finally:
        # Leave the objects of torch & co. out of the collections at interpreter exit: the process
        # ends about 0.5 s sooner (0.75 s -> 0.3 s after `import torch`, measured), atexit handlers still run.
        gc.freeze()

"""The `vemo` command line: one thin command per stage, each calling one library function.

The library never imports this package. The commands are registered here, in the order of the
paper's data flow, which is the order `vemo --help` lists them in.
"""

from __future__ import annotations

import gc
import os
import sys

from vemo.cli.common import app
from vemo.cli.experiment import experiment_app
from vemo.cli.export import export
from vemo.cli.label import label_app
from vemo.cli.predict import live, predict
from vemo.cli.stages import demo, evaluate, extract, models, split, synth, train
from vemo.cli.view import report, view
from vemo.cli.weights import weights_app

__all__ = ["app", "main"]

USAGE_EXIT = 2  # a command line that does not parse; 1: an expected problem with the files or the work

app.command()(synth)
app.command()(extract)
app.add_typer(label_app, name="label")
app.command()(split)
app.command()(train)
app.command()(evaluate)
app.command()(models)
app.command()(predict)
app.command()(live)
app.command()(export)
app.command()(view)
app.command()(report)
app.add_typer(weights_app, name="weights")
app.add_typer(experiment_app, name="experiment")
app.command()(demo)


def main() -> None:
    """Entry point of the `vemo` script."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # vemo reports unreadable media itself, in one line
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # and missing cameras, without OpenCV's warnings
    try:
        code = app(standalone_mode=False)
    except Exception as error:
        if not (hasattr(error, "format_message") and hasattr(error, "exit_code")):
            raise  # not Click's: a bug, with its traceback
        code = _usage_error(error)
    finally:
        # Leave the objects of torch & co. out of the collections at interpreter exit: the process
        # ends about 0.5 s sooner (0.75 s -> 0.3 s after `import torch`, measured), atexit handlers still run.
        # Not once triton is loaded (torch._dynamo loads it, e.g. for an optimizer): its nanobind
        # bindings then report the frozen objects as leaks, some 30 lines on stderr with triton 3.9.
        if "triton" not in sys.modules:
            gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(error) -> int:
    """A usage error (unknown option, not a number, a value outside the range --help shows) as one
    line with a pointer to the command's help; exit code 2. A bare group prints its help."""
    if type(error).__name__ == "NoArgsIsHelpError":
        error.show()
        return 2
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else "vemo"
    message = " ".join(error.format_message().split())
    print(f"vemo: error: {message} (see `{command} --help`)", file=sys.stderr)
    return USAGE_EXIT

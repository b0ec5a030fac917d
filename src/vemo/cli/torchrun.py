"""`vemo train --nproc N`: this command line again under torchrun, checked first, tied to this
process, and with a failure told in one line.

The options are checked here, once, before torchrun starts (each rank would otherwise print the
same error, followed by torchrun's 49-line report of it). torchrun gets SIGTERM when this process
dies, SIGKILL included (the parent-death signal), and ends its workers, which also watch their own
parent (`vemo.engine.die_with_parent`), so nothing trains on in the background. What the ranks
print goes through; after the first `vemo: error:` line, torchrun's own account of the failure
does not.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

ERROR_PREFIX = b"vemo: error:"
PR_SET_PDEATHSIG = 1


def _tied_to(parent: int):
    """A preexec function: the child gets SIGTERM when `parent` dies (Linux; elsewhere a no-op)."""

    def tie() -> None:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # died before the tie was made
            os._exit(1)

    return tie


def command_without_nproc(argv: list[str], nproc: int) -> list[str]:
    """torchrun's command for this command line (`argv`: sys.argv[1:]) without --nproc."""
    arguments, skip = [], False
    for argument in argv:
        if skip or argument.startswith("--nproc="):
            skip = False
            continue
        if argument == "--nproc":
            skip = True
            continue
        arguments.append(argument)
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc), "-m", "vemo", *arguments]


def run_under_torchrun(nproc: int) -> int:
    """Run this command line under torchrun with `nproc` processes; its exit code (1 on failure)."""
    # torchrun sets one OpenMP thread per process anyway; set here, it does so without its banner
    environment = {"OMP_NUM_THREADS": "1", **os.environ}
    process = subprocess.Popen(
        command_without_nproc(sys.argv[1:], nproc), stderr=subprocess.PIPE, env=environment, preexec_fn=_tied_to(os.getpid())
    )
    failed = _relay(process.stderr)
    code = process.wait()
    if code != 0 and not failed:
        sys.stderr.write(f"vemo: error: training under torchrun failed (exit code {code})\n")
    return 0 if code == 0 else 1


def _relay(stream) -> bool:
    """Copy the ranks' stderr to ours as it comes (progress bars included); from the first
    `vemo: error:` line on, only new error lines. Returns whether an error line came."""
    seen: set[bytes] = set()
    line = b""
    while chunk := stream.read1(65536):
        line += chunk
        *complete, line = line.split(b"\n")
        for text in complete:
            if text.startswith(ERROR_PREFIX) and text not in seen or not seen:
                sys.stderr.buffer.write(text + b"\n")
            if text.startswith(ERROR_PREFIX):
                seen.add(text)
        if line and not seen and not ERROR_PREFIX.startswith(line[: len(ERROR_PREFIX)]):
            sys.stderr.buffer.write(line)  # a progress bar redrawn with \r: shown now, not at its line's end
            line = b""
        sys.stderr.buffer.flush()
    if line and not seen:
        sys.stderr.buffer.write(line)
    return bool(seen)

"""The exceptions vemo raises for expected problems.

The CLI turns any `VemoError` into a one-line message and exit code 1; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class VemoError(Exception):
    """Base class for every expected, user-facing failure.

    The message speaks the library's language: where it names Python parameters (`lr`,
    `crop_size`), they are listed in `parameters`, so a caller of the Python API reads the
    names it typed, and the command line rewrites them into its own flags (`--lr`, `--size`).
    """

    def __init__(self, message: str, *parameters: str) -> None:
        super().__init__(message)
        self.parameters = parameters


class ConfigError(VemoError):
    """An option or parameter has a value vemo cannot work with."""


class OutputError(VemoError):
    """An output folder or file cannot be created or written."""


class VideoOpenError(VemoError):
    """A media file cannot be opened or decoded."""


class FaceDetectionError(VemoError):
    """The face detector itself failed (not: a frame had no face)."""


class WorkspaceError(VemoError):
    """A workspace is missing, or a table in it is missing or malformed."""


class UnknownModelError(VemoError):
    """A model name that is not registered."""


class CheckpointError(VemoError):
    """A run folder or checkpoint that cannot be loaded."""


class TrainingError(VemoError):
    """Training that cannot produce a model: its loss stopped being a number."""


class WeightsError(VemoError):
    """Pretrained weights that cannot be fetched, fail their checksum, or do not convert."""


class ExportError(VemoError):
    """A model that cannot be exported, or whose export does not reproduce it."""

"""Stage 1 of the paper: inputs -> frames -> faces -> aligned crops, into a workspace."""

from vemo.extraction.config import ExtractConfig, ExtractResult
from vemo.extraction.run import FACE_COLUMNS, SOURCE_COLUMNS, extract

__all__ = ["FACE_COLUMNS", "SOURCE_COLUMNS", "ExtractConfig", "ExtractResult", "extract"]

"""File and media input/output helpers."""

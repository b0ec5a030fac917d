"""The class list, fixed in one place so every table and model agrees on the order."""

from __future__ import annotations

from vemo.errors import ConfigError

PAPER_CLASSES: tuple[str, ...] = ("disgust", "happiness", "sadness", "surprise")
REJECTED = "rejected"  # not a face, or unusable: removed from every data set


def parse_classes(text: str | None) -> tuple[str, ...]:
    """'a,b,c' -> ('a', 'b', 'c'); None -> the paper's four classes.

    Raises:
        ConfigError: fewer than two classes, duplicates, or the reserved name 'rejected'.
    """
    if text is None:
        return PAPER_CLASSES
    classes = tuple(c.strip() for c in text.split(",") if c.strip())
    if len(classes) < 2 or len(set(classes)) != len(classes) or REJECTED in classes:
        raise ConfigError(f"classes needs two or more distinct names other than {REJECTED!r}, not {text!r}", "classes")
    return classes

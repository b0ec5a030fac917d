"""The class list, fixed in one place so every table and model agrees on the order."""

from __future__ import annotations

from vemo.checks import require_plain_name
from vemo.errors import ConfigError

PAPER_CLASSES: tuple[str, ...] = ("disgust", "happiness", "sadness", "surprise")
MAX_CLASSES = 1000  # ImageNet's 1,000 is the most any network here has
MAX_CLASS_NAME = 128  # characters
REJECTED = "rejected"  # not a face, or unusable: removed from every data set


def parse_classes(text: str | None) -> tuple[str, ...]:
    """'a,b,c' -> ('a', 'b', 'c'); None -> the paper's four classes.

    Raises:
        ConfigError: fewer than two classes, duplicates, or the reserved name 'rejected'.
    """
    if text is None:
        return PAPER_CLASSES
    classes = tuple(c.strip() for c in text.split(",") if c.strip())
    if not 2 <= len(classes) <= MAX_CLASSES or len(set(classes)) != len(classes) or REJECTED in classes:
        raise ConfigError(f"classes needs 2 to {MAX_CLASSES} distinct names other than {REJECTED!r}, not {shortened(text)}", "classes")
    for name in classes:  # a class becomes a folder of `vemo label export` and a key of the page's forms
        require_plain_name(name, "classes")
    return classes


def shortened(text: str, limit: int = 80) -> str:
    """`text` quoted for a one-line message, cut to `limit` characters."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def check_class_choice(wanted: str | None) -> None:
    """What may be asked of a model's classes before the model is known: None, "all", "paper",
    or a list as `parse_classes` takes it.

    Raises:
        ConfigError: anything else.
    """
    if wanted not in (None, "all", "paper"):
        parse_classes(wanted)

"""Values checked where they enter the library: NaN, infinities, zero, negatives and absurd sizes
are refused with one message naming the parameter (the command line names its flag instead).

NaN passes every `<` and `>` comparison unnoticed, and an infinite or 1e308 value reaches an
allocation or a division before it fails; each check here says what range is allowed.
"""

from __future__ import annotations

import math
import re

from vemo.errors import ConfigError


def require_number(value: float | int | None, parameter: str, low: float, high: float, *, low_open: bool = False) -> None:
    """`value` finite and within [low, high] (or (low, high] with `low_open`); None passes.

    Raises:
        ConfigError: naming `parameter` and the range.
    """
    if value is None:
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{parameter} must be a number, not {value!r}", parameter) from None
    if not math.isfinite(number):
        raise ConfigError(f"{parameter} must be a finite number, not {value}", parameter)
    if not ((number > low if low_open else number >= low) and number <= high):
        lower = f"above {low:g}" if low_open else f"at least {low:g}"
        raise ConfigError(f"{parameter} must be {lower} and at most {high:g}, not {value}", parameter)


PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]{0,127}$")


def require_plain_name(name: str | None, parameter: str) -> None:
    """A name that becomes one folder: letters, digits and `_.=+-`, not starting with a dot
    (so never `..`, an absolute path or a path with `/`); None passes.

    Raises:
        ConfigError: naming `parameter`.
    """
    if name is not None and not PLAIN_NAME.fullmatch(name):
        shown = repr(name) if len(name) <= 80 else f"{name[:80]!r}... ({len(name)} characters)"
        raise ConfigError(
            f"{parameter} must be a single folder: letters, digits and _ . = + -, not starting with a dot and without '/', not {shown}",
            parameter,
        )


def host_and_port(address: str) -> tuple[str, int]:
    """'HOST:PORT' (an IPv6 host in brackets) -> (host, port).

    Raises:
        ConfigError: not HOST:PORT with a port from 1 to 65535.
    """
    host, _, port = address.rpartition(":")
    if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"address must be HOST:PORT (port 1 to 65535) or auto, not {address[:80]!r}", "address")
    return host.strip("[]"), int(port)

"""Plain values checked with the key named: a count, a number, one of a list of names."""

from collections.abc import Sequence
from numbers import Integral, Real

from gan.errors import ConfigError


def whole_number(key: str, value, example: str) -> int:
    """`value` as an int; a YAML `1.5`, `1.0`, `abc` or `true` is not a count: refused with the key named."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ConfigError(f"{key}={value!r}: must be a whole number, e.g. {example}.")
    return int(value)


def number(key: str, value, example: str) -> float:
    """`value` as a float; a string such as `abc` (or a bool) is refused with the key named."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(f"{key}={value!r}: must be a number, e.g. {example}.")
    return float(value)


def one_of(value, options: Sequence[str], key: str, example: str = "") -> None:
    """None passes (not set); any other value must be one of `options`."""
    if value is not None and value not in options:
        raise ConfigError(f"{key}={value!r} is not one of: {', '.join(map(str, options))}.{example}")

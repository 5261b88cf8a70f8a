"""argparse value types shared by the subcommands.

Each one rejects a bad value at parse time with a message that says what was expected and what
was given (``--jobs: expected a whole number >= 1, got 0``), instead of failing later, deep in the
work, or silently doing something odd with a zero or a negative.
"""

from __future__ import annotations

import argparse
from typing import Callable


def whole_number(minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An int in [minimum, maximum] (no upper bound when maximum is None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            wanted = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"expected a whole number {wanted}, got {value}")
        return value

    return parse


non_negative_int = whole_number(0)
positive_int = whole_number(1)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_float(text: str) -> float:
    value = _number(text)
    if not value > 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A float in [0, 1)."""
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 up to (not including) 1, got {text}")
    return value

"""argparse value types shared by the sub-commands: a bad value is a usage error naming what was expected."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

N = TypeVar("N", int, float)


def _checked(text: str, cast: Callable[[str], N], ok: Callable[[N], bool], expected: str) -> N:
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
    return value


def positive_int(text: str) -> int:
    return _checked(text, int, lambda v: v >= 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return _checked(text, int, lambda v: v >= 0, "an integer >= 0")


def positive_float(text: str) -> float:
    return _checked(text, float, lambda v: v > 0, "a positive number")  # NaN fails v > 0 too


def non_negative_float(text: str) -> float:
    return _checked(text, float, lambda v: 0 <= v < float("inf"), "a number >= 0")  # NaN fails too


def port(text: str) -> int:
    return _checked(text, int, lambda v: 0 <= v <= 65535, "a port number 0-65535")

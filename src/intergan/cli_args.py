"""Argument types shared by every command: numbers checked at parse time.

Each numeric option names its allowed range once, here or at its ``add_argument``;
argparse then refuses nan, inf, out-of-range and non-numeric values with the usual
one-line usage error (exit 2) before any work starts::

    p.add_argument("--steps", type=int_in(2, 64), default=8)
    p.add_argument("--strength", type=float_in(0.0, 4.0))

The bounds are inclusive. ``tests/test_cli_numbers.py`` walks every subcommand's
numeric options and checks that each refuses nan, inf, negative and absurd values.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _describe(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"from {lo:g} to {hi:g}"
    if lo is not None:
        return f">= {lo:g}"
    if hi is not None:
        return f"<= {hi:g}"
    return "finite"


def int_in(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[lo, hi]`` (None: unbounded on that side)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {_describe(lo, hi)}, got {text!r}"
            ) from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"expected an integer {_describe(lo, hi)}, got {value}"
            )
        return value

    parse.__name__ = "integer"  # argparse names the type in its message
    parse.bounds = (lo, hi)  # type: ignore[attr-defined]  # read by the option walk test
    return parse


def float_in(lo: float | None = None, hi: float | None = None) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in ``[lo, hi]`` (None: unbounded)."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number {_describe(lo, hi)}, got {text!r}"
            ) from None
        if (
            not math.isfinite(value)
            or (lo is not None and value < lo)
            or (hi is not None and value > hi)
        ):
            raise argparse.ArgumentTypeError(
                f"expected a number {_describe(lo, hi)}, got {text.strip()}"
            )
        return value

    parse.__name__ = "number"
    parse.bounds = (lo, hi)  # type: ignore[attr-defined]
    return parse

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
from typing import Any


def _number(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"  # 100,000,000; 0.001


def _describe(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"from {_number(lo)} to {_number(hi)}"
    if lo is not None:
        return f">= {_number(lo)}"
    if hi is not None:
        return f"<= {_number(hi)}"
    return "finite"


def _ranged(
    what: str, convert: Callable[[str], Any], lo: float | None, hi: float | None, exact: bool
) -> Callable[[str], Any]:
    """An argparse ``type`` reading ``convert(text)`` in ``[lo, hi]``, finite; its errors
    say ``expected WHAT ...`` and show the value read (``exact``) or the text given."""

    def parse(text: str) -> Any:
        try:
            value = convert(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {what} {_describe(lo, hi)}, got {text!r}"
            ) from None
        if (
            (isinstance(value, float) and not math.isfinite(value))
            or (lo is not None and value < lo)
            or (hi is not None and value > hi)
        ):
            shown = value if exact else text.strip()
            raise argparse.ArgumentTypeError(f"expected {what} {_describe(lo, hi)}, got {shown}")
        return value

    parse.__name__ = what.split()[-1]  # argparse names the type in its message
    parse.bounds = (lo, hi)  # type: ignore[attr-defined]  # read by the option walk test
    return parse


def int_in(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[lo, hi]`` (None: unbounded on that side)."""
    return _ranged("an integer", int, lo, hi, exact=True)


def float_in(lo: float | None = None, hi: float | None = None) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in ``[lo, hi]`` (None: unbounded)."""
    return _ranged("a number", float, lo, hi, exact=False)


# Bounds several commands share (inclusive). Each is generous for real use and
# refuses what would only exhaust memory or run for ever.
MAX_SEED = 2**32 - 1  # numpy's seed range; torch takes any of these
MAX_STEPS = 10**8  # optimiser steps, step intervals, warm-ups
MAX_IMAGES = 10**8  # image counts (--n, --eval-n): CelebA has 202,599
MAX_BATCH = 4096  # images per batch
MAX_WORKERS = 256  # worker processes
MIN_SIDE, MAX_SIDE = 32, 512  # the generator's image sides (powers of two, validate_model)
MAX_PIXELS = 400_000_000  # --max-pixels: 10x the default, about 1.2 GB of RGB
MAX_LR = 1.0  # learning rates are positive and at most this
MIN_LR = 1e-9
MIN_LABEL_SCALE, MAX_LABEL_SCALE = 0.01, 2.0  # thres_int and test_int (defaults 0.5, 1.0)
MAX_EMA = 0.99999  # an EMA decay is below 1

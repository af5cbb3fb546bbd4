"""The web editor's command-line flags, importable without Gradio.

Shared by ``python -m intergan.app.web`` and ``intergan demo --serve``, so that
``intergan demo --help`` works on an install without the ``app`` extra.
"""

from __future__ import annotations

import argparse

from intergan.cli_args import MAX_PIXELS, int_in
from intergan.editing.io import DEFAULT_MAX_PIXELS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--host``, ``--port`` and ``--max-pixels``."""
    g = parser.add_argument_group("web editor (--serve)")
    g.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    g.add_argument("--port", type=int_in(1, 65535), default=7860, help="port (default %(default)s)")
    g.add_argument(
        "--max-pixels",
        type=int_in(1, MAX_PIXELS),
        default=DEFAULT_MAX_PIXELS,
        help="refuse uploads with more pixels than this (default %(default)s)",
    )

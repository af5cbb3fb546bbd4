"""The web editor's command-line flags, importable without Gradio.

Shared by ``python -m intergan.app.web`` and ``intergan demo --serve``, so that
``intergan demo --help`` works on an install without the ``app`` extra.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from intergan.app.store import DEFAULT_IDLE_S, DEFAULT_MAX_BYTES, DEFAULT_MAX_COUNT
from intergan.cli_args import MAX_PIXELS, int_in
from intergan.editing.io import DEFAULT_MAX_PIXELS


@dataclass
class WebOptions:
    """What the web server is started with (see ``add_arguments``)."""

    models: list[str]
    models_dirs: list[str]
    imports: bool = True
    host: str = "127.0.0.1"
    port: int = 7860
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_sessions: int = DEFAULT_MAX_COUNT
    session_idle_s: float = DEFAULT_IDLE_S
    session_memory: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_args(cls, args: argparse.Namespace, default_model: str) -> WebOptions:
        return cls(
            models=args.model or [default_model],
            models_dirs=args.models_dir or [],
            imports=not args.no_imports,
            host=args.host,
            port=args.port,
            max_pixels=args.max_pixels,
            max_sessions=args.max_sessions,
            session_idle_s=60.0 * args.session_idle,
            session_memory=args.session_memory * 2**20,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The server's flags (``--model`` is the caller's: repeatable, ``action="append"``)."""
    g = parser.add_argument_group("web editor (--serve)")
    g.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    g.add_argument("--port", type=int_in(1, 65535), default=7860, help="port (default %(default)s)")
    g.add_argument(
        "--max-pixels",
        type=int_in(0, MAX_PIXELS),
        default=DEFAULT_MAX_PIXELS,
        help="refuse uploads with more pixels than this, 0: no limit (default %(default)s)",
    )
    g.add_argument(
        "--models-dir",
        action="append",
        metavar="DIR",
        help="offer every exported model in DIR in the page's model menu (repeatable); the "
        "menu holds only these, the --model values and the imports: the page never takes a path",
    )
    g.add_argument(
        "--no-imports",
        action="store_true",
        help="leave the imports in the user's model folder ($INTERGAN_HOME/models) out of "
        "the menu (they are in it by default)",
    )
    g.add_argument(
        "--max-sessions",
        type=int_in(1, 10_000),
        default=DEFAULT_MAX_COUNT,
        help="photos kept open at once, all visitors together; the least recently used "
        "is dropped beyond (default %(default)s)",
    )
    g.add_argument(
        "--session-idle",
        type=int_in(1, 7 * 24 * 60),
        default=DEFAULT_IDLE_S // 60,
        metavar="MIN",
        help="minutes an open photo is kept after its last use (default %(default)s)",
    )
    g.add_argument(
        "--session-memory",
        type=int_in(16, 2**20),
        default=DEFAULT_MAX_BYTES // 2**20,
        metavar="MB",
        help="memory the open photos may hold together; the least recently used are "
        "dropped beyond, the newest always stays (default %(default)s)",
    )

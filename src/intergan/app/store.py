"""The pictures the web editor's visitors have open, kept on the server with bounds.

The page's per-visitor state is a short token; the picture behind it (``Opened``:
the upload, its editing session, the last edit) and its files (the shown images
and the download, in a folder of its own) live here. Three limits bound what the
server holds, whatever visitors do:

- ``max_count`` pictures at once: opening one more drops the least recently used;
- ``idle_s``: a picture not used for that long is dropped (checked on every
  open and edit, and when Gradio drops the visitor's state);
- ``max_bytes``: the pictures' arrays together (``Opened.nbytes``); the least
  recently used go first, but the newest always stays.

A dropped picture's folder is deleted with it; its visitor is told to open the
photo again (``Expired``).
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from intergan.errors import UserError

DEFAULT_MAX_COUNT = 16
DEFAULT_IDLE_S = 30 * 60
DEFAULT_MAX_BYTES = 1024 * 2**20


class Held(Protocol):
    """What the store keeps: anything that knows how many bytes it holds."""

    @property
    def nbytes(self) -> int: ...


class Expired(UserError):
    """The page asked for a picture the server no longer holds."""


class Store:
    """Token -> picture, bounded by count, idle time and bytes (module docstring).

    ``root``: the folder under which each picture gets its own (``folder``);
    ``clock``: seconds, monotonic (tests pass their own). Thread-safe.
    """

    def __init__(
        self,
        root: Path,
        max_count: int = DEFAULT_MAX_COUNT,
        idle_s: float = DEFAULT_IDLE_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root, self.max_count, self.idle_s, self.max_bytes = root, max_count, idle_s, max_bytes
        self.clock = clock
        self._items: OrderedDict[str, tuple[Held, float]] = OrderedDict()  # LRU first
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, token: object) -> bool:
        return token in self._items

    @property
    def nbytes(self) -> int:
        """Bytes held by every picture in the store."""
        with self._lock:
            return sum(item.nbytes for item, _ in self._items.values())

    def folder(self, token: str) -> Path:
        """The picture's own folder (created on first use)."""
        path = self.root / token
        path.mkdir(parents=True, exist_ok=True)
        return path

    def new_token(self) -> str:
        return uuid.uuid4().hex

    def put(self, token: str, item: Held) -> str:
        """Keep ``item`` under ``token`` (replacing what was there), then apply the limits."""
        with self._lock:
            self._items[token] = (item, self.clock())
            self._items.move_to_end(token)
            self.expire()
            while len(self._items) > 1 and (
                len(self._items) > self.max_count or self.nbytes > self.max_bytes
            ):
                self.drop(next(iter(self._items)))
        return token

    def get(self, token: str | None) -> Held:
        """The picture under ``token``, marked as just used; ``Expired`` if it is gone."""
        with self._lock:
            self.expire()
            if token not in self._items:
                raise Expired(
                    "this photo is no longer open on the server (pictures are kept "
                    f"{self.idle_s / 60:g} min after their last edit, {self.max_count} at most): "
                    "upload it again or pick a sample"
                )
            item, _ = self._items[token]
            self._items[token] = (item, self.clock())
            self._items.move_to_end(token)
            return item

    def drop(self, token: str | None) -> None:
        """Forget ``token``'s picture and delete its folder (nothing if unknown)."""
        if not isinstance(token, str):
            return
        with self._lock:
            self._items.pop(token, None)
        shutil.rmtree(self.root / token, ignore_errors=True)

    def expire(self) -> None:
        """Drop every picture idle for longer than ``idle_s``."""
        now = self.clock()
        with self._lock:
            for token in [t for t, (_, used) in self._items.items() if now - used > self.idle_s]:
                self.drop(token)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            for token in list(self._items):
                self.drop(token)

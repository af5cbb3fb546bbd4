"""The packed cache written by ``intergan prepare`` and read by training.

Layout of a cache folder::

    manifest.json            {"kind": "intergan-cache", "version", "size", "columns", ...}
    train_images.npy         uint8 (N, 3, S, S), memory-mapped on read
    train_labels.npy         uint8 (N, C) in {0, 1}, over all label-file columns
    train_files.txt          one source file name per line, same order
    valid_* / test_*         the same for the other splits

Images are stored channel-first, exactly as the datasets serve them, so reading
an item is one slice of a memory map: no decoding, no resizing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from intergan.data.formats import SPLITS
from intergan.errors import UserError
from intergan.files import (
    atomic_write,
    check_replaceable,
    check_writable_folder,
    guard,
    os_error_in,
    os_error_message,
    read_json_object,
    remove_stale_temps,
    swap_in,
)

CACHE_KIND = "intergan-cache"
CACHE_VERSION = 1


def read_manifest(root: str | Path) -> dict[str, Any]:
    """Load and check ``root/manifest.json``."""
    path = Path(root) / "manifest.json"
    if not path.exists():
        raise UserError(f"{root} is not a prepared cache (no manifest.json)")
    manifest = read_json_object(path, "cache manifest", "prepare the cache again")
    if manifest.get("kind") != CACHE_KIND:
        raise UserError(f"{path} is not an intergan cache manifest; prepare the cache again")
    if manifest.get("version") != CACHE_VERSION:
        raise UserError(
            f"{path} has cache version {manifest.get('version')}, this intergan reads "
            f"version {CACHE_VERSION}; run `intergan prepare` again"
        )
    return manifest


def split_paths(root: str | Path, split: str) -> tuple[Path, Path, Path]:
    """(images .npy, labels .npy, file names .txt) of one split."""
    root = Path(root)
    return root / f"{split}_images.npy", root / f"{split}_labels.npy", root / f"{split}_files.txt"


def open_split(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Memory-map one split: images (N,3,S,S) uint8, labels (N,C) uint8, names."""
    images, labels, files = split_paths(root, split)
    try:
        arr = np.load(images, mmap_mode="r")
        lab = np.load(labels)
        names = files.read_text().splitlines()
    except (OSError, ValueError) as e:
        raise UserError(f"cache {root} is damaged ({e}); run `intergan prepare` again") from e
    if not (len(arr) == len(lab) == len(names)):
        raise UserError(f"cache {root}: the {split} files disagree in length; prepare again")
    return arr, lab, names


class CacheWriter:
    """Writes a cache into a temporary sibling folder and renames it into place.

    Use as a context manager: on an exception the temporary folder is removed and
    nothing appears at ``out``; an ``OSError`` (a full disk, a read-only folder)
    becomes a ``UserError`` naming ``out``. Images are written with plain checked
    writes, never through a memory map of a sparse file: on a full disk that dies
    with SIGBUS instead of an error.
    """

    def __init__(self, out: str | Path, size: int, overwrite: bool = False) -> None:
        self.out = Path(out)
        self.size = size
        if self.out.exists() and not overwrite:
            raise UserError(
                f"--out {self.out} already exists; choose another folder or --overwrite"
            )
        if self.out.is_dir():
            check_replaceable(self.out)
        check_writable_folder(self.out)
        self.tmp = self.out.parent / f".{self.out.name}.tmp-{os.getpid()}"

    def __enter__(self) -> CacheWriter:
        with guard(self.out, "write the cache"):
            self.out.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(self.out.parent, self.out.name)  # of killed earlier runs
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp.mkdir()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            return
        shutil.rmtree(self.tmp, ignore_errors=True)
        err = None if isinstance(exc, UserError) else os_error_in(exc)
        if err is not None:
            msg = os_error_message(err, self.out, "write the cache")
            raise UserError(f"{msg}; nothing was written") from exc

    def images(self, split: str, n: int) -> ImageWriter:
        """A writer of up to ``n`` (3, S, S) uint8 images for ``split``."""
        return ImageWriter(split_paths(self.tmp, split)[0], n, self.size)

    def labels(self, split: str, labels: np.ndarray, names: list[str]) -> None:
        _, lab, files = split_paths(self.tmp, split)
        atomic_write(lab, lambda f: np.save(f, labels.astype(np.uint8)))
        atomic_write(files, "".join(f"{n}\n" for n in names))

    def commit(self, manifest: dict[str, Any]) -> None:
        """Write the manifest and move the folder to ``out`` (replacing an old cache)."""
        manifest = {"kind": CACHE_KIND, "version": CACHE_VERSION, "size": self.size, **manifest}
        atomic_write(self.tmp / "manifest.json", json.dumps(manifest, indent=2) + "\n")
        swap_in(self.tmp, self.out)


class ImageWriter:
    """Appends images to a ``.npy`` file of shape (count, 3, S, S) uint8.

    The header is written for ``n`` images first; :meth:`close` rewrites it in place
    for the number actually appended (fewer when bad files were skipped).
    """

    def __init__(self, path: Path, n: int, size: int) -> None:
        self.path, self.n, self.item = path, n, (3, size, size)
        self.count = 0
        self.f = open(path, "wb")
        self.offset = self._header(n)

    def _header(self, n: int) -> int:
        self.f.seek(0)
        header = {"descr": "|u1", "fortran_order": False, "shape": (n, *self.item)}
        np.lib.format.write_array_header_1_0(self.f, header)
        return self.f.tell()

    def append(self, image: np.ndarray) -> None:
        if self.count >= self.n:
            raise ValueError(f"{self.path}: more than the {self.n} images announced")
        self.f.write(np.ascontiguousarray(image, dtype=np.uint8).reshape(self.item).data)
        self.count += 1

    def close(self) -> None:
        """Fix the header for the images written, flush and fsync."""
        try:
            if self.count != self.n:
                # numpy pads the header so the first axis can grow: same length
                if self._header(self.count) != self.offset:
                    raise RuntimeError(f"{self.path}: the .npy header changed length")
                self.f.truncate(self.offset + self.count * int(np.prod(self.item)))
            self.f.flush()
            os.fsync(self.f.fileno())
        finally:
            self.f.close()


def cache_splits(manifest: dict[str, Any]) -> list[str]:
    """The splits a cache holds, in train/valid/test order."""
    return [s for s in SPLITS if s in manifest.get("splits", {})]

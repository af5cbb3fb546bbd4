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

CACHE_KIND = "intergan-cache"
CACHE_VERSION = 1


def read_manifest(root: str | Path) -> dict[str, Any]:
    """Load and check ``root/manifest.json``."""
    path = Path(root) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{root} is not a prepared cache (no manifest.json)") from None
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is unreadable ({e}); prepare the cache again") from e
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
    nothing appears at ``out``.
    """

    def __init__(self, out: str | Path, size: int, overwrite: bool = False) -> None:
        self.out = Path(out)
        self.size = size
        if self.out.exists() and not overwrite:
            raise UserError(
                f"--out {self.out} already exists; choose another folder or --overwrite"
            )
        self.tmp = self.out.parent / f".{self.out.name}.tmp-{os.getpid()}"

    def __enter__(self) -> CacheWriter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def images(self, split: str, n: int) -> np.ndarray:
        """A writable (n, 3, S, S) uint8 memory map for ``split``."""
        path = split_paths(self.tmp, split)[0]
        shape = (n, 3, self.size, self.size)
        return np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)

    def shrink(self, split: str, arr: np.ndarray, n: int) -> None:
        """Keep only the first ``n`` images of ``split`` (after skipped files)."""
        if n == len(arr):
            arr.flush()
            return
        path = split_paths(self.tmp, split)[0]
        small = path.with_suffix(".part.npy")
        out = np.lib.format.open_memmap(small, mode="w+", dtype=np.uint8, shape=(n, *arr.shape[1:]))
        for start in range(0, n, 1024):
            out[start : start + 1024] = arr[start : min(n, start + 1024)]
        out.flush()
        del out
        os.replace(small, path)

    def labels(self, split: str, labels: np.ndarray, names: list[str]) -> None:
        _, lab, files = split_paths(self.tmp, split)
        np.save(lab, labels.astype(np.uint8))
        files.write_text("".join(f"{n}\n" for n in names))

    def commit(self, manifest: dict[str, Any]) -> None:
        """Write the manifest and move the folder to ``out`` (replacing an old cache)."""
        manifest = {"kind": CACHE_KIND, "version": CACHE_VERSION, "size": self.size, **manifest}
        (self.tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        old = None
        if self.out.exists():
            old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
            os.replace(self.out, old)
        os.replace(self.tmp, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def cache_splits(manifest: dict[str, Any]) -> list[str]:
    """The splits a cache holds, in train/valid/test order."""
    return [s for s in SPLITS if s in manifest.get("splits", {})]

"""Torch datasets over image folders and prepared caches, and ``build_dataset``.

Items are ``(image, labels)``: ``image`` uint8 (3, S, S) in [0, 255] (convert with
``intergan.images.to_model``), ``labels`` float32 (n_attrs,) in {0, 1}, in the
order of ``dataset.attrs``. Both dataset kinds expose ``attrs``, ``names`` (the
source file of each item) and ``size``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from intergan.attributes import resolve_attrs
from intergan.data import cache as C
from intergan.data.decode import BadImageError, load_image
from intergan.data.formats import SPLITS
from intergan.data.layout import split_id
from intergan.data.sources import DEFAULT_RATIOS, FORMATS, detect_format, discover
from intergan.errors import UserError


def select_columns(columns: Sequence[str], attrs: Sequence[str], where: str) -> list[int]:
    """Column index of each requested attribute; error naming ``where`` if one is absent."""
    missing = [a for a in attrs if a not in columns]
    if missing:
        raise UserError(
            f"{where} has no column for {', '.join(missing)} (it has {', '.join(columns)}); "
            "choose attributes it labels (--attrs)"
        )
    return [list(columns).index(a) for a in attrs]


def _maybe_flip(image: torch.Tensor, flip: bool) -> torch.Tensor:
    if flip and torch.rand(()) < 0.5:
        return image.flip(-1)
    return image


class FolderDataset(Dataset):
    """Decodes image files on every access (use a prepared cache for speed).

    ``skip_bad``: an image that cannot be decoded is reported once (per process) and
    replaced by the next readable one, with that one's labels; otherwise reading it
    raises a ``UserError`` naming the file.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        labels: np.ndarray,
        attrs: Sequence[str],
        size: int,
        flip: bool = False,
        names: Sequence[str] | None = None,
        skip_bad: bool = False,
    ) -> None:
        self.skip_bad = skip_bad
        self.paths = list(paths)
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.float32))  # (N, n_attrs)
        self.attrs = list(attrs)
        self.size = size
        self.flip = flip
        self.names = list(names) if names is not None else [p.name for p in self.paths]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.paths)
        for j in (int(i) + k for k in range(n if self.skip_bad else 1)):
            j %= n
            try:
                image = torch.from_numpy(load_image(self.paths[j], self.size))
            except BadImageError as e:
                if not self.skip_bad:
                    raise UserError(
                        f"{e}; run `intergan data check` to list every bad file, then fix "
                        "them, or train past them with `intergan train --skip-bad`, or "
                        "`intergan prepare --skip-bad` and train from the cache"
                    ) from e
                _report_skipped(e)
                continue
            return _maybe_flip(image, self.flip), self.labels[j]
        raise UserError(f"none of the {n} images of the dataset can be decoded")


_SKIPPED: set[str] = set()  # files reported in this process


def _report_skipped(e: BadImageError) -> None:
    if str(e) not in _SKIPPED:
        _SKIPPED.add(str(e))
        print(f"warning: skipped ({e}); --skip-bad uses the next image", file=sys.stderr)


class CacheDataset(Dataset):
    """Reads a prepared cache through memory maps; no decoding.

    The maps are opened lazily in each process (DataLoader workers included), and
    never pickled.
    """

    def __init__(
        self, root: str | Path, splits: Sequence[str], attrs: Sequence[str], flip: bool = False
    ) -> None:
        self.root = Path(root)
        manifest = C.read_manifest(self.root)
        self.size = int(manifest["size"])
        self.attrs = list(attrs)
        self.flip = flip
        cols = select_columns(manifest["columns"], self.attrs, f"cache {self.root}")
        self.splits = [s for s in splits if s in manifest["splits"]]
        labels, self.names, lengths = [], [], []
        for s in self.splits:
            arr, lab, names = C.open_split(self.root, s)
            if arr.shape[2:] != (self.size, self.size):
                raise UserError(
                    f"cache {self.root}: {s} images are not {self.size} px; prepare again"
                )
            labels.append(lab[:, cols])
            self.names += names
            lengths.append(len(names))
        n_cols = len(cols)
        stacked = np.concatenate(labels) if labels else np.zeros((0, n_cols), np.uint8)
        self.labels = torch.from_numpy(stacked.astype(np.float32))  # (N, n_attrs)
        self.offsets = np.cumsum([0, *lengths])
        self._arrays: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_arrays"] = None
        return state

    def _maps(self) -> list[np.ndarray]:
        if self._arrays is None:
            self._arrays = [C.open_split(self.root, s)[0] for s in self.splits]
        return self._arrays

    def _locate(self, i: int) -> tuple[int, int]:
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        k = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return k, i - int(self.offsets[k])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        k, j = self._locate(int(i))
        image = torch.from_numpy(np.array(self._maps()[k][j]))
        return _maybe_flip(image, self.flip), self.labels[i]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Batched read used by DataLoader: one fancy-index per split instead of B slices."""
        idx = np.asarray(indices, dtype=np.int64)
        if len(self.splits) != 1 or len(idx) == 0:
            return [self[int(i)] for i in idx]
        if idx.min() < 0 or idx.max() >= len(self):
            raise IndexError(f"index out of range for {len(self)} images")
        block = torch.from_numpy(self._maps()[0][idx])  # (B, 3, S, S), a copy
        return [(_maybe_flip(block[b], self.flip), self.labels[i]) for b, i in enumerate(idx)]


def build_dataset(
    path: str | Path,
    attrs: str | Sequence[str] | None,
    split: str,
    size: int | None,
    format: str = "auto",
    flip: bool = False,
    *,
    hq_labels: str = "auto",
    ratios: str | tuple[float, ...] = DEFAULT_RATIOS,
    skip_bad: bool = False,
) -> FolderDataset | CacheDataset:
    """The dataset of one split of ``path``: items (uint8 (3,S,S), float32 (n_attrs,) {0,1}).

    ``path``: a CelebA / CelebA-HQ / custom folder, a SynthFaces export or a cache from
    ``intergan prepare`` (``format`` auto-detects which). ``attrs``: names, a preset or
    None for the default 13. ``split``: train | valid | test | all. ``size``: output side
    in pixels (must equal a cache's size; None takes the cache's). ``flip``: random
    horizontal flips (use for training only). ``hq_labels`` (auto|mask|celeba) picks the
    CelebA-HQ label source; ``ratios`` split custom data without a partition file;
    ``skip_bad`` ignores labelled-but-missing and unlabelled images instead of raising,
    and replaces an image that cannot be decoded by the next one (see ``FolderDataset``).
    """
    names = resolve_attrs(attrs)
    if split != "all":
        split_id(split)
    if format not in FORMATS:
        raise UserError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    kind = detect_format(path)
    if format == "cache" or (format == "auto" and kind == "cache"):
        if kind != "cache":
            raise UserError(f"{path} is not a prepared cache; pass --format {kind} or auto")
        ds = CacheDataset(path, list(SPLITS) if split == "all" else [split], names, flip)
        if size is not None and size != ds.size:
            raise UserError(
                f"cache {path} holds {ds.size} px images but size {size} was asked; "
                f"use size {ds.size} or run `intergan prepare --size {size}`"
            )
        return ds
    if size is None or size < 8:
        raise UserError(f"image size must be at least 8 pixels, got {size}")
    src = discover(path, format, hq_labels, ratios)
    if not skip_bad:
        src.require_match()
    cols = select_columns(src.columns, names, str(src.label_file))
    rows = src.indices(split)
    return FolderDataset(
        [src.paths[i] for i in rows],
        src.labels[rows][:, cols],
        names,
        size,
        flip,
        [src.names[i] for i in rows],
        skip_bad=skip_bad,
    )

"""Small helpers shared by the evaluation commands: devices and dataset loading."""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from intergan.errors import UserError
from intergan.hardware import pick_device


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``--device`` of the evaluation commands: ``intergan.hardware.pick_device``."""
    return pick_device(spec)


def open_dataset(
    path: str | os.PathLike, attrs: Sequence[str], split: str, size: int, flip: bool = False
) -> torch.utils.data.Dataset:
    """``intergan.data.build_dataset`` with a clear error for a missing ``--data`` path."""
    if not path or not os.path.exists(path):
        raise UserError(
            f"--data {path}: no such file or folder; give a dataset folder, a SynthFaces "
            "export or a prepared cache"
        )
    from intergan.data import build_dataset

    dataset = build_dataset(path, list(attrs), split, size, flip=flip)
    if len(dataset) == 0:
        raise UserError(f"--data {path}: the {split!r} split is empty; choose another --split")
    return dataset

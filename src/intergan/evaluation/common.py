"""Small helpers shared by the evaluation commands: devices and dataset loading."""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from intergan.errors import UserError


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu; otherwise ``torch.device(spec)``.

    Asking for CUDA on a machine without it raises a ``UserError`` naming ``--device``.
    """
    if isinstance(spec, torch.device):
        return spec
    if spec in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise UserError(
            f"--device {spec!r} is not a device; use auto, cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {spec}: CUDA is not available here; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {spec}: MPS is not available here; use --device cpu")
    return device


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

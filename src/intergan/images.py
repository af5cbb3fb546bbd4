"""Pixel conventions, in exactly one place.

Datasets hold ``uint8`` images ``(B, 3, H, W)`` in [0, 255]; models see float
``(B, 3, H, W)`` in [-1, 1]. Convert only with these two functions.
"""

from __future__ import annotations

import torch


def to_model(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 (..., 3, H, W) in [0, 255] -> float (..., 3, H, W) in [-1, 1]."""
    if images.dtype != torch.uint8:
        raise TypeError(f"to_model expects uint8 images, got {images.dtype}")
    return images.to(dtype) / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float (..., 3, H, W) in [-1, 1] -> uint8 (..., 3, H, W), rounded and clamped."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

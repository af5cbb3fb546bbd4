"""Pixel conventions, in exactly one place.

Datasets hold ``uint8`` images ``(B, 3, H, W)`` in [0, 255]; models see float
``(B, 3, H, W)`` in [-1, 1]. Convert only with :func:`to_model` and :func:`to_uint8`.

Every decoded picture, a training image or a photo to edit, becomes 8-bit RGB through
:func:`rgb_alpha` (the editor, which keeps alpha aside) or :func:`flatten` (training
data, alpha composited over white), so both read any Pillow mode the same way:

- 16-bit modes (``I;16``, ``I;16B``, ``I;16L``, ``I;16N``: 16-bit PNG and TIFF) map
  0..65535 to 0..255 (divided by 257, rounded); Pillow's own conversion clips them,
  which reads a 16-bit photo as almost white;
- 32-bit integers (``I``) declare no range: values up to 255 are taken as 8-bit, larger
  ones as 16-bit (negative and over 65535 clipped); 32-bit floats (``F``) in [0, 1] are
  scaled by 255, others read like ``I`` (NaN as 0);
- a transparent colour (a ``tRNS`` grey value) becomes alpha, as for palette images;
- every other mode (grey-scale, palette, CMYK, YCbCr, LA, RGBA...) is Pillow's
  conversion to RGB or RGBA.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def to_model(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 (..., 3, H, W) in [0, 255] -> float (..., 3, H, W) in [-1, 1]."""
    if images.dtype != torch.uint8:
        raise TypeError(f"to_model expects uint8 images, got {images.dtype}")
    return images.to(dtype) / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float (..., 3, H, W) in [-1, 1] -> uint8 (..., 3, H, W), rounded and clamped."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def _deep_scale(mode: str, values: np.ndarray) -> float:
    if mode.startswith("I;16"):
        return 1 / 257
    if values.size == 0:
        return 1.0
    low, high = float(values.min()), float(values.max())
    if mode == "F" and low >= 0 and high <= 1:
        return 255.0
    return 1.0 if high <= 255 else 1 / 257


def _eight_bit(im: Image.Image) -> Image.Image:
    """A one-channel 16/32-bit image as 8-bit ``L`` (``LA`` with its transparent value)."""
    values = np.nan_to_num(np.asarray(im, dtype=np.float64), nan=0.0)
    grey = np.clip(np.rint(values * _deep_scale(im.mode, values)), 0, 255).astype(np.uint8)
    out = Image.fromarray(grey, "L")
    clear = im.info.get("transparency")
    if isinstance(clear, (int, float)):
        alpha = np.where(values == clear, 0, 255).astype(np.uint8)
        out = Image.merge("LA", (out, Image.fromarray(alpha, "L")))
    return out


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in _ALPHA_MODES or ("transparency" in im.info and im.mode not in DEEP_MODES)


def _rgb_or_rgba(im: Image.Image) -> Image.Image:
    """Any Pillow image as 8-bit ``RGB``, or ``RGBA`` when it has transparency."""
    if im.mode in DEEP_MODES:
        im = _eight_bit(im)
    if _has_alpha(im):
        return im if im.mode == "RGBA" else im.convert("RGBA")
    return im if im.mode == "RGB" else im.convert("RGB")


def rgb_alpha(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow image -> uint8 RGB (H, W, 3) and its alpha (H, W), or None when opaque."""
    arr = np.asarray(_rgb_or_rgba(im))
    if arr.shape[-1] == 4:
        return np.ascontiguousarray(arr[..., :3]), np.ascontiguousarray(arr[..., 3])
    return arr, None


def flatten(im: Image.Image) -> Image.Image:
    """Any Pillow image -> 8-bit ``RGB``, transparent pixels composited over white."""
    im = _rgb_or_rgba(im)
    if im.mode == "RGBA":
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, im).convert("RGB")
    return im

"""Paste an edited crop back into the full-resolution photo.

The crop is warped back with the inverse of the alignment transform and blended
through a feathered mask (1 inside, ramping to 0 over a border band), so the
seam is invisible and every pixel outside the mask's footprint is returned
bit-for-bit unchanged.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from intergan.editing.align import transform_points


def feather_mask(size: int, feather: float = 0.1) -> np.ndarray:
    """(size, size) float32 mask: 1 in the middle, linear ramp to 0 over ``feather``
    of the side at each edge (``feather`` = 0 gives a hard square)."""
    band = max(feather * size, 1e-6)
    c = np.arange(size, dtype=np.float32) + 0.5
    ramp = np.clip(np.minimum(c, size - c) / band, 0.0, 1.0)
    return (
        np.minimum(ramp[:, None], ramp[None, :])
        if feather > 0
        else np.ones((size, size), np.float32)
    )


def footprint(m: np.ndarray, size: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Integer photo box (x0, y0, x1, y1) covering the crop under photo->crop ``m``,
    clipped to the photo (H, W)."""
    corners = transform_points(np.linalg.inv(m), [[0, 0], [size, 0], [0, size], [size, size]])
    h, w = shape
    x0, y0 = np.floor(corners.min(0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)


def _warp_back(
    arr: np.ndarray, m: np.ndarray, box: tuple[int, int, int, int], edge_pad: int = 0
) -> np.ndarray:
    """Sample ``arr`` (crop space, float32 HxW or HxWxC) at the photo pixels of ``box``.
    ``edge_pad`` repeats the crop's edge pixels outwards first, so interpolation at
    the crop border does not mix in the fill value."""
    x0, y0, x1, y1 = box
    if edge_pad:
        widths = ((edge_pad, edge_pad), (edge_pad, edge_pad)) + ((0, 0),) * (arr.ndim - 2)
        arr = np.pad(arr, widths, mode="edge")
        m = np.array([[1, 0, edge_pad], [0, 1, edge_pad], [0, 0, 1]], np.float64) @ m
    # photo pixel (x, y) -> crop position m @ (x, y); PIL wants output -> input coefficients.
    shift = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)
    coeffs = tuple((m @ shift)[:2].reshape(-1))
    chans = [arr] if arr.ndim == 2 else [arr[..., c] for c in range(arr.shape[-1])]
    out = [
        np.asarray(
            Image.fromarray(c.astype(np.float32), mode="F").transform(
                (x1 - x0, y1 - y0), Image.AFFINE, coeffs, Image.BILINEAR, fillcolor=0.0
            )
        )
        for c in chans
    ]
    return out[0] if arr.ndim == 2 else np.stack(out, axis=-1)


def paste_back(
    photo: np.ndarray, crop: np.ndarray, m: np.ndarray, feather: float = 0.1
) -> np.ndarray:
    """Blend ``crop`` (S, S, 3) uint8 into a copy of ``photo`` (H, W, 3) uint8.

    ``m`` is the photo->crop transform used to cut the crop. Pixels where the
    warped mask is 0 (outside the crop's footprint or its feathered border) are
    unchanged; the rest are ``mask * crop + (1 - mask) * photo``, rounded.
    """
    size = crop.shape[0]
    out = photo.copy()
    box = footprint(m, size, photo.shape[:2])
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return out
    mask = _warp_back(feather_mask(size, feather), m, box)[..., None]
    edited = _warp_back(crop.astype(np.float32), m, box, edge_pad=2)
    region = out[y0:y1, x0:x1].astype(np.float32)
    blended = np.clip(np.rint(mask * edited + (1 - mask) * region), 0, 255).astype(np.uint8)
    out[y0:y1, x0:x1] = np.where(mask > 0, blended, out[y0:y1, x0:x1])
    return out

"""Paste an edited crop back into the full-resolution photo.

The crop is warped back with the inverse of the alignment transform and blended
through a feathered mask (1 inside, ramping to 0 over a border band), so the
seam is invisible and every pixel outside the mask's footprint is returned
bit-for-bit unchanged.

Where each photo pixel samples the crop, and the warped mask, depend only on the
alignment, so a ``PastePlan`` computes them once per face; pasting an edit is
then one bilinear lookup and a blend over the face's footprint.

Two blends (``BLENDS``; ``blend=`` in the editor, ``--blend`` on the command line):

- ``"raw"``: the model's output, pasted back: ``mask * edit + (1 - mask) * photo``.
  Outside the changed attributes the face is the model's redraw at its own size.
- ``"delta"``: the photo plus the model's change,
  ``photo + mask * upsample(edit - reconstruction)``, the reconstruction being the
  generator's output for the crop with its own source labels: the photo keeps its
  resolution and its details wherever the edit does not change them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from intergan.editing.align import transform_points
from intergan.errors import UserError

BLENDS = ("raw", "delta")
# measured on SynthFaces ground truth (benchmarks/blend_compare.py, docs/editing.md
# "Blend modes"): delta is closer to the exact re-render over the whole image, for
# every attribute on 256 px photos (+2.9 dB on average) and on average at the
# model's own size (+2.0 dB)
DEFAULT_BLEND = "delta"


def check_blend(blend: str | None) -> str:
    """``blend`` if it is one of ``BLENDS``, ``DEFAULT_BLEND`` for ``None``; else a
    ``UserError`` naming the allowed values."""
    if blend is None:
        return DEFAULT_BLEND
    if blend not in BLENDS:
        raise UserError(f"unknown blend {blend!r}; choose one of {', '.join(BLENDS)}")
    return blend


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


def _grid(m: np.ndarray, box: tuple[int, int, int, int], size: int) -> torch.Tensor:
    """(1, h, w, 2) crop positions of the box's photo pixels, in ``grid_sample`` units
    (pixel centres at +0.5, as PIL and ``align``)."""
    x0, y0, x1, y1 = box
    xs, ys = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)
    pts = transform_points(m, np.stack([xs.ravel(), ys.ravel()], axis=1))
    grid = (pts * (2.0 / size) - 1.0).astype(np.float32).reshape(1, y1 - y0, x1 - x0, 2)
    return torch.from_numpy(grid)


@dataclass
class PastePlan:
    """How one crop goes back into its photo: everything but the crop's content.

    box: the photo region (x0, y0, x1, y1) the crop can reach; grid: (1, h, w, 2)
    where each of its pixels samples the crop; mask: (h, w, 1) float32 feathered
    blend weight; keep: (h, w, 1) bool, the pixels the paste may change (mask > 0).
    """

    box: tuple[int, int, int, int]
    grid: torch.Tensor
    mask: torch.Tensor
    keep: torch.Tensor
    size: int

    @classmethod
    def build(
        cls, m: np.ndarray, size: int, shape: tuple[int, int], feather: float = 0.1
    ) -> PastePlan:
        """Plan for a ``size`` crop cut with photo->crop ``m`` from a photo of ``shape``."""
        box = footprint(m, size, shape)
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            empty = torch.zeros(0, 0, 1)
            return cls(box, torch.zeros(1, 0, 0, 2), empty, empty.bool(), size)
        grid = _grid(m, box, size)
        weights = torch.from_numpy(feather_mask(size, feather))[None, None]
        mask = F.grid_sample(weights, grid, "bilinear", "zeros", align_corners=False)
        mask = mask[0].permute(1, 2, 0).contiguous()  # (h, w, 1)
        return cls(box, grid, mask, mask > 0, size)

    def paste(
        self, photo: np.ndarray, crop: torch.Tensor, reconstruction: torch.Tensor | None = None
    ) -> None:
        """Blend ``crop`` (3, S, S) float in [0, 255] into ``photo`` (H, W, 3) uint8, in
        place, where the mask is > 0, rounded: ``mask * crop + (1 - mask) * photo``
        ("raw"), or with ``reconstruction`` (3, S, S) in [0, 255] the photo plus the
        model's change, ``photo + mask * (crop - reconstruction)`` ("delta")."""
        x0, y0, x1, y1 = self.box
        if x1 <= x0 or y1 <= y0:
            return
        change = crop if reconstruction is None else crop - reconstruction
        # crop positions past its edge take the edge pixel ("border"): the mask is
        # (near) 0 there, so this only keeps the fill value out of the interpolation
        warped = F.grid_sample(
            change[None].float(), self.grid, "bilinear", "border", align_corners=False
        )[0].permute(1, 2, 0)  # (h, w, 3)
        region = torch.from_numpy(photo[y0:y1, x0:x1])  # a view: written in place
        if reconstruction is None:
            blended = torch.lerp(region.float(), warped, self.mask)
        else:
            blended = region.float() + self.mask * warped
        blended = blended.round_().clamp_(0, 255)
        region.copy_(torch.where(self.keep, blended.to(torch.uint8), region))


def paste_back(
    photo: np.ndarray, crop: np.ndarray, m: np.ndarray, feather: float = 0.1
) -> np.ndarray:
    """Blend ``crop`` (S, S, 3) uint8 into a copy of ``photo`` (H, W, 3) uint8.

    ``m`` is the photo->crop transform used to cut the crop. Pixels where the
    warped mask is 0 (outside the crop's footprint or its feathered border) are
    unchanged; the rest are ``mask * crop + (1 - mask) * photo``, rounded.
    """
    out = photo.copy()
    plan = PastePlan.build(m, crop.shape[0], photo.shape[:2], feather)
    plan.paste(out, torch.from_numpy(np.array(crop, np.float32)).permute(2, 0, 1))
    return out

"""Fixed Haar wavelet transform (DWT) and its exact inverse (IDWT).

Orthonormal 2x2 Haar filters applied depthwise with stride 2: each input channel
gives four half-resolution bands LL, LH, HL, HH. Because the filters are
orthonormal, the transposed convolution with the same filters is the exact
inverse. The filters are registered (non-persistent) buffers, never trained and
never stored in checkpoints.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def haar_filters() -> torch.Tensor:
    """The four orthonormal 2x2 Haar filters, ``(4, 1, 2, 2)``: LL, LH, HL, HH."""
    ll = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    lh = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])  # vertical change: horizontal edges
    hl = torch.tensor([[1.0, -1.0], [1.0, -1.0]])  # horizontal change: vertical edges
    hh = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    return (torch.stack([ll, lh, hl, hh]) / 2).unsqueeze(1)


class HaarDWT(nn.Module):
    """``(B, C, H, W) -> (LL (B, C, H/2, W/2), high (B, 3C, H/2, W/2))``.

    ``high`` holds LH, HL, HH for channel 0, then channel 1, and so on. H and W
    must be even.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weight", haar_filters(), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = x.shape
        if h % 2 or w % 2:
            raise ValueError(f"HaarDWT needs an even height and width, got {h}x{w}")
        weight = self.weight.to(x.dtype).repeat(c, 1, 1, 1)  # (4C, 1, 2, 2)
        bands = F.conv2d(x, weight, stride=2, groups=c).view(b, c, 4, h // 2, w // 2)
        ll = bands[:, :, 0]
        high = bands[:, :, 1:].reshape(b, 3 * c, h // 2, w // 2)
        return ll, high


class HaarIDWT(nn.Module):
    """Exact inverse of ``HaarDWT``: ``(LL (B, C, h, w), high (B, 3C, h, w)) -> (B, C, 2h, 2w)``."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weight", haar_filters(), persistent=False)

    def forward(self, ll: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        b, c, h, w = ll.shape
        if high.shape != (b, 3 * c, h, w):
            raise ValueError(f"high bands {tuple(high.shape)} do not match LL {tuple(ll.shape)}")
        bands = torch.cat([ll[:, :, None], high.view(b, c, 3, h, w)], dim=2)
        weight = self.weight.to(ll.dtype).repeat(c, 1, 1, 1)
        return F.conv_transpose2d(bands.view(b, 4 * c, h, w), weight, stride=2, groups=c)

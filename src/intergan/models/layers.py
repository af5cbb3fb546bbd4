"""Building blocks shared by the generators and the discriminator.

All blocks are plain ``nn.Module``s over ``(B, C, H, W)`` feature maps. A conv
that feeds straight into a normalisation has no bias: the norm would cancel it
and leave a parameter that never receives a gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from intergan.config import NORMS

LRELU_SLOPE = 0.2


def norm2d(kind: str, channels: int) -> nn.Module:
    """A 2-D normalisation layer by name: ``instance`` (affine), ``batch`` or ``none``."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def has_batch_norm(module: nn.Module) -> bool:
    """Whether any layer of ``module`` is a batch norm (its statistics span the batch)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(LRELU_SLOPE)


class ConvBlock(nn.Sequential):
    """conv(k, stride) -> norm -> LReLU. ``(B, cin, H, W) -> (B, cout, H/stride, W/stride)``."""

    def __init__(self, cin: int, cout: int, norm: str, k: int = 3, stride: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=norm == "none"),
            norm2d(norm, cout),
            lrelu(),
        )


class ResDown(nn.Module):
    """Pre-activation residual block that halves the resolution (or keeps it).

    main: norm-LReLU-conv3x3(cin->cin)-avgpool-norm-LReLU-conv3x3(cin->cout);
    shortcut: avgpool-conv1x1(cin->cout). Output ``(B, cout, H/2, W/2)``, or
    ``(B, cout, H, W)`` with ``down=False`` (no pooling: a resolution-keeping block).
    The first conv runs at full resolution, the second after pooling (cheaper).
    """

    def __init__(self, cin: int, cout: int, norm: str, down: bool = True):
        super().__init__()
        self.down = down
        self.norm1 = norm2d(norm, cin)
        self.conv1 = nn.Conv2d(cin, cin, 3, 1, 1, bias=norm == "none")
        self.norm2 = norm2d(norm, cin)
        self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.leaky_relu(self.norm1(x), LRELU_SLOPE))
        if self.down:
            h, x = F.avg_pool2d(h, 2), F.avg_pool2d(x, 2)
        h = self.conv2(F.leaky_relu(self.norm2(h), LRELU_SLOPE))
        return (h + self.skip(x)) * 2**-0.5


class ResUp(nn.Module):
    """Pre-activation residual block that doubles the resolution (mirror of ``ResDown``).

    main: norm-LReLU-conv3x3(cin->cout)-upsample-norm-LReLU-conv3x3(cout->cout);
    shortcut: conv1x1(cin->cout)-upsample (nearest). Output ``(B, cout, 2H, 2W)``, or
    ``(B, cout, H, W)`` with ``up=False``.
    """

    def __init__(self, cin: int, cout: int, norm: str, up: bool = True):
        super().__init__()
        self.up = up
        self.norm1 = norm2d(norm, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=norm == "none")
        self.norm2 = norm2d(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.leaky_relu(self.norm1(x), LRELU_SLOPE))
        s = self.skip(x)
        if self.up:
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            s = F.interpolate(s, scale_factor=2.0, mode="nearest")
        h = self.conv2(F.leaky_relu(self.norm2(h), LRELU_SLOPE))
        return (h + s) * 2**-0.5


class AdaIN(nn.Module):
    """Adaptive instance norm: ``(1 + gamma(y)) * IN(x) + beta(y)``.

    x: ``(B, C, H, W)``; y: ``(B, y_dim)`` condition; gamma and beta come from one
    linear layer. With ``y = 0`` they reduce to the layer's bias.
    """

    def __init__(self, channels: int, y_dim: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.fc = nn.Linear(y_dim, 2 * channels)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.fc(y)[:, :, None, None].to(x.dtype).chunk(2, dim=1)
        return torch.addcmul(beta, 1 + gamma, self.norm(x))


class AdaINResBlock(nn.Module):
    """Residual block with AdaIN norms: ``x + conv(LReLU(AdaIN(conv(LReLU(AdaIN(x, y))), y)))``.

    Keeps shape ``(B, C, H, W)``; ``y`` is ``(B, y_dim)``.
    """

    def __init__(self, channels: int, y_dim: int):
        super().__init__()
        self.norm1 = AdaIN(channels, y_dim)
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.norm2 = AdaIN(channels, y_dim)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.leaky_relu(self.norm1(x, y), LRELU_SLOPE))
        h = self.conv2(F.leaky_relu(self.norm2(h, y), LRELU_SLOPE))
        return x + h


def tile(vec: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, n)`` -> ``(B, n, size, size)``: a vector repeated at every pixel."""
    return vec[:, :, None, None].expand(-1, -1, size, size)

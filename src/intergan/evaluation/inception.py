"""The FID Inception-v3 network (pytorch-fid's), loaded from a weights file the user gives.

Standard FID numbers come from the TensorFlow Inception graph of 2015, ported to
PyTorch by pytorch-fid as ``pt_inception-2015-12-05-6726825d.pth``. Its
architecture is torchvision's ``Inception3`` (1008 classes, no auxiliary head)
with four patched block types: average pools that ignore padding, and a max pool
in the last block. This module rebuilds exactly that and loads the file; it never
downloads anything. Features are the 2048-d global average pool after Mixed_7c,
computed on images bilinearly resized to 299 x 299 (pytorch-fid's defaults).
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception as tv_inception

from intergan.errors import UserError

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_FEATURE_DIM = 2048


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pool leaves the zero padding out of the mean.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(tv_inception.InceptionA):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool(x))
        return torch.cat([b1, b5, b3, bp], 1)


class FIDInceptionC(tv_inception.InceptionC):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4):
            bd = layer(bd)
        bd = self.branch7x7dbl_5(bd)
        bp = self.branch_pool(_avg_pool(x))
        return torch.cat([b1, b7, bd, bp], 1)


class FIDInceptionE(tv_inception.InceptionE):
    """Mixed_7b (average pool) and Mixed_7c (``max_pool=True``)."""

    def __init__(self, in_channels: int, max_pool: bool = False) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.max_pool:  # pytorch-fid's patch for the last block
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _avg_pool(x)
        bp = self.branch_pool(pooled)
        return torch.cat([b1, b3, bd, bp], 1)


def fid_inception_v3() -> tv_inception.Inception3:
    """The FID Inception architecture with untrained weights (keys match the file)."""
    net = tv_inception.Inception3(
        num_classes=1008, aux_logits=False, transform_input=False, init_weights=False
    )
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE(1280)
    net.Mixed_7c = FIDInceptionE(2048, max_pool=True)
    return net


class FIDInception(nn.Module):
    """Images (B, 3, H, W) in [-1, 1] -> pool3 features (B, 2048)."""

    def __init__(self, net: tv_inception.Inception3) -> None:
        super().__init__()
        self.net = net

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = F.interpolate(images.float(), size=(299, 299), mode="bilinear", align_corners=False)
        # pytorch-fid maps [0, 1] to [-1, 1] after resizing; our inputs already are.
        x = n.Conv2d_2b_3x3(n.Conv2d_2a_3x3(n.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = n.Conv2d_4a_3x3(n.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(n, f"Mixed_{name}")(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)


def load_fid_inception(path: str | os.PathLike, device: str | torch.device = "cpu") -> FIDInception:
    """Load pytorch-fid's weights file (``pt_inception-2015-12-05-6726825d.pth``)."""
    if not os.path.isfile(path):
        raise UserError(
            f"--inception-weights: {path} does not exist; give the pytorch-fid weights file "
            f"{FID_WEIGHTS_NAME} (nothing is downloaded), or leave the flag out to get the "
            "Frechet distance in the judge's feature space"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # any unreadable file is the user's to fix
        raise UserError(f"--inception-weights: cannot read {path} as a PyTorch file: {e}") from None
    net = fid_inception_v3()
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise UserError(
            f"--inception-weights: {path} is not the pytorch-fid Inception file "
            f"{FID_WEIGHTS_NAME}: {str(e).splitlines()[0]}"
        ) from None
    return FIDInception(net).to(device).eval()

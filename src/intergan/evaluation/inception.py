"""The FID Inception-v3 network, built from pytorch-fid's own blocks and loaded from the
weights file the user gives, after checking that file's SHA-256.

Standard FID numbers come from the TensorFlow Inception graph of 2015, ported to
PyTorch by pytorch-fid as ``pt_inception-2015-12-05-6726825d.pth``. Its
architecture is torchvision's ``Inception3`` (1008 classes, no auxiliary head) with
four block types patched by pytorch-fid (average pools that ignore padding, and a max
pool in the last block); this module takes those blocks from ``pytorch_fid.inception``
(the optional extra ``intergan[fid]``) rather than a copy of them. pytorch-fid's own
``InceptionV3`` would download the weights; this module never downloads anything.

The file's name carries the first hex digits of its SHA-256 (the torch.hub
convention, ``6726825d``): a file whose hash does not begin so is refused, so random
or other weights of the same shapes cannot give a meaningless "FID 0.000". Features
are the 2048-d global average pool after Mixed_7c, computed on images bilinearly
resized to 299 x 299 (pytorch-fid's defaults).
"""

from __future__ import annotations

import hashlib
import os

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception as tv_inception

from intergan.errors import UserError
from intergan.files import guard

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_SHA256 = "6726825d"  # the prefix of its SHA-256, as its name gives it
FID_FEATURE_DIM = 2048
FLAG = "--inception-weights"


def _pytorch_fid():
    try:
        from pytorch_fid import inception as pf
    except ImportError:
        raise UserError(
            f"{FLAG} needs pytorch-fid's network: pip install 'intergan[fid]' (or leave the "
            "flag out to get the Frechet distance in the judge's feature space)"
        ) from None
    return pf


def fid_inception_v3() -> tv_inception.Inception3:
    """The FID Inception architecture with untrained weights (keys match the file)."""
    pf = _pytorch_fid()
    net = tv_inception.Inception3(
        num_classes=1008, aux_logits=False, transform_input=False, init_weights=False
    )
    net.Mixed_5b = pf.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pf.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pf.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pf.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pf.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pf.FIDInceptionE_1(1280)
    net.Mixed_7c = pf.FIDInceptionE_2(2048)
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


def sha256_of(path: str | os.PathLike) -> str:
    """The hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with guard(path, "read"), open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_fid_weights(path: str | os.PathLike) -> None:
    """Refuse a file that is not pytorch-fid's weights file, by its SHA-256."""
    if not os.path.isfile(path):
        raise UserError(
            f"{FLAG}: {path} does not exist; give the pytorch-fid weights file "
            f"{FID_WEIGHTS_NAME} (nothing is downloaded), or leave the flag out to get the "
            "Frechet distance in the judge's feature space"
        )
    digest = sha256_of(path)
    if not digest.startswith(FID_WEIGHTS_SHA256):
        raise UserError(
            f"{FLAG}: {path} is not pytorch-fid's {FID_WEIGHTS_NAME}: its SHA-256 begins "
            f"{digest[:8]}, that file's begins {FID_WEIGHTS_SHA256}; other weights give "
            "meaningless FIDs. Download the file from pytorch-fid's release "
            "(github.com/mseitzer/pytorch-fid, fid_weights)"
        )


def load_fid_inception(path: str | os.PathLike, device: str | torch.device = "cpu") -> FIDInception:
    """Load pytorch-fid's weights file (``pt_inception-2015-12-05-6726825d.pth``)."""
    check_fid_weights(path)
    net = fid_inception_v3()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except Exception as e:  # noqa: BLE001 - a damaged file is the user's to replace
        first = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise UserError(f"{FLAG}: cannot load {path} ({first}); download it again") from None
    return FIDInception(net).to(device).eval()

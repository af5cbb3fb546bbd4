"""AttGAN's discriminator: 4x4 stride-2 conv stack and two fully connected heads.

Depth follows the image size (``config.dis_layers``: down to a 4x4 map unless set).
``forward(images) -> (adv (B, 1), cls_logits (B, n_attrs))``: an unbounded
critic/real-fake score and attribute logits (apply a sigmoid for probabilities).
"""

from __future__ import annotations

import torch
from torch import nn

from intergan.config import ModelConfig, dis_layers
from intergan.errors import UserError
from intergan.models.layers import lrelu, norm2d


def _head(features: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, out))


class Discriminator(nn.Module):
    """D with an adversarial head (1 output) and an attribute head (n_attrs logits)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        layers, cin = [], 3
        n = dis_layers(cfg)
        for i in range(n):
            cout = min(cfg.dis_dim * 2**i, cfg.max_dim)
            bias = cfg.dis_norm == "none"
            layers += [
                nn.Conv2d(cin, cout, 4, 2, 1, bias=bias),
                norm2d(cfg.dis_norm, cout),
                lrelu(),
            ]
            cin = cout
        self.convs = nn.Sequential(*layers, nn.Flatten())
        features = cin * (cfg.img_size // 2**n) ** 2
        self.adv = _head(features, cfg.dis_fc_dim, 1)
        self.cls = _head(features, cfg.dis_fc_dim, cfg.n_attrs)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images ``(B, 3, S, S)`` in [-1, 1] -> ``(adv (B, 1), cls_logits (B, n_attrs))``."""
        s = self.cfg.img_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, s, s):
            raise UserError(
                f"discriminator images must have shape (B, 3, {s}, {s}) (model.img_size), "
                f"got {tuple(images.shape)}"
            )
        h = self.convs(images)
        return self.adv(h), self.cls(h)

"""The AttGAN baseline generator (variant ``attgan``), on equal terms with InterGAN.

AttGAN (He et al.): 4x4 stride-2 conv encoder (norm, LReLU), the attribute vector
tiled and concatenated to the bottleneck, a transposed-conv decoder (norm, ReLU;
tanh at the end), ``attgan_shortcut_layers`` encoder-decoder skips and
``attgan_inject_layers`` decoder layers that receive the tiled attributes again.

Same interface as InterGAN: ``forward(images, target, source) -> GeneratorOutput``.
AttGAN conditions on the attribute vector itself, not on a difference: the
editing stream decodes with ``target``, the reconstruction stream with ``source``.
The encoder runs once; both streams share the decoder as one 2B batch, so
``z_edit`` and ``z_rec`` are the same encoder code.
"""

from __future__ import annotations

import torch
from torch import nn

from intergan.config import ModelConfig
from intergan.models.common import GeneratorOutput, TwoStreamGenerator, check_inputs
from intergan.models.layers import lrelu, norm2d, tile


class AttGANGenerator(TwoStreamGenerator):
    """AttGAN's G. ``forward(images, target, source) -> GeneratorOutput``; the editing
    paths are ``TwoStreamGenerator``'s, as InterGAN's (batch norm in training mode
    couples the streams, as its statistics span the 2B batch)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        n, na, norm = cfg.n_down, cfg.n_attrs, cfg.attgan_norm
        enc = [min(cfg.enc_dim * 2**i, cfg.max_dim) for i in range(n)]  # at R/2**(i+1)
        self.encoder = nn.ModuleList()
        cin = 3
        for cout in enc:
            self.encoder.append(
                nn.Sequential(
                    nn.Conv2d(cin, cout, 4, 2, 1, bias=norm == "none"), norm2d(norm, cout), lrelu()
                )
            )
            cin = cout
        self.decoder = nn.ModuleList()
        cin = enc[-1] + na
        for i in range(n):
            if i == n - 1:
                self.decoder.append(nn.Sequential(nn.ConvTranspose2d(cin, 3, 4, 2, 1), nn.Tanh()))
                break
            cout = min(cfg.enc_dim * 2 ** (n - 1 - i), cfg.max_dim)  # at R/2**(n-1-i)
            self.decoder.append(
                nn.Sequential(
                    nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=norm == "none"),
                    norm2d(norm, cout),
                    nn.ReLU(),
                )
            )
            cin = cout
            cin += enc[n - 2 - i] if i < cfg.attgan_shortcut_layers else 0
            cin += na if i < cfg.attgan_inject_layers else 0

    def encode(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, R, R)`` -> encoder maps ``[(B, e_i, R/2**(i+1), ...)]``, last = code."""
        feats, f = [], images
        for layer in self.encoder:
            f = layer(f)
            feats.append(f)
        return feats

    def decode(self, feats: list[torch.Tensor], cond: torch.Tensor) -> torch.Tensor:
        """Encoder maps (batch B) and labels ``(kB, n_attrs)`` -> images ``(kB, 3, R, R)``.

        ``k`` streams (2: [editing; reconstruction], 1: editing only) share the maps.
        """
        n, k = len(feats), cond.shape[0] // feats[-1].shape[0]
        z = torch.cat([feats[-1]] * k)
        f = torch.cat([z, tile(cond, z.shape[-1])], dim=1)
        for i, layer in enumerate(self.decoder):
            f = layer(f)
            if i < self.cfg.attgan_shortcut_layers:
                f = torch.cat([f, torch.cat([feats[n - 2 - i]] * k)], dim=1)
            if i < self.cfg.attgan_inject_layers:
                f = torch.cat([f, tile(cond, f.shape[-1])], dim=1)
        return f

    def forward(
        self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> GeneratorOutput:
        """Edit ``images`` towards ``target`` and reconstruct them with ``source``.

        images: ``(B, 3, S, S)`` float in [-1, 1]; target, source: ``(B, n_attrs)``
        encoded labels. Returns ``GeneratorOutput``; ``z_edit`` and ``z_rec`` are
        both the encoder code ``(B, e, S/2**n_down, S/2**n_down)``.
        """
        check_inputs(self.cfg, images, target, source, values=not self.training)
        feats = self.encode(images)
        out, b = self._both(feats, target, source), images.shape[0]
        edited, reconstructed = out[:b], out[b:]  # slices: chunk(2) does not export (ONNX)
        return GeneratorOutput(edited, reconstructed, feats[-1], feats[-1])

    def _joined(self) -> bool:
        return False  # the streams share the encoder maps, never exchange features

    def _batch_stats(self) -> bool:
        return self.cfg.attgan_norm == "batch" and self.training

    def _both(self, feats, target, source, edit_only=False) -> torch.Tensor:
        out = self.decode(feats, torch.cat([target, source]))
        return out[: target.shape[0]] if edit_only else out

    def _alone(self, feats, target, source) -> torch.Tensor:
        return self.decode(feats, target)

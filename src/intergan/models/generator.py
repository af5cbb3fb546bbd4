"""The InterGAN generator: HFCM encoder, AdaIN bottleneck, shared decoder with CTI.

docs/design.md sections 2.1-2.3. One class serves the ``intergan``, ``no_hfcm`` and
``no_cti`` variants: the ablations simply do not build (or run) the ``hfcm`` or
``cti`` modules. The editing and reconstruction streams share every weight and
run as one batch of 2B: rows ``[:B]`` edit, rows ``[B:]`` reconstruct.
"""

from __future__ import annotations

import torch
from torch import nn

from intergan.config import ModelConfig
from intergan.models.common import GeneratorOutput, TwoStreamGenerator, check_inputs
from intergan.models.haar import HaarDWT
from intergan.models.layers import (
    AdaINResBlock,
    ConvBlock,
    ResDown,
    ResUp,
    lrelu,
    norm2d,
    tile,
)


def widths(cfg: ModelConfig) -> list[int]:
    """Channels at each encoder level: ``[stem (R), RB1 (R/2), ..., RBn (R/2**n)]``."""
    return [min(cfg.enc_dim * 2**i, cfg.max_dim) for i in range(cfg.n_down + 1)]


class HFCM(nn.Module):
    """High-frequency compensation: Haar high bands of early maps, fused, re-injected.

    Taps (docs/design.md 2.1): the high bands of the input image ``(B, 9, R/2)``, of
    the stem output ``(B, 3*c0, R/2)`` and of RB1's output ``(B, 3*c1, R/4)``.
    [chosen] chain: conv-norm-LReLU at R/2 over the first two taps, a stride-2
    block to R/4, a block over that plus the third tap (message for RB2), and a
    block to RB3's output resolution (message for RB3: stride 2 to R/8 where RB3
    halves, stride 1 where it keeps R/4, as at 64 px with the 16x16 bottleneck);
    every block ``hfcm_dim`` wide.
    Each message is concatenated to the encoder map and mapped back by a 1x1 conv.
    """

    def __init__(self, c: list[int], dim: int, norm: str, rb3_halves: bool = True):
        super().__init__()
        self.dwt = HaarDWT()
        self.mix1 = ConvBlock(9 + 3 * c[0], dim, norm)  # R/2
        self.down1 = ConvBlock(dim, dim, norm, stride=2)  # R/4
        self.mix2 = ConvBlock(dim + 3 * c[1], dim, norm)  # R/4: message for RB2
        # message for RB3: at RB3's resolution (R/8, or R/4 when RB3 keeps it)
        self.down2 = ConvBlock(dim, dim, norm, stride=2 if rb3_halves else 1)
        self.fuse2 = nn.Conv2d(c[2] + dim, c[2], 1)
        self.fuse3 = nn.Conv2d(c[3] + dim, c[3], 1)

    def messages(
        self, x: torch.Tensor, f0: torch.Tensor, f1: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Image (R), stem output (R) and RB1 output (R/2) -> messages for RB2 and RB3."""
        h = self.mix1(torch.cat([self.dwt(x)[1], self.dwt(f0)[1]], dim=1))
        m2 = self.mix2(torch.cat([self.down1(h), self.dwt(f1)[1]], dim=1))
        return m2, self.down2(m2)

    def encode(self, images: torch.Tensor, stem: nn.Module, blocks: nn.ModuleList) -> torch.Tensor:
        """Run the whole encoder, ``stem`` then ``blocks``, with the messages fused into
        the outputs of RB2 and RB3; the blocks after RB3 run as they are."""
        f0 = stem(images)
        f1 = blocks[0](f0)
        m2, m3 = self.messages(images, f0, f1)
        f = self.fuse2(torch.cat([blocks[1](f1), m2], dim=1))
        f = self.fuse3(torch.cat([blocks[2](f), m3], dim=1))
        for block in blocks[3:]:
            f = block(f)
        return f


class CTI(nn.Module):
    """Cross-task interaction between the editing and reconstruction streams (2.3).

    forward(f, cond): f ``(2B, C, H, W)`` = [editing; reconstruction] features,
    cond ``(2B, n_attrs)`` = [target; source] encoded labels -> ``(2B, C, H, W)``.
    Symmetric by construction: if the two halves of ``f`` and ``cond`` are equal,
    so are the two halves of the output.
    """

    def __init__(
        self, channels: int, n_attrs: int, style_dim: int, lt_norm: str, init: str = "default"
    ):
        super().__init__()
        c = channels
        self.style_encoder = nn.Sequential(
            nn.Conv2d(c, c, 3, 1, 1),
            lrelu(),
            nn.Conv2d(c, c, 3, 1, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(c, style_dim),
        )
        self.style = AdaINResBlock(c, style_dim)
        bias = lt_norm == "none"
        self.translate = nn.Sequential(  # local translation net LT
            nn.Conv2d(c + n_attrs, c, 3, 1, 1, bias=bias),
            norm2d(lt_norm, c),
            lrelu(),
            nn.Conv2d(c, c, 3, 1, 1, bias=bias),
            norm2d(lt_norm, c),
            lrelu(),
            nn.Conv2d(c, c, 3, 1, 1),
        )
        self.merge = nn.Conv2d(3 * c, c, 1)
        if init == "identity":  # start as f itself; styled and conditional weigh in as trained
            with torch.no_grad():
                self.merge.weight.zero_()
                self.merge.weight[:, :c, 0, 0] = torch.eye(c)
                self.merge.bias.zero_()

    def forward(self, f: torch.Tensor, cond: torch.Tensor, edit_only: bool = False) -> torch.Tensor:
        """edit_only: return only the editing half ``(B, C, H, W)``, computing nothing
        for the other; equal to ``forward(f, cond)[:B]`` where every norm inside is
        per sample (in training mode a batch-norm LT takes other statistics)."""
        half = f.shape[0] // 2
        if edit_only:
            f, other, cond = f[:half], f[half:], cond[:half]
        else:  # [f_r; f_e]: the streams swapped (slices: a roll by a dynamic size won't export)
            other = torch.cat([f[half:], f[:half]])
        y = self.style_encoder(f)  # [y_e; y_r]  (2B, style_dim)
        styled = self.style(other, y)  # [AdaIN(f_r, y_e); AdaIN(f_e, y_r)]
        conditional = self.translate(torch.cat([f - other, tile(cond, f.shape[-1])], dim=1))
        return self.merge(torch.cat([f, styled, conditional], dim=1))


class InterGANGenerator(TwoStreamGenerator):
    """InterGAN's G. ``forward(images, target, source) -> GeneratorOutput``; the
    editing paths (``edit``, ``edit_from_code``, ``edit_for_d``) are
    ``TwoStreamGenerator``'s."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        c, n, h = widths(cfg), cfg.n_down, cfg.halvings
        self.encoder = nn.ModuleDict(
            {
                "stem": nn.Conv2d(3, c[0], 3, 1, 1),
                "blocks": nn.ModuleList(
                    ResDown(c[i], c[i + 1], cfg.norm, down=i < h) for i in range(n)
                ),
            }
        )
        with_hfcm = cfg.variant in ("intergan", "no_cti")
        self.hfcm = HFCM(c, cfg.hfcm_dim, cfg.norm, rb3_halves=h >= 3) if with_hfcm else None
        self.bottleneck = AdaINResBlock(c[n], cfg.n_attrs)
        # decoder block j mirrors encoder block n-1-j (it upsamples where that one halved)
        self.decoder = nn.ModuleList(
            ResUp(c[n - j], c[n - j - 1], cfg.norm, up=n - 1 - j < h) for j in range(n)
        )
        n_cti = 0 if cfg.variant == "no_cti" else cfg.n_cti
        # CTI k sits before decoder block cti_start + k (0: on the bottleneck codes)
        self.cti = nn.ModuleList(
            CTI(c[n - cfg.cti_start - k], cfg.n_attrs, cfg.style_dim, cfg.lt_norm, cfg.cti_init)
            for k in range(n_cti)
        )
        self.head = nn.Sequential(
            norm2d(cfg.head_norm, c[0]), lrelu(), nn.Conv2d(c[0], 3, 1), nn.Tanh()
        )

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, R, R)`` -> ``Z_s (B, c_n, b, b)`` (``b = cfg.bottleneck_size``)."""
        stem, blocks = self.encoder["stem"], self.encoder["blocks"]
        if self.hfcm is not None:  # HFCM runs the encoder, fusing its messages in
            return self.hfcm.encode(images, stem, blocks)
        f = stem(images)
        for block in blocks:
            f = block(f)
        return f

    def decode(self, z: torch.Tensor, cond: torch.Tensor, edit_only: bool = False) -> torch.Tensor:
        """Bottleneck codes ``(kB, c_n, b, b)`` with labels ``(kB, n_attrs)`` -> images
        ``(kB, 3, R, R)``: both streams ``[edit; reconstruct]`` (k = 2) or one (k = 1).

        The edit-only branch (``edit_only``, both streams given): return only the
        editing stream ``(B, 3, R, R)``. After the last CTI nothing flows between the
        streams, so the reconstruction stream's finer (and costliest) blocks are not
        run, and the last CTI computes only its editing half; equal to
        ``decode(z, cond)[:B]`` up to float rounding. Where a batch norm in training
        mode spans both streams, that part runs on both as before.
        """
        f, start, n_cti = z, self.cfg.cti_start, len(self.cti)
        split = edit_only and not self._batch_stats()
        half_lt = self._per_sample(self.cfg.lt_norm)  # the LT can run on one stream alone
        for j, block in enumerate(self.decoder):
            k = j - start
            if 0 <= k < n_cti:
                last = split and k == n_cti - 1
                f = self.cti[k](f, cond, edit_only=last and half_lt)
                if last and not half_lt:  # both streams ran for the LT's batch statistics
                    f = f[: f.shape[0] // 2]
            f = block(f)
        out = self.head(f)
        return out[: z.shape[0] // 2] if edit_only and out.shape[0] == z.shape[0] else out

    def _per_sample(self, norm: str) -> bool:
        """Whether a ``norm`` layer treats each sample on its own now (a batch norm in
        training mode normalises with the whole batch's statistics)."""
        return norm != "batch" or not self.training

    def forward(
        self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> GeneratorOutput:
        """Edit ``images`` towards ``target`` and reconstruct them with ``source``.

        images: ``(B, 3, S, S)`` float in [-1, 1], ``S = cfg.img_size``.
        target, source: ``(B, n_attrs)`` *encoded* labels (``attributes.encode``).
        Returns ``GeneratorOutput(edited, reconstructed, z_edit, z_rec)``; images in
        [-1, 1]. The editing bottleneck is conditioned on ``target - source``, the
        reconstruction bottleneck on zero.
        """
        check_inputs(self.cfg, images, target, source, values=not self.training)
        z2 = self._codes(self.encode(images), target, source)
        out = self.decode(z2, torch.cat([target, source]))
        # Slices, not chunk(2): chunk adds a batch-size guard torch.export cannot prove.
        b = images.shape[0]
        edited, reconstructed = out[:b], out[b:]
        z_edit, z_rec = z2[:b], z2[b:]
        return GeneratorOutput(edited, reconstructed, z_edit, z_rec)

    def _joined(self) -> bool:
        return len(self.cti) > 0

    def _batch_stats(self) -> bool:
        return not (self._per_sample(self.cfg.norm) and self._per_sample(self.cfg.head_norm))

    def _codes(self, z: torch.Tensor, target: torch.Tensor, source: torch.Tensor):
        """Both streams' bottleneck codes ``(2B, ...)``: the editing one conditioned on
        ``target - source``, the reconstruction one on zero."""
        return self.bottleneck(
            torch.cat([z, z]), torch.cat([target - source, torch.zeros_like(source)])
        )

    def _both(self, z, target, source, edit_only=False) -> torch.Tensor:
        cond = torch.cat([target, source])
        return self.decode(self._codes(z, target, source), cond, edit_only=edit_only)

    def _alone(self, z, target, source) -> torch.Tensor:
        return self.decode(self.bottleneck(z, target - source), target)
